namespace Tally.Domain.Stats;

/// <summary>A user's statistics as read for one day's periods.</summary>
public sealed record UserStatsView(
    long Actions,
    DateOnly? LastActionDate,
    IReadOnlyDictionary<string, MeasurePeriods> Measures,
    int CurrentStreak,
    int LongestStreak);

public sealed record MeasurePeriods(decimal AllTime, decimal Year, decimal Month, decimal Week, decimal Day, long Actions);
