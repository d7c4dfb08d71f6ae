using Tally.Domain.Boards;

namespace Tally.Contracts;

/// <summary>Reads a tenant's boards and rollups by fanning out to every shard and merging. Stateless.</summary>
public interface IBoardQueryGrain : IGrainWithIntegerKey
{
    Task<BoardPage> Page(string tenantId, long configVersion, BoardKey board, int offset, int limit);

    /// <summary>A user's rank and the <paramref name="around"/> entries above and below; null if the user is not on the board.</summary>
    Task<UserStanding?> Around(string tenantId, long configVersion, BoardKey board, string userId, int around);

    Task<RollupResult> Rollup(string tenantId, long configVersion, BoardKey board);

    /// <summary>Every value of a dimension scope with rollups in one period instance, each with the totals of
    /// <paramref name="measures"/> over every shard (in that order), by value.</summary>
    Task<ScopeValueTotals[]> ScopeTotals(string tenantId, long configVersion, string[] measures, string dimension, PeriodKind period, int periodKey);

    /// <summary>Users per level (index = level) of a goal instance over every shard; null if no shard holds it.</summary>
    Task<long[]?> GoalLevels(string tenantId, long configVersion, BoardKey goalCells);
}

[GenerateSerializer, Immutable]
public sealed record LeaderboardEntry([property: Id(0)] long Rank, [property: Id(1)] string UserId, [property: Id(2)] decimal Score);

[GenerateSerializer, Immutable]
public sealed record BoardPage([property: Id(0)] long Members, [property: Id(1)] LeaderboardEntry[] Entries, [property: Id(2)] bool FromSnapshot);

[GenerateSerializer, Immutable]
public sealed record UserStanding([property: Id(0)] long Rank, [property: Id(1)] decimal Score, [property: Id(2)] long Members, [property: Id(3)] LeaderboardEntry[] Entries);

[GenerateSerializer, Immutable]
public sealed record RollupResult([property: Id(0)] decimal Total, [property: Id(1)] long Users, [property: Id(2)] long Actions, [property: Id(3)] DateTimeOffset ComputedAt);
