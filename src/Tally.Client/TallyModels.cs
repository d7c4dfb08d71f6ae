using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tally.Client;

/// <summary><c>GET /v1/users/{id}/stats</c>: totals and period sums per measure, streak, ranks, ratios, checkpoint and goals.</summary>
public sealed record UserStats(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("actions")] long Actions,
    [property: JsonPropertyName("last_action_date")] string? LastActionDate,
    [property: JsonPropertyName("measures")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, decimal>> Measures,
    [property: JsonPropertyName("streak")] Streak Streak,
    [property: JsonPropertyName("ranks")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>>>? Ranks = null,
    [property: JsonPropertyName("ratios")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, decimal?>>? Ratios = null,
    [property: JsonPropertyName("checkpoint")] CheckpointState? Checkpoint = null,
    [property: JsonPropertyName("goals")] IReadOnlyDictionary<string, GoalProgress>? Goals = null);

public sealed record Streak([property: JsonPropertyName("current")] int Current, [property: JsonPropertyName("longest")] int Longest);

public sealed record CheckpointState(
    [property: JsonPropertyName("tier")] string Tier,
    [property: JsonPropertyName("tier_achieved_at")] DateTimeOffset? TierAchievedAt,
    [property: JsonPropertyName("next_checkpoint_at")] DateTimeOffset? NextCheckpointAt,
    [property: JsonPropertyName("window")] IReadOnlyDictionary<string, decimal>? Window);

public sealed record GoalProgress(
    [property: JsonPropertyName("window_key")] string WindowKey,
    [property: JsonPropertyName("progress")] decimal? Progress,
    [property: JsonPropertyName("level")] int Level,
    [property: JsonPropertyName("next_target")] decimal? NextTarget);

/// <summary>A page of a leaderboard (<c>GET /v1/leaderboards/{measure}</c>).</summary>
public sealed record LeaderboardPage(
    [property: JsonPropertyName("measure")] string Measure,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("period")] string Period,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("members")] long Members,
    [property: JsonPropertyName("entries")] IReadOnlyList<LeaderboardEntry> Entries);

public sealed record LeaderboardEntry(
    [property: JsonPropertyName("rank")] long Rank,
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("score")] decimal Score);

/// <summary>A user's place on a board and the entries around it (<c>GET /v1/leaderboards/{measure}/users/{id}</c>).</summary>
public sealed record AroundUser(
    [property: JsonPropertyName("rank")] long Rank,
    [property: JsonPropertyName("score")] decimal Score,
    [property: JsonPropertyName("members")] long Members,
    [property: JsonPropertyName("entries")] IReadOnlyList<LeaderboardEntry> Entries);

/// <summary>A rollup (<c>GET /v1/rollups/{measure}</c>).</summary>
public sealed record Rollup(
    [property: JsonPropertyName("measure")] string Measure,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("period")] string Period,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("total")] decimal Total,
    [property: JsonPropertyName("users")] long Users,
    [property: JsonPropertyName("actions")] long Actions,
    [property: JsonPropertyName("computed_at")] DateTimeOffset? ComputedAt);

/// <summary>A ratio over a scope (<c>GET /v1/ratios/{ratio}</c>); <see cref="Value"/> is null when the denominator is 0.</summary>
public sealed record RatioValue(
    [property: JsonPropertyName("ratio")] string Ratio,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("period")] string Period,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("value")] decimal? Value,
    [property: JsonPropertyName("numerator")] decimal Numerator,
    [property: JsonPropertyName("denominator")] decimal Denominator,
    [property: JsonPropertyName("users")] long Users);

/// <summary>A user's completed goal levels (<c>GET /v1/users/{id}/goals</c>).</summary>
public sealed record GoalCompletions(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("entries")] IReadOnlyList<GoalCompletion> Entries);

public sealed record GoalCompletion(
    [property: JsonPropertyName("goal")] string Goal,
    [property: JsonPropertyName("level")] int Level,
    [property: JsonPropertyName("target")] decimal Target,
    [property: JsonPropertyName("window_key")] string WindowKey,
    [property: JsonPropertyName("completed_at")] DateTimeOffset CompletedAt,
    [property: JsonPropertyName("value")] decimal Value);

/// <summary>A page of the change feed (<c>GET /v1/changes</c>): pass <see cref="Next"/> as <c>after</c> for the next page.</summary>
public sealed record ChangesPage(
    [property: JsonPropertyName("changes")] IReadOnlyList<Change> Changes,
    [property: JsonPropertyName("next")] string? Next);

/// <summary>One change: <c>tier_changed</c>, <c>goal_completed</c> or <c>user_removed</c>, with its data as sent.</summary>
public sealed record Change(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("recorded_at")] DateTimeOffset RecordedAt,
    [property: JsonPropertyName("data")] JsonElement Data);
