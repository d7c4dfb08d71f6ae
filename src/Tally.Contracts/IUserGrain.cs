using Orleans.Concurrency;
using Tally.Domain.Events;

namespace Tally.Contracts;

/// <summary>One user of one tenant: live stats in memory, every change first made durable in the event log.
/// Key: <see cref="UserKey.Format"/>.</summary>
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Records events in order; answers after they are committed. Duplicates change nothing. A call whose turn
    /// comes after <paramref name="deadlineUnixMs"/> (wall clock; 0 = none) writes nothing and answers
    /// <see cref="RecordFailure.Overloaded"/>: its caller has stopped waiting.</summary>
    Task<RecordResult> Record(long configVersion, ValidEvent[] events, long deadlineUnixMs);

    /// <summary>Stats for the periods of <paramref name="dayNumber"/> (tenant-local; null = today). Null if the user has no events.
    /// Interleaves: a read does not wait for the user's write in flight (it sees the stats before it, as that write is
    /// not acknowledged yet).</summary>
    [AlwaysInterleave]
    Task<UserStatsSnapshot?> GetStats(long configVersion, int? dayNumber);

    /// <summary>The user's tier history, oldest first; null if the user has no events or the tenant no checkpoints.</summary>
    Task<TierPage?> GetTiers(long configVersion, int offset, int limit);

    /// <summary>The user's recorded goal completions (every completion computed so far is recorded first); null if the user has no events.</summary>
    Task<GoalPage?> GetGoals(long configVersion, int offset, int limit);

    /// <summary>The user's sums per value of a broken-down dimension, sorted and paged; null if the user has no events.</summary>
    Task<BreakdownPage?> GetBreakdown(long configVersion, BreakdownRequest request);

    /// <summary>Removes the user from every board, rollup, ratio and summary (decision 012): durable before it answers;
    /// the log keeps the events, later events count afresh.</summary>
    Task<EraseOutcome> Erase();

    /// <summary>Drops the user's state from memory without saving it and deactivates (the tenant is being removed).</summary>
    Task Retire();

    /// <summary>Takes every checkpoint decision due now and records it (the scheduler wakes users with none of their own events).</summary>
    Task AdvanceCheckpoint();

    /// <summary>Saves the state if anything is unsaved and returns the user's absolute standing on every board
    /// it holds: reconciliation uses it to heal shards that missed updates.</summary>
    Task<UserBoardUpdate> Republish();
}
