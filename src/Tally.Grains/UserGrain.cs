using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Stats;
using Tally.Domain.Time;
using Tally.Grains.Boards;
using Tally.Grains.Hosting;
using Tally.Postgres.Checkpoints;
using Tally.Postgres.EventLog;
using Tally.Postgres.Goals;
using Tally.Postgres.Tenants;
using Tally.Postgres.UserState;

namespace Tally.Grains;

/// <summary>
/// Holds one user's live stats. Events are written to the log first and applied only after the
/// commit, so a failed commit leaves memory untouched; then the user's new absolute standing on
/// every board the events touched is published to the user's board shard, and the user's tier
/// timeline takes them (<c>UserGrain.Checkpoints.cs</c>). State is saved every few seconds or events;
/// on activation the grain loads it and replays the log after its watermark. Reads: <c>UserGrain.Reads.cs</c>.
/// </summary>
[GrainType(TypeName)] // named, so a tenant removal can list its active users without waking any
internal sealed partial class UserGrain(
    EventLogWriter writer,
    EventLogReader reader,
    UserStateWriter stateWriter,
    TierHistoryWriter historyWriter,
    GoalCompletionWriter goalWriter,
    GoalStore goalStore,
    UserErasureStore erasures,
    BoardPublisher publisher,
    RankBatcher rankBatcher,
    TenantConfigCache tenants,
    TallyClock clock,
    TimeProvider time,
    IOptions<UserGrainOptions> options,
    IOptions<BoardOptions> boardOptions,
    BoardMetrics boardMetrics,
    ILogger<UserGrain> logger) : Grain, IUserGrain, IIncomingGrainCallFilter
{
    public const string TypeName = "user";

    private readonly UserGrainOptions _options = options.Value;
    private readonly HashSet<BoardKey> _touched = new();
    // Counts changes of the user's board cells: ranks computed before a change are not reused after it.
    private long _cellsVersion;
    private string _tenantId = "";
    private string _userId = "";
    private LoadedTenant _tenant = null!;
    private UserStats _stats = new();
    private long _epoch;
    private int _unsavedEvents;
    // State changed without new events (a checkpoint decided, history recorded): saved like unsaved events.
    private bool _dirty;
    // The tenant is being removed: nothing of this activation is saved any more.
    private bool _retired;
    private IGrainTimer? _saveTimer;
    // Calls of this grain in progress: a stats read (which interleaves) changes state only when it is the only one.
    private int _callsInProgress;

    /// <summary>Counts the calls in progress, so an interleaving stats read knows whether it may change anything.</summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        _callsInProgress++;
        try
        {
            await context.Invoke();
        }
        finally
        {
            _callsInProgress--;
        }
    }

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        try
        {
            await ActivateAsync(ct);
        }
        catch (Exception ex) when (DependencyFailureFilter.Translate(ex) is { } unavailable)
        {
            // An activation failure reaches the caller as is; the driver's exception could not be sent.
            throw unavailable;
        }
    }

    private async Task ActivateAsync(CancellationToken ct)
    {
        (_tenantId, _userId) = UserKey.Parse(this.GetPrimaryKeyString());
        _tenant = await tenants.GetAsync(_tenantId, 0, ct)
                  ?? throw new InvalidOperationException($"Tenant '{_tenantId}' does not exist.");
        var loaded = await reader.LoadUserAsync(_tenantId, _userId).WaitAsync(ct);
        _epoch = loaded.Epoch;
        _stats = loaded.State is null ? new UserStats() : UserStatsCodec.Decode(loaded.State);
        foreach (var e in loaded.EventsAfter)
            _stats.Apply(e.EventId, e.ActionDate, e.Event, _tenant.Plan, _touched);
        ReplayCheckpoint(loaded.EventsAfter);
        // Completions the replay found again are recorded again: stored ones change nothing (ON CONFLICT DO NOTHING).
        RecordGoalsSoon();
        if (loaded.EventsAfter.Count > 0)
        {
            logger.LogInformation("User {Tenant}/{User}: replayed {Count} events after watermark.", _tenantId, _userId, loaded.EventsAfter.Count);
            _unsavedEvents += loaded.EventsAfter.Count;
            ScheduleSave();
            // The silo that applied these may have died before publishing them.
            PublishTouched();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken ct)
    {
        if (reason.ReasonCode == DeactivationReasonCode.ApplicationError || _retired) return;
        await WriteHistoryAsync();
        await SaveIfChangedAsync();
    }

    public Task Retire()
    {
        // Calls are one at a time: a save in progress finished before this turn, and none starts after it.
        _retired = true;
        _saveTimer?.Dispose();
        _saveTimer = null;
        _stats = new UserStats();
        _unsavedEvents = 0;
        _dirty = false;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task<RecordResult> Record(long configVersion, ValidEvent[] events, long deadlineUnixMs)
    {
        // The turn came too late: the caller answered without this user already. Writing now would only add work to a
        // saturated silo (the caller's retry will come).
        if (deadlineUnixMs > 0 && time.GetUtcNow().ToUnixTimeMilliseconds() > deadlineUnixMs)
            return RecordResult.Failed(RecordFailure.Overloaded, "This user's call waited past its deadline; nothing was written.");
        await RefreshTenantAsync(configVersion);
        var calendar = _tenant.Calendar;
        // A request's events are applied in occurred_at order (then key): ids follow it, so the first to
        // reach a score is the earliest, and none of them is late relative to another.
        var order = new int[events.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => ValidEvent.CompareByOccurrence(events[a], events[b]));

        var statuses = new EventStatus[events.Length];
        EventRejection?[]? errors = null;
        var arrival = NextArrival();
        var adding = new Dictionary<string, decimal>(StringComparer.Ordinal);
        var rows = new List<EventLogRow>(events.Length);
        var rowEvent = new List<int>(events.Length);
        foreach (var i in order)
        {
            // Bounds are checked before the commit, never after: nothing committed can fail to apply.
            if (!_stats.FitsBounds(events[i], adding, out var measure))
            {
                statuses[i] = EventStatus.Rejected;
                (errors ??= new EventRejection?[events.Length])[i] = new EventRejection("sum_out_of_range",
                    $"This event would take the user's sum of {measure} beyond ±{MeasureBounds.MaxAbsUserSum:0}.", $"measures.{measure}");
                continue;
            }
            rows.Add(new EventLogRow(_tenantId, _epoch, calendar.LocalDate(events[i].OccurredAt), arrival, events[i]));
            rowEvent.Add(i);
        }
        if (rows.Count == 0) return new RecordResult(RecordFailure.None, statuses, errors, null);

        var (ids, failure) = await AppendAsync(rows);
        if (failure is not null) return failure;

        var accepted = new List<ValidEvent>(rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            var i = rowEvent[r];
            if (ids[r] == Unstorable)
            {
                statuses[i] = EventStatus.Rejected;
                (errors ??= new EventRejection?[events.Length])[i] = new EventRejection("unstorable", "The event log refused this event.", "");
                continue;
            }
            if (ids[r] == 0)
            {
                statuses[i] = EventStatus.Duplicate;
                continue;
            }
            _stats.Apply(ids[r], rows[r].ActionDate, rows[r].Event, _tenant.Plan, _touched);
            accepted.Add(rows[r].Event);
            statuses[i] = EventStatus.Accepted;
            _unsavedEvents++;
        }
        PublishTouched();
        await ApplyCheckpointAsync(accepted, arrival);
        // Completions are derived from the committed events: recorded after the answer (a replay would find them again),
        // so the ack waits for nothing more; a read of the user's goals waits for them.
        RecordGoalsSoon();
        if (_unsavedEvents >= _options.PersistEveryEvents) await SaveIfChangedAsync();
        else if (_unsavedEvents > 0) ScheduleSave();
        return new RecordResult(RecordFailure.None, statuses, errors, null);
    }

    /// <summary>A row's id when PostgreSQL refused it for what it holds (validation should make this impossible).</summary>
    private const long Unstorable = -2;

    /// <summary>Writes the rows; returns their ids, or the failure to answer with (nothing of it applied).</summary>
    private async Task<(long[] Ids, RecordResult? Failure)> AppendAsync(List<EventLogRow> rows)
    {
        try
        {
            var ids = await writer.AppendAsync(rows);
            if (ids.Length > 0 && ids[0] == EventLogWriter.Superseded)
            {
                // A newer activation of this user exists (this silo was taken for dead): nothing was
                // written; the ingest grain retries and reaches the live one.
                logger.LogWarning("User {Tenant}/{User}: activation of epoch {Epoch} was superseded; its write was refused.", _tenantId, _userId, _epoch);
                DeactivateOnIdle();
                return ([], RecordResult.Failed(RecordFailure.Superseded, "This user's grain moved to another silo; retry."));
            }
            return (ids, null);
        }
        catch (EventLogOverloadedException ex)
        {
            return ([], RecordResult.Failed(RecordFailure.Overloaded, ex.Message));
        }
        catch (EventLogUnavailableException ex)
        {
            // The commit may or may not have happened: drop this activation so the next one
            // rebuilds from the log instead of guessing.
            DeactivateOnIdle();
            return ([], RecordResult.Failed(RecordFailure.NotDurable, ex.Message));
        }
        catch (EventLogRejectedException) when (rows.Count > 1)
        {
            // One of these rows is refused by PostgreSQL: write them one by one to find it.
            var ids = new long[rows.Count];
            for (var r = 0; r < rows.Count; r++)
            {
                var (one, failure) = await AppendAsync([rows[r]]);
                if (failure is not null)
                {
                    // Earlier rows may be committed: the next activation replays them from the log.
                    DeactivateOnIdle();
                    return ([], r == 0 ? failure : RecordResult.Failed(RecordFailure.OutcomeUnknown, failure.Error ?? "The event log failed part way."));
                }
                ids[r] = one[0];
            }
            return (ids, null);
        }
        catch (EventLogRejectedException ex)
        {
            logger.LogWarning("User {Tenant}/{User}: the event log refused event {Key}: {Message}", _tenantId, _userId, rows[0].Event.IdempotencyKey, ex.Message);
            return ([Unstorable], null);
        }
    }

    private void PublishTouched()
    {
        if (_touched.Count == 0) return;
        _cellsVersion++;
        var cells = new KeyedCell[_touched.Count];
        var i = 0;
        foreach (var key in _touched) cells[i++] = new KeyedCell(key, _stats.Cells[key]);
        _touched.Clear();
        publisher.Publish(_tenantId, BoardShards.Of(_userId, _tenant.Config.BoardShards), new UserBoardUpdate(_userId, _stats.LastEventId, cells));
    }

    /// <summary>
    /// A call's config: the version the caller validated against, read if this grain's is older; otherwise a newer one
    /// if the process cache holds it, without waiting (the cache re-reads in the background every few seconds). So a
    /// change this grain was not told of (a resharding moves users' shards, decision 042) reaches its calls too.
    /// </summary>
    private async ValueTask RefreshTenantAsync(long configVersion)
    {
        if (configVersion > _tenant.Version)
        {
            _tenant = await tenants.GetAsync(_tenantId, configVersion) ?? _tenant;
            return;
        }
        if (tenants.Peek(_tenantId) is { } fresh && fresh.Version > _tenant.Version) _tenant = fresh;
    }

    /// <summary>
    /// Before a row that names the user's board shard is written (a save, a removal): the config every process uses
    /// now, read if the cache's is older than a few seconds, so the row follows a resharding. If it cannot be read,
    /// the grain's own copy serves (a resharding's second pass moves a row written under the old count).
    /// </summary>
    private async ValueTask RefreshTenantForWriteAsync()
    {
        try
        {
            if (await tenants.GetAsync(_tenantId) is { } fresh && fresh.Version > _tenant.Version) _tenant = fresh;
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "User {Tenant}/{User}: the tenant's config could not be read; the grain's own serves.", _tenantId, _userId);
        }
    }

    /// <summary>Arms a one-shot save <see cref="UserGrainOptions.PersistIntervalSeconds"/> from now, if none is armed.
    /// Only grains with unsaved events hold a timer, so idle users cost nothing between events.</summary>
    private void ScheduleSave()
    {
        _saveTimer ??= this.RegisterGrainTimer(async () =>
        {
            await SaveIfChangedAsync();
            _saveTimer?.Dispose();
            _saveTimer = null;
            if (_unsavedEvents > 0 || _dirty) ScheduleSave();
        }, TimeSpan.FromSeconds(_options.PersistIntervalSeconds), Timeout.InfiniteTimeSpan);
    }

    private async Task SaveIfChangedAsync()
    {
        if (_retired) return;
        // Before the state, which records how much history is stored and which completions are not.
        await WriteHistoryAsync();
        await FlushGoalsAsync();
        if (_unsavedEvents == 0 && !_dirty) return;
        // The row names the user's board shard: by the count every process uses now (a resharding may have changed it
        // since this grain's last call), not by the one this grain last read.
        await RefreshTenantForWriteAsync();
        _stats.Prune(_tenant.Calendar.LocalDate(clock.UtcNow), _options.DailyBucketDays, boardOptions.Value.Grace, _tenant.Plan.Goals);
        var row = new UserStateRow(_tenantId, _userId, BoardShards.Of(_userId, _tenant.Config.BoardShards), _stats.LastEventId,
            UserStatsCodec.Encode(_stats), CheckpointDueAt(), CheckpointJson());
        var saved = _unsavedEvents;
        _dirty = false;
        try
        {
            await stateWriter.SaveAsync(row);
            _unsavedEvents -= saved;
            // Saved users are mostly idle ones: the set of cells to publish gives back its room (about 0.7 KB) until the next event.
            if (_touched.Count == 0) _touched.TrimExcess();
        }
        catch (Exception ex)
        {
            // Not fatal: the log holds every event and replay covers what was not saved.
            // The writer logs the failed batch once; one line per user would flood the log in an outage.
            logger.LogDebug(ex, "User {Tenant}/{User}: saving state failed; will retry.", _tenantId, _userId);
            _dirty = true;
        }
    }
}
