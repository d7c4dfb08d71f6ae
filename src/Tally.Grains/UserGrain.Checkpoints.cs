using Microsoft.Extensions.Logging;
using Tally.Contracts;
using Tally.Domain.Checkpoints;
using Tally.Domain.Events;
using Tally.Postgres.Checkpoints;
using Tally.Postgres.EventLog;

namespace Tally.Grains;

/// <summary>
/// The user's tier timeline: fed with every accepted batch (with its arrival instant, which the log keeps
/// so replay decides exactly as before), advanced by reads and by the scheduler, and its history written
/// to <c>tier_checkpoints</c> exactly once (numbered entries, ON CONFLICT DO NOTHING; the count stored is
/// saved with the state, and anything beyond it is written again after a crash).
/// </summary>
internal sealed partial class UserGrain
{
    /// <summary>This call's arrival instant: now, but never at or before the user's last one, so each call's
    /// events share one instant no other call of this user has (replay groups the log by it).</summary>
    private DateTimeOffset NextArrival()
    {
        var now = clock.UtcNow;
        if (_stats.Checkpoint is { } timeline && now <= timeline.DecidedUntil) now = timeline.DecidedUntil.AddTicks(1);
        return now;
    }

    private async Task ApplyCheckpointAsync(List<ValidEvent> accepted, DateTimeOffset arrival)
    {
        if (!TimelineFor(_tenant.Checkpoints) || accepted.Count == 0) return;
        _stats.Checkpoint ??= new CheckpointTimeline(_tenant.Checkpoints!.Era);
        _stats.Checkpoint.ApplyBatch(accepted, arrival, _tenant.Checkpoints!, CheckpointGoals());
        await WriteHistoryAsync();
    }

    /// <summary>Replays the log's events after the saved state through the timeline, one batch per arrival instant.</summary>
    private void ReplayCheckpoint(List<LoggedEvent> events)
    {
        if (!TimelineFor(_tenant.Checkpoints) || events.Count == 0) return;
        var rules = _tenant.Checkpoints!;
        var batch = new List<ValidEvent>();
        for (var i = 0; i < events.Count; i++)
        {
            batch.Add(events[i].Event);
            if (i + 1 < events.Count && events[i + 1].ArrivedAt == events[i].ArrivedAt) continue;
            _stats.Checkpoint ??= new CheckpointTimeline(rules.Era);
            _stats.Checkpoint.ApplyBatch(batch, events[i].ArrivedAt, rules, CheckpointGoals());
            batch.Clear();
        }
        _dirty = true;
    }

    /// <summary>
    /// Whether the user keeps a timeline under the tenant's current config (decision 010): a removed checkpoint
    /// drops it; a timeline of an older checkpoint era (checkpoint removed and added again since) is dropped and
    /// a new one starts at the user's next event.
    /// </summary>
    private bool TimelineFor(CheckpointRules? rules)
    {
        if (_stats.Checkpoint is { } timeline && (rules is null || timeline.Era != rules.Era))
        {
            _stats.Checkpoint = null;
            _dirty = true;
        }
        return rules is not null;
    }

    public async Task<TierPage?> GetTiers(long configVersion, int offset, int limit)
    {
        await RefreshTenantAsync(configVersion);
        if (_stats.IsEmpty || !TimelineFor(_tenant.Checkpoints)) return null;
        await AdvanceTimelineAsync(clock.UtcNow);
        var history = _stats.Checkpoint?.History ?? [];
        var entries = history.Skip(offset).Take(limit).Select(Snapshot).ToArray();
        return new TierPage(history.Count, entries);
    }

    public async Task AdvanceCheckpoint()
    {
        await RefreshTenantAsync(0);
        if (!TimelineFor(_tenant.Checkpoints)) return;
        if (await AdvanceTimelineAsync(clock.UtcNow)) await SaveIfChangedAsync();
    }

    /// <summary>The checkpoint block of a read, as of <paramref name="now"/>.</summary>
    private async Task<CheckpointSnapshot?> CheckpointSnapshotAsync(DateTimeOffset now)
    {
        if (!TimelineFor(_tenant.Checkpoints) || _stats.Checkpoint is not { Entered: true } timeline) return null;
        // Stats reads interleave (IUserGrain.GetStats): the due decisions are taken here only when this read is the grain's
        // only call in progress (no call interleaves into it then but another read, which will not take them); otherwise
        // the read shows the decisions taken so far, and the call in progress (a write takes them too) or a later read
        // takes the rest.
        if (_callsInProgress == 1) await AdvanceTimelineAsync(now);
        var view = timeline.View(_tenant.Checkpoints!);
        return new CheckpointSnapshot(view.Tier, view.TierAchievedAt, view.NextCheckpointAt, new Dictionary<string, decimal>(view.Window), view.LateEvents);
    }

    /// <summary>Takes the decisions due; returns whether any was taken (then history is written and the state saved soon).</summary>
    private async Task<bool> AdvanceTimelineAsync(DateTimeOffset now)
    {
        if (_stats.Checkpoint is not { } timeline || !timeline.Advance(now, _tenant.Checkpoints!, CheckpointGoals())) return false;
        _dirty = true;
        ScheduleSave();
        await WriteHistoryAsync();
        RecordGoalsSoon();
        return true;
    }

    /// <summary>The checkpoint goals' view of the timeline: told of every event counted into a window.</summary>
    private IWindowCounter? CheckpointGoals() => _stats.Goals.CheckpointCounter(_tenant.Plan.Goals, _tenant.Calendar.Zone);

    /// <summary>Writes the history entries not stored yet. A failure leaves them for the next try (the save timer).</summary>
    private async Task WriteHistoryAsync()
    {
        if (_stats.Checkpoint is not { } timeline || timeline.HistoryStored >= timeline.History.Count) return;
        var from = timeline.HistoryStored;
        var rows = new List<TierHistoryRow>(timeline.History.Count - from);
        for (var seq = from; seq < timeline.History.Count; seq++)
        {
            var h = timeline.History[seq];
            rows.Add(new TierHistoryRow(_tenantId, _userId, timeline.Era, seq, h.At, ReasonName(h.Reason), h.From, h.To, h.WindowStart, h.WindowEnd, h.Window,
                _tenant.Calendar.Zone));
        }
        try
        {
            await historyWriter.WriteAsync(rows);
            timeline.HistoryStored = from + rows.Count;
            _dirty = true;
            ScheduleSave();
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "User {Tenant}/{User}: writing tier history failed; retried with the next save.", _tenantId, _userId);
            ScheduleSave();
        }
    }

    private DateTimeOffset? CheckpointDueAt() =>
        _tenant.Checkpoints is { } rules && _stats.Checkpoint is { } timeline ? timeline.NextDecisionAt(rules) : null;

    /// <summary>The current checkpoint state as saved for SQL readers (<c>user_state.checkpoint</c>, the loyalty seed's
    /// member columns); null without an entered timeline.</summary>
    private string? CheckpointJson()
    {
        if (_tenant.Checkpoints is not { } rules || _stats.Checkpoint is not { Entered: true } timeline) return null;
        var view = timeline.View(rules);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("tier", view.Tier);
            json.WriteString("tier_achieved_at", view.TierAchievedAt);
            json.WriteString("next_checkpoint_at", view.NextCheckpointAt);
            json.WriteStartObject("window");
            foreach (var (measure, sum) in view.Window) json.WriteNumber(measure, sum);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static TierEntrySnapshot Snapshot(TierEntry h) =>
        new(h.At, ReasonName(h.Reason), h.From, h.To, h.WindowStart, h.WindowEnd, new Dictionary<string, decimal>(h.Window));

    internal static string ReasonName(TierReason reason) => reason switch
    {
        TierReason.Entered => "entered",
        TierReason.Promoted => "promoted",
        TierReason.Kept => "kept",
        _ => "demoted",
    };
}
