namespace Tally.Domain.Tests;

/// <summary>
/// Goal completions derived from scratch, written from API.md's Goals rules apart from <see cref="Goals.GoalState"/>: it keeps
/// every applied event and, after each, recomputes the progress of the instance the event counts for by scanning them all.
/// Slow and plain on purpose: the incremental state must equal it.
/// </summary>
internal static class GoalReference
{
    /// <summary>An applied event: when it happened, its tenant-local day and its measures.</summary>
    public sealed record Ev(DateTimeOffset At, DateOnly Day, IReadOnlyDictionary<string, decimal> Measures);

    public enum Window { AllTime, Year, Month, Week, Day }

    /// <summary>A goal: Kind is "sum", "actions", "ratio" (Measure / Denominator) or "streak".</summary>
    public sealed record Goal(string Id, string Kind, string Measure, string Denominator, Window Period, decimal[] Targets, decimal MinDenominator = 1);

    public sealed record Completion(string Goal, int Level, decimal Target, string WindowKey, DateTimeOffset At, decimal Value);

    public static List<Completion> Derive(IReadOnlyList<Goal> goals, IReadOnlyList<Ev> applied)
    {
        var done = new HashSet<(string Goal, string Instance, int Level)>();
        var completions = new List<Completion>();
        for (var i = 0; i < applied.Count; i++)
        {
            var e = applied[i];
            var sofar = applied.Take(i + 1).ToList();
            foreach (var g in goals)
            {
                var instance = InstanceOf(g.Period, e.Day);
                var inWindow = sofar.Where(x => InstanceOf(g.Period, x.Day) == instance).ToList();
                decimal? progress;
                decimal denominator = 0;
                switch (g.Kind)
                {
                    case "sum":
                        progress = inWindow.Sum(x => x.Measures.GetValueOrDefault(g.Measure));
                        break;
                    case "actions":
                        progress = inWindow.Count(x => x.Measures.ContainsKey(g.Measure));
                        break;
                    case "ratio":
                        var num = inWindow.Sum(x => x.Measures.GetValueOrDefault(g.Measure));
                        denominator = inWindow.Sum(x => x.Measures.GetValueOrDefault(g.Denominator));
                        progress = denominator == 0 ? null : num / denominator;
                        break;
                    default:
                        progress = LongestRun(sofar.Select(x => x.Day.DayNumber));
                        instance = "all_time";
                        break;
                }
                if (progress is not { } value || (g.Kind == "ratio" && denominator < g.MinDenominator)) continue;
                for (var level = 1; level <= g.Targets.Length; level++)
                {
                    if (value < g.Targets[level - 1] || !done.Add((g.Id, instance, level))) continue;
                    completions.Add(new Completion(g.Id, level, g.Targets[level - 1], instance, e.At, value));
                }
            }
        }
        return completions;
    }

    public static string InstanceOf(Window w, DateOnly day) => w switch
    {
        Window.AllTime => "all_time",
        Window.Year => day.Year.ToString("D4"),
        Window.Month => $"{day.Year:D4}-{day.Month:D2}",
        // ISO 8601 weeks, from the framework's own calendar code, not the domain's.
        Window.Week => $"{System.Globalization.ISOWeek.GetYear(day.ToDateTime(TimeOnly.MinValue)):D4}-W{System.Globalization.ISOWeek.GetWeekOfYear(day.ToDateTime(TimeOnly.MinValue)):D2}",
        _ => $"{day.Year:D4}-{day.Month:D2}-{day.Day:D2}",
    };

    private static int LongestRun(IEnumerable<int> days)
    {
        var sorted = days.Distinct().Order().ToList();
        int longest = 0, run = 0;
        for (var i = 0; i < sorted.Count; i++)
        {
            run = i > 0 && sorted[i] == sorted[i - 1] + 1 ? run + 1 : 1;
            longest = Math.Max(longest, run);
        }
        return longest;
    }
}
