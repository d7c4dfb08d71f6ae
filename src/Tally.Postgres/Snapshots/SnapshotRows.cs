namespace Tally.Postgres.Snapshots;

/// <summary>One row of <c>leaderboard_snapshots</c>.</summary>
internal sealed record LeaderboardSnapshotRow(string Measure, string Scope, string Period, string PeriodKey, int Rank, string UserId, decimal Score, long Members);

/// <summary>One row of <c>global_stats_rollup</c>.</summary>
internal sealed record RollupSnapshotRow(string RollupKey, string Measure, string Scope, string Period, string PeriodKey, decimal Total, long Users, long Actions);

/// <summary>One row of <c>user_stats_summary</c>: a user's figures for one measure and the current periods.</summary>
internal sealed record UserSummaryRow(
    string UserId, string Measure, decimal Total, long Actions, decimal Year, decimal Month, decimal Week, decimal Day,
    long? GlobalRank, string? ScopeRanksJson, DateOnly? LastActionDate, int CurrentStreak, int LongestStreak);
