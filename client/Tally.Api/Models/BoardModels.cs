namespace Tally.Api.Models;

/// <summary>A page of a leaderboard: ordinal ranks, higher score first, ties by who reached the score first, then user id.</summary>
public sealed record LeaderboardPage(string Measure, string Scope, string Period, string Key, long Members, LeaderboardRow[] Entries);

public sealed record LeaderboardRow(long Rank, string UserId, decimal Score);

/// <summary>A user's rank and score on a board with the entries around it.</summary>
public sealed record LeaderboardStanding(string Measure, string Scope, string Period, string Key, string UserId, long Rank, decimal Score, long Members, LeaderboardRow[] Entries);

/// <summary>A rollup: the sum of a measure over every user in the scope and period, the distinct users and the events.</summary>
public sealed record RollupResponse(string Measure, string Scope, string Period, string Key, string RollupKey,
    decimal Total, long Users, long Actions, DateTimeOffset ComputedAt);
