namespace Tally.Domain.Stats;

/// <summary>How a breakdown is listed: by value, by a ratio (a learner's weak areas: <c>ratio:accuracy</c>, ascending) or
/// by a measure's sum; ties by value in ordinal order.</summary>
public enum BreakdownSort : byte { Value, Ratio, Measure }

/// <summary>One value of a breakdown as listed: every declared measure's sum (0 where none), the events, and each
/// declared ratio whose denominator sum reaches the minimum (others left out).</summary>
public sealed record BreakdownLine(string Value, Dictionary<string, decimal> Measures, long Actions, Dictionary<string, decimal> Ratios);

/// <summary>
/// Lists a user's breakdown rows (API.md, Breakdowns and ratio values): ratios computed with <see cref="RatioRule"/>, a
/// ratio whose denominator sum is below <see cref="MinDenominator"/> left out, and so is its value when sorting by it.
/// </summary>
public sealed record BreakdownQuery(BreakdownSort Sort, string SortName, bool Descending, decimal MinDenominator)
{
    public List<BreakdownLine> Apply(IEnumerable<BreakdownRow> rows, IReadOnlyCollection<string> measures,
        IReadOnlyDictionary<string, (string Numerator, string Denominator)> ratios)
    {
        var lines = new List<BreakdownLine>();
        foreach (var row in rows)
        {
            var sums = new Dictionary<string, decimal>(measures.Count, StringComparer.Ordinal);
            foreach (var m in measures) sums[m] = row.Measures.GetValueOrDefault(m);
            var values = new Dictionary<string, decimal>(StringComparer.Ordinal);
            foreach (var (name, (numerator, denominator)) in ratios)
            {
                var den = row.Measures.GetValueOrDefault(denominator);
                if (den < MinDenominator) continue;
                if (RatioRule.Of(row.Measures.GetValueOrDefault(numerator), den) is { } ratio) values[name] = ratio;
            }
            if (Sort == BreakdownSort.Ratio && !values.ContainsKey(SortName)) continue;
            lines.Add(new BreakdownLine(row.Value, sums, row.Actions, values));
        }
        lines.Sort(Compare);
        return lines;
    }

    private int Compare(BreakdownLine a, BreakdownLine b)
    {
        var by = Sort switch
        {
            BreakdownSort.Ratio => a.Ratios[SortName].CompareTo(b.Ratios[SortName]),
            BreakdownSort.Measure => a.Measures.GetValueOrDefault(SortName).CompareTo(b.Measures.GetValueOrDefault(SortName)),
            _ => 0,
        };
        if (by == 0) return Sort == BreakdownSort.Value && Descending ? string.CompareOrdinal(b.Value, a.Value) : string.CompareOrdinal(a.Value, b.Value);
        return Descending ? -by : by;
    }
}
