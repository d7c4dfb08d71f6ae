namespace Tally.Domain.Stats;

/// <summary>Sums per measure and the action count for one period instance (a day, week, month or year).</summary>
public sealed class PeriodBucket
{
    public Dictionary<string, decimal> Sums { get; } = new(StringComparer.Ordinal);

    public long Actions { get; set; }

    public decimal SumOf(string measure) => Sums.TryGetValue(measure, out var sum) ? sum : 0m;

    internal void Add(IReadOnlyList<MeasureValue> measures)
    {
        Actions++;
        foreach (var m in measures)
            Sums[m.Name] = SumOf(m.Name) + m.Value;
    }
}
