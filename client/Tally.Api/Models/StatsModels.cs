using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tally.Api.Models;

/// <summary><c>GET /v1/users/{user_id}/stats</c>: totals, the current periods' sums in the tenant's time zone, streaks, ranks,
/// and where the tenant declares them, ratios and the checkpoint.</summary>
public sealed record StatsResponse(
    string UserId,
    long Actions,
    string? LastActionDate,
    Dictionary<string, MeasureStats> Measures,
    StreakStats Streak,
    Dictionary<string, Dictionary<string, Dictionary<string, long>>> Ranks,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<string, RatioPeriods>? Ratios,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CheckpointStats? Checkpoint,
    PeriodKeys Periods,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<string, GoalStats>? Goals = null);

/// <summary>A goal's instance for the current window: its key, the progress, the levels completed there and the next
/// target (null when every level is done).</summary>
public sealed record GoalStats(string? WindowKey, decimal? Progress, int Level, decimal? NextTarget);

/// <summary><c>GET /v1/users/{user_id}/goals</c>: the user's completions, by completed_at, then goal, then level.</summary>
public sealed record GoalHistory(string UserId, long Total, GoalHistoryEntry[] Entries);

/// <summary>One completion: level <c>level</c> (target <c>target</c>) of a goal's instance <c>window_key</c>, reached at
/// <c>completed_at</c> with <c>value</c> the progress right after it.</summary>
public sealed record GoalHistoryEntry(string Goal, int Level, decimal Target, string WindowKey, DateTimeOffset CompletedAt, decimal Value);

/// <summary><c>GET /v1/goals/{goal_id}</c>: how many users completed each level of one instance.</summary>
public sealed record GoalLevelsResponse(string Goal, string WindowKey, GoalLevelCount[] Levels);

public sealed record GoalLevelCount(int Level, decimal Target, long Users);

public sealed record MeasureStats(decimal AllTime, decimal Year, decimal Month, decimal Week, decimal Day, long Actions);

public sealed record StreakStats(int Current, int Longest);

/// <summary>A ratio per period: the numerator's sum over the denominator's; null where the denominator's sum is 0.</summary>
public sealed record RatioPeriods(decimal? AllTime, decimal? Year, decimal? Month, decimal? Week, decimal? Day);

/// <summary>The current checkpoint window (instants in the tenant's offset).</summary>
public sealed record CheckpointStats(
    string Tier,
    DateTimeOffset TierAchievedAt,
    DateTimeOffset NextCheckpointAt,
    Dictionary<string, decimal> Window,
    long LateEvents);

/// <summary>The keys of the periods the figures are for.</summary>
public sealed record PeriodKeys(string Day, string Week, string Month, string Year);

/// <summary><c>GET /v1/users/{user_id}/tiers</c>: the user's tier history, oldest first.</summary>
public sealed record TierHistory(string UserId, int Total, TierHistoryEntry[] Entries);

/// <summary>One tier change or confirmation. <c>window</c>: for <c>promoted</c> the window's sums including the promoting
/// event; for <c>kept</c>/<c>demoted</c> the decided window's sums; for <c>entered</c> empty.</summary>
public sealed record TierHistoryEntry(
    DateTimeOffset At, string Reason, string? From, string To, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, Dictionary<string, decimal> Window);

/// <summary><c>GET /v1/ratios/{ratio}</c>: a ratio over every user in a scope and period.</summary>
public sealed record RatioResponse(string Ratio, string Scope, string Period, string Key, decimal? Value, decimal Numerator, decimal Denominator, long Users);

/// <summary><c>GET /v1/users/{user_id}/breakdown/{dimension}</c>: one page of the user's values (<c>total</c> of them).</summary>
public sealed record BreakdownResponse(string UserId, string Dimension, string Period, string Key, long Total, BreakdownValueEntry[] Values);

/// <summary>One value: each declared measure's sum there, the events carrying it, and the ratios whose denominator reaches the minimum.</summary>
public sealed record BreakdownValueEntry(string Value, Dictionary<string, decimal> Measures, long Actions, Dictionary<string, decimal> Ratios);

/// <summary><c>GET /v1/ratios/{ratio}/values</c>: the values of a scope whose ratio lies in the band (<c>total</c> of them), one page.</summary>
public sealed record RatioValuesResponse(string Ratio, string Scope, string Period, string Key, long Total, RatioValue[] Values);

/// <summary>One value of the scope: its ratio, the sums it is made of, and the users counted (those with the denominator there).</summary>
public sealed record RatioValue(string Value, decimal Ratio, decimal Numerator, decimal Denominator, long Users);

/// <summary><c>GET /v1/changes</c>: changes oldest first, and the cursor to pass as <c>after</c> next.</summary>
public sealed record ChangesResponse(ChangeEntry[] Changes, string Next);

/// <summary>One change: <c>id</c> increases in feed order; <c>at</c> is the change's own instant (<c>data.at</c>, or
/// <c>completed_at</c>); <c>data</c> is the tier history entry, the completion, or <c>{"at"}</c> of a removal.</summary>
public sealed record ChangeEntry(string Id, string Kind, string UserId, DateTimeOffset At, DateTimeOffset RecordedAt, JsonElement Data);
