using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Domain.Time;

namespace Tally.Domain.Stats;

/// <summary>
/// One user's sums per value of each broken-down dimension (API.md, Breakdowns and ratio values): for every value
/// (a learner's topic), the events carrying it and the sum of every measure they carry, per period instance (all
/// time, each year, month, ISO week and day of the tenant's calendar). A user keeps at most <see cref="MaxValues"/>
/// values per dimension; later new values are counted under <see cref="Other"/> (decision 033), so the sums over
/// the values still add up to the user's totals for that dimension.
/// </summary>
public sealed class Breakdowns
{
    public const int MaxValues = 1000;

    /// <summary>The value that collects a user's values past <see cref="MaxValues"/>.</summary>
    public const string Other = "_other";

    /// <summary>How many measures a user's breakdowns can tell apart (slot 0 counts events): the tenant config refuses
    /// breakdowns with more declared measures.</summary>
    public const int MaxMeasures = 63;

    // Measure names in the order this user first carried them: slot 1 + their index. Each value's sums are one
    // series keyed by slot, period kind and instance, so a value costs one object and two arrays, not one per measure.
    private readonly List<string> _measures = new();
    private readonly Dictionary<string, Dictionary<string, SumSeries>> _dimensions = new(StringComparer.Ordinal);

    public bool IsEmpty => _dimensions.Count == 0;

    internal IReadOnlyList<string> MeasureNames => _measures;
    internal IReadOnlyDictionary<string, Dictionary<string, SumSeries>> Dimensions => _dimensions;

    /// <summary>Counts <paramref name="e"/> under the value it carries of each of <paramref name="dimensions"/>.</summary>
    public void Add(ValidEvent e, PeriodKeys keys, IReadOnlyList<string> dimensions)
    {
        foreach (var dimension in dimensions)
        {
            if (!e.TryGetDim(dimension, out var value)) continue;
            if (!_dimensions.TryGetValue(dimension, out var values)) _dimensions[dimension] = values = new(StringComparer.Ordinal);
            if (!values.TryGetValue(value, out var sums))
            {
                if (values.Count >= MaxValues && value != Other)
                {
                    value = Other;
                    values.TryGetValue(value, out sums);
                }
                if (sums is null) values[value] = sums = new SumSeries();
            }
            AddToEvery(sums, 0, keys, 1);
            foreach (var m in e.Measures) AddToEvery(sums, Slot(m.Name), keys, m.Value);
        }
    }

    /// <summary>Every value of a dimension with an event in the period instance, with its sums there.</summary>
    public IEnumerable<BreakdownRow> Of(string dimension, PeriodKind period, int periodKey)
    {
        if (!_dimensions.TryGetValue(dimension, out var values)) yield break;
        foreach (var (value, sums) in values)
        {
            var events = Composite(0, period, periodKey);
            if (!sums.Contains(events)) continue;
            var measures = new Dictionary<string, decimal>(StringComparer.Ordinal);
            for (var slot = 1; slot <= _measures.Count; slot++)
            {
                var key = Composite(slot, period, periodKey);
                if (sums.Contains(key)) measures[_measures[slot - 1]] = sums.SumOf(key);
            }
            yield return new BreakdownRow(value, measures, (long)sums.SumOf(events));
        }
    }

    /// <summary>Drops the sums of days, weeks and months past their grace on <paramref name="today"/>, as boards of those
    /// periods are (by default 35 days after a day or week ends, 400 after a month does); all-time and year sums stay.
    /// A user's breakdown is read for recent periods: keeping a year of daily sums per value would cost a learner
    /// with 200 topics several times the rest of its state.</summary>
    public void Prune(DateOnly today, BoardGrace grace)
    {
        var dayCutoff = today.AddDays(-grace.ShortDays);
        var monthCutoff = today.AddDays(-grace.LongDays);
        bool Stale(int key)
        {
            var (_, kind, periodKey) = Split(key);
            return kind switch
            {
                PeriodKind.Day or PeriodKind.Week => Periods.IsClosed(kind, periodKey, dayCutoff),
                PeriodKind.Month => Periods.IsClosed(kind, periodKey, monthCutoff),
                _ => false,
            };
        }
        foreach (var values in _dimensions.Values)
            foreach (var sums in values.Values)
                sums.RemoveWhere(Stale);
    }

    /// <summary>Bytes the sums hold (arrays), for the memory bench.</summary>
    public long SumBytes => _dimensions.Values.SelectMany(v => v.Values).Sum(s => s.AllocatedBytes);

    /// <summary>The slot of a measure (1 + its index); a measure past <see cref="MaxMeasures"/> (refused by the config) shares the last.</summary>
    internal int Slot(string measure)
    {
        var index = _measures.IndexOf(measure);
        if (index < 0 && _measures.Count < MaxMeasures)
        {
            _measures.Add(measure);
            index = _measures.Count - 1;
        }
        return index < 0 ? MaxMeasures : index + 1;
    }

    internal Dictionary<string, SumSeries> ValuesOf(string dimension)
    {
        if (!_dimensions.TryGetValue(dimension, out var values)) _dimensions[dimension] = values = new(StringComparer.Ordinal);
        return values;
    }

    // A slot's period instance as one int: the slot in bits 25-30, the kind in bits 22-24 and the instance's key (at
    // most 3,652,059, a day number) in bits 0-21.
    internal static int Composite(int slot, PeriodKind kind, int key) => (slot << 25) | ((int)kind << 22) | key;

    internal static (int Slot, PeriodKind Kind, int Key) Split(int composite) =>
        (composite >> 25, (PeriodKind)((composite >> 22) & 7), composite & 0x3FFFFF);

    /// <summary>Adds to the all-time, year, month, week and day instances the keys name.</summary>
    private static void AddToEvery(SumSeries series, int slot, PeriodKeys keys, decimal value)
    {
        series.Add(Composite(slot, PeriodKind.AllTime, 0), value);
        series.Add(Composite(slot, PeriodKind.Year, keys.Year), value);
        series.Add(Composite(slot, PeriodKind.Month, keys.Month), value);
        series.Add(Composite(slot, PeriodKind.Week, keys.Week), value);
        series.Add(Composite(slot, PeriodKind.Day, keys.Day), value);
    }
}

/// <summary>One value of a broken-down dimension in one period instance: the sum of each measure its events carried
/// (only those carried) and how many events carried it.</summary>
public sealed record BreakdownRow(string Value, Dictionary<string, decimal> Measures, long Actions);
