using Tally.Domain.Boards;
using Tally.Domain.Stats;

namespace Tally.Domain.Goals;

/// <summary>A goal's progress in one instance, read from what the user's stats keep: the measure's sum or event count in
/// the period, a ratio of two sums, or the longest streak; for checkpoint goals the window's sums and event counts.
/// Also returns the denominator's sum, which a ratio goal needs to reach its minimum.</summary>
internal static class GoalProgress
{
    public static (decimal? Progress, decimal Denominator) Calendar(GoalRule rule, UserStats stats, long instance)
    {
        switch (rule.Kind)
        {
            case GoalKind.Streak:
                return (stats.ActiveDays.Longest(), 0);
            case GoalKind.Ratio:
                var numerator = SumOf(stats, rule.Numerator, rule.Period, instance);
                var denominator = SumOf(stats, rule.Denominator, rule.Period, instance);
                return (RatioRule.Of(numerator, denominator), denominator);
            case GoalKind.Actions:
                return (CountOf(stats, rule.Numerator, rule.Period, instance), 0);
            default:
                return (SumOf(stats, rule.Numerator, rule.Period, instance), 0);
        }
    }

    public static (decimal? Progress, decimal Denominator) Checkpoint(GoalRule rule, IReadOnlyDictionary<string, decimal> sums,
        IReadOnlyDictionary<string, long>? actions)
    {
        switch (rule.Kind)
        {
            case GoalKind.Ratio:
                var denominator = sums.GetValueOrDefault(rule.Denominator);
                return (RatioRule.Of(sums.GetValueOrDefault(rule.Numerator), denominator), denominator);
            case GoalKind.Actions:
                return (actions?.GetValueOrDefault(rule.Numerator) ?? 0, 0);
            default:
                return (sums.GetValueOrDefault(rule.Numerator), 0);
        }
    }

    private static decimal SumOf(UserStats stats, string measure, PeriodKind period, long instance)
    {
        if (!stats.Measures.TryGetValue(measure, out var history)) return 0;
        return period == PeriodKind.AllTime ? history.Sum : history.SeriesOf(period).SumOf((int)instance);
    }

    private static decimal CountOf(UserStats stats, string measure, PeriodKind period, long instance)
    {
        if (!stats.Measures.TryGetValue(measure, out var history)) return 0;
        return period == PeriodKind.AllTime ? history.Actions : history.CountsOf(period)?.SumOf((int)instance) ?? 0;
    }
}
