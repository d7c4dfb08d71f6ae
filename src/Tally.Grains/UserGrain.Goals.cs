using Microsoft.Extensions.Logging;
using Tally.Contracts;
using Tally.Postgres.Goals;

namespace Tally.Grains;

/// <summary>
/// The user's goal completions: computed by the domain as events apply (and as the tier timeline counts them), recorded
/// in <c>goal_completions</c> in the background, exactly once (keyed rows, ON CONFLICT DO NOTHING). Completions not
/// recorded yet are saved with the state, so a crash between computing and recording writes them later, never loses them.
/// </summary>
internal sealed partial class UserGrain
{
    // The write in flight, if any: it takes every completion waiting, and those that arrive meanwhile, then ends.
    private Task? _goalWrite;

    /// <summary>Starts recording the completions waiting, unless a write is already under way (it will take them too).</summary>
    private void RecordGoalsSoon()
    {
        if (_stats.Goals.Unrecorded.Count == 0 || _goalWrite is { IsCompleted: false }) return;
        _goalWrite = RecordGoalsAsync();
    }

    /// <summary>Waits for the write in flight and records what is still waiting; a failure leaves them for the next try (the save timer).</summary>
    private async Task FlushGoalsAsync()
    {
        if (_goalWrite is { } inFlight) await inFlight;
        if (_stats.Goals.Unrecorded.Count > 0) await RecordGoalsAsync();
    }

    private async Task RecordGoalsAsync()
    {
        var goals = _stats.Goals;
        while (goals.Unrecorded.Count > 0)
        {
            var taken = goals.Unrecorded.ToArray();
            try
            {
                await goalWriter.WriteAsync(new GoalCompletionRows(_tenantId, _userId, taken, _tenant.Calendar.Zone));
            }
            catch (Exception ex)
            {
                logger.LogDebug(ex, "User {Tenant}/{User}: recording goal completions failed; retried with the next save.", _tenantId, _userId);
                _dirty = true;
                ScheduleSave();
                return;
            }
            // Erase may have emptied the state meanwhile: only what is still there was taken.
            if (!ReferenceEquals(goals, _stats.Goals)) return;
            goals.MarkRecorded(taken.Length);
            _dirty = true;
            ScheduleSave();
        }
    }

    public async Task<GoalPage?> GetGoals(long configVersion, int offset, int limit)
    {
        await RefreshTenantAsync(configVersion);
        if (_stats.IsEmpty) return null;
        // Decisions due now may complete checkpoint goals; then every completion computed is recorded before the read.
        if (TimelineFor(_tenant.Checkpoints)) await AdvanceTimelineAsync(clock.UtcNow);
        await FlushGoalsAsync();
        var (total, entries) = await goalStore.ReadPageAsync(_tenantId, _userId, offset, limit);
        return new GoalPage(total, entries.Select(e => new GoalEntrySnapshot(e.Goal, e.Level, e.Target, e.WindowKey, e.CompletedAt, e.Value)).ToArray());
    }

    /// <summary>Every goal's instance for the current window (the periods of <paramref name="day"/>, the current checkpoint window).</summary>
    private GoalSnapshot[]? GoalSnapshots(DateOnly day)
    {
        var plan = _tenant.Plan.Goals;
        if (plan.IsEmpty) return null;
        var timeline = _tenant.Checkpoints is not null ? _stats.Checkpoint : null;
        return _stats.Goals.View(plan, _stats, day, timeline, _tenant.Calendar.Zone)
            .Select(v => new GoalSnapshot(v.Goal, v.WindowKey, v.Progress, v.Level, v.NextTarget)).ToArray();
    }
}
