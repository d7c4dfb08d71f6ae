namespace Tally.Contracts;

/// <summary>A user's stats for the periods containing one local day of the tenant.</summary>
[GenerateSerializer, Immutable]
public sealed record UserStatsSnapshot(
    [property: Id(0)] long Actions,
    [property: Id(1)] int? LastActionDayNumber,
    [property: Id(2)] Dictionary<string, MeasureSnapshot> Measures,
    [property: Id(3)] int CurrentStreak,
    [property: Id(4)] int LongestStreak,
    [property: Id(5)] Dictionary<string, Dictionary<string, Dictionary<string, long>>>? Ranks,
    [property: Id(6)] CheckpointSnapshot? Checkpoint = null,
    [property: Id(7)] Dictionary<string, RatioSnapshot>? Ratios = null,
    [property: Id(8)] GoalSnapshot[]? Goals = null);

/// <summary>The current checkpoint window (instants in UTC; the API shows them in the tenant's offset).</summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointSnapshot(
    [property: Id(0)] string Tier,
    [property: Id(1)] DateTimeOffset TierAchievedAt,
    [property: Id(2)] DateTimeOffset NextCheckpointAt,
    [property: Id(3)] Dictionary<string, decimal> Window,
    [property: Id(4)] long LateEvents);

/// <summary>A ratio per period; null where the denominator's sum is 0.</summary>
[GenerateSerializer, Immutable]
public sealed record RatioSnapshot(
    [property: Id(0)] decimal? AllTime,
    [property: Id(1)] decimal? Year,
    [property: Id(2)] decimal? Month,
    [property: Id(3)] decimal? Week,
    [property: Id(4)] decimal? Day);

[GenerateSerializer, Immutable]
public sealed record MeasureSnapshot(
    [property: Id(0)] decimal AllTime,
    [property: Id(1)] decimal Year,
    [property: Id(2)] decimal Month,
    [property: Id(3)] decimal Week,
    [property: Id(4)] decimal Day,
    [property: Id(5)] long Actions);
