namespace Tally.Contracts;

/// <summary>A user's stats for the periods containing one local day of the tenant.</summary>
[GenerateSerializer, Immutable]
public sealed record UserStatsSnapshot(
    [property: Id(0)] long Actions,
    [property: Id(1)] int? LastActionDayNumber,
    [property: Id(2)] Dictionary<string, MeasureSnapshot> Measures,
    [property: Id(3)] int CurrentStreak,
    [property: Id(4)] int LongestStreak,
    [property: Id(5)] Dictionary<string, Dictionary<string, Dictionary<string, long>>>? Ranks);

[GenerateSerializer, Immutable]
public sealed record MeasureSnapshot(
    [property: Id(0)] decimal AllTime,
    [property: Id(1)] decimal Year,
    [property: Id(2)] decimal Month,
    [property: Id(3)] decimal Week,
    [property: Id(4)] decimal Day,
    [property: Id(5)] long Actions);
