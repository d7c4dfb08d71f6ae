using Tally.Domain.Boards;

namespace Tally.Contracts;

/// <summary>
/// One shard of a tenant's boards and rollups: every open board's entries for the users hashed to
/// it (<see cref="BoardShards.Of"/>). Key: <see cref="BoardShards.Key"/>. Fed by each silo's <c>BoardPublisher</c>.
/// </summary>
public interface IBoardShardGrain : IGrainWithStringKey
{
    /// <summary>Applies updates (each silo's publisher and reconciliation send them). Returns how many cells changed.</summary>
    Task<int> Apply(BoardUpdateBatch batch);

    /// <summary>Takes a removed user out of every board and rollup of the shard; cells of that user with a version up to
    /// <paramref name="throughEventId"/> arriving later (a redelivery) are ignored.</summary>
    Task Erase(string userId, long throughEventId);

    /// <summary>The best <paramref name="count"/> entries of a board and its member count; null if the shard does not hold the board.</summary>
    Task<ShardTop?> Top(BoardKey board, int count);

    /// <summary>A user's entry on a board, if any.</summary>
    Task<ShardEntry?> Find(BoardKey board, string userId);

    /// <summary>
    /// Around a position (a user's score and reached): how many of this shard's members rank above it
    /// and the <paramref name="count"/> nearest above and below, the user itself left out; null if the
    /// shard does not hold the board.
    /// </summary>
    Task<ShardNeighbors?> Neighbors(BoardKey board, string userId, decimal score, long reached, int count);

    /// <summary>For each probe, how many of this shard's members rank strictly above it (the probing user excluded).</summary>
    Task<long[]> CountAbove(RankProbe[] probes);

    /// <summary>Sum, members and actions of each board (zeros for a board the shard does not hold).</summary>
    Task<RollupTotals[]> Totals(BoardKey[] boards);

    /// <summary>Members per level (index = level) of a goal instance's cells; null if the shard does not hold it.</summary>
    Task<long[]?> GoalLevels(BoardKey goalCells);

    /// <summary>Every value of a dimension scope the shard holds rollups for in one period instance, with the totals of
    /// each of <paramref name="measures"/> there (in that order; zeros where a value has none).</summary>
    Task<ScopeValueTotals[]> ScopeTotals(string[] measures, string dimension, PeriodKind period, int periodKey);

    /// <summary>The boards and rollups the shard holds.</summary>
    Task<BoardKey[]> Boards();

    /// <summary>Boards and rollups whose entries or totals changed since the last call (all of them after activation).</summary>
    Task<BoardKey[]> TakeChangedBoards();

    /// <summary>Of the given users and the log's newest event ids, those the shard is behind on.</summary>
    Task<string[]> Behind(string[] userIds, long[] eventIds);

    /// <summary>Users whose entries changed since the last call (for <c>user_stats_summary</c>).</summary>
    Task<string[]> TakeChangedUsers();

    /// <summary>Drops the shard from memory and deactivates (the tenant is being removed, or resharded: the next call
    /// rebuilds it under the tenant's current shard count). Returns when the retired activation began, so a caller can
    /// tell a new activation from it.</summary>
    Task<DateTimeOffset> Retire();

    /// <summary>Where this shard runs and what it holds (the tenant's placement view).</summary>
    Task<ShardPlacement> Describe();

    /// <summary>Drops boards of periods closed for longer than the grace (after their final snapshot).</summary>
    Task<int> EvictClosed();
}

[GenerateSerializer, Immutable]
public sealed record ShardEntry([property: Id(0)] string UserId, [property: Id(1)] decimal Score, [property: Id(2)] long Reached);

[GenerateSerializer, Immutable]
public sealed record ShardTop([property: Id(0)] long Members, [property: Id(1)] ShardEntry[] Entries);

[GenerateSerializer, Immutable]
public sealed record ShardNeighbors(
    [property: Id(0)] long Members,
    [property: Id(1)] long Above,
    [property: Id(2)] ShardEntry[] Before,
    [property: Id(3)] ShardEntry[] After);

[GenerateSerializer, Immutable]
public sealed record RankProbe([property: Id(0)] BoardKey Board, [property: Id(1)] string UserId, [property: Id(2)] decimal Score, [property: Id(3)] long Reached);

/// <summary>One value of a scope (<c>q17</c> of <c>question</c>) and a rollup's totals per measure there.</summary>
[GenerateSerializer, Immutable]
public sealed record ScopeValueTotals([property: Id(0)] string Value, [property: Id(1)] RollupTotals[] Totals);

[GenerateSerializer, Immutable]
public sealed record RollupTotals([property: Id(0)] decimal Total, [property: Id(1)] long Users, [property: Id(2)] long Actions, [property: Id(3)] bool Held);
