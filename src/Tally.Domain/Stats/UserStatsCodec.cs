using Tally.Domain.Boards;
using Tally.Domain.Checkpoints;
using Tally.Domain.Goals;

namespace Tally.Domain.Stats;

/// <summary>
/// Compact, versioned binary form of <see cref="UserStats"/> for grain persistence. A format
/// of our own keeps the domain free of serializer attributes and the stored rows small.
/// </summary>
public static class UserStatsCodec
{
    // 1: totals, buckets, streak runs. 2: + board cells and latest dimension values. 3: + each total's magnitude.
    // 4: + the checkpoint timeline. 5: per measure its totals and its sums per period (no per-bucket objects).
    // 6: + per measure the event counts actions goals need, and the goals' levels and unrecorded completions.
    // 7: + the breakdowns' sums per dimension value.
    private const byte FormatVersion = 7;

    /// <summary>The format <see cref="Encode"/> writes.</summary>
    public const byte LatestFormat = FormatVersion;

    public static byte[] Encode(UserStats stats)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
        {
            w.Write(FormatVersion);
            w.Write(stats.LastEventId);
            w.Write(stats.Actions);
            w.Write(stats.Measures.Count);
            foreach (var (name, history) in stats.Measures)
            {
                w.Write(name);
                w.Write(history.Sum);
                w.Write(history.Actions);
                w.Write(history.Magnitude);
                WriteSeries(w, history.Days);
                WriteSeries(w, history.Weeks);
                WriteSeries(w, history.Months);
                WriteSeries(w, history.Years);
                WriteCounts(w, history);
            }
            w.Write(stats.ActiveDays.Runs.Count);
            foreach (var run in stats.ActiveDays.Runs)
            {
                w.Write(run.Start);
                w.Write(run.End);
            }
            w.Write(stats.Cells.Count);
            foreach (var (key, cell) in stats.Cells)
            {
                w.Write(key.Measure);
                w.Write(key.Dimension);
                w.Write(key.Value);
                w.Write((byte)key.Period);
                w.Write(key.PeriodKey);
                w.Write(cell.Score);
                w.Write(cell.Actions);
                w.Write(cell.Reached);
                w.Write(cell.Version);
            }
            w.Write(stats.LatestDims.Count);
            foreach (var (name, value) in stats.LatestDims)
            {
                w.Write(name);
                w.Write(value);
            }
            w.Write(stats.Checkpoint is not null);
            if (stats.Checkpoint is { } timeline) CheckpointCodec.Write(w, timeline);
            GoalCodec.Write(w, stats.Goals);
            if (stats.HasBreakdowns) WriteBreakdowns(w, stats.Breakdowns);
            else
            {
                w.Write(0); // no measure names
                w.Write(0); // no dimensions
            }
        }
        return buffer.ToArray();
    }

    public static UserStats Decode(ReadOnlySpan<byte> bytes)
    {
        var stats = new UserStats();
        if (bytes.IsEmpty) return stats;
        using var r = new BinaryReader(new MemoryStream(bytes.ToArray()));
        var version = r.ReadByte();
        if (version is < 1 or > FormatVersion)
            throw new InvalidDataException($"Unknown user stats format version {version}.");
        stats.LastEventId = r.ReadInt64();
        stats.Actions = r.ReadInt64();
        if (version >= 5) ReadMeasures(r, stats, version);
        else ReadBucketsOfOldFormats(r, stats, version);
        var runs = new List<DayRun>();
        for (var n = r.ReadInt32(); n > 0; n--)
            runs.Add(new DayRun(r.ReadInt32(), r.ReadInt32()));
        stats.ActiveDays.Restore(runs);
        if (version == 1) return stats;
        // Cell keys repeat a few strings (measure, dimension, value) many times: one instance of each.
        var strings = new Dictionary<string, string>(StringComparer.Ordinal);
        string Shared(string text) => strings.TryGetValue(text, out var known) ? known : strings[text] = text;
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var key = new BoardKey(Shared(r.ReadString()), Shared(r.ReadString()), Shared(r.ReadString()), (PeriodKind)r.ReadByte(), r.ReadInt32());
            stats.Cells[key] = new BoardCell(r.ReadDecimal(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
        }
        for (var n = r.ReadInt32(); n > 0; n--)
            stats.LatestDims[r.ReadString()] = r.ReadString();
        if (version >= 4 && r.ReadBoolean()) stats.Checkpoint = CheckpointCodec.Read(r);
        if (version >= 6) GoalCodec.Read(r, stats.Goals);
        if (version >= 7) ReadBreakdowns(r, stats);
        return stats;
    }

    private static void WriteBreakdowns(BinaryWriter w, Breakdowns breakdowns)
    {
        w.Write(breakdowns.MeasureNames.Count);
        foreach (var name in breakdowns.MeasureNames) w.Write(name);
        w.Write(breakdowns.Dimensions.Count);
        foreach (var (dimension, values) in breakdowns.Dimensions)
        {
            w.Write(dimension);
            w.Write(values.Count);
            foreach (var (value, sums) in values)
            {
                w.Write(value);
                WriteSeries(w, sums);
            }
        }
    }

    private static void ReadBreakdowns(BinaryReader r, UserStats stats)
    {
        var names = new string[r.ReadInt32()];
        for (var n = 0; n < names.Length; n++) names[n] = r.ReadString();
        var dimensions = r.ReadInt32();
        if (names.Length == 0 && dimensions == 0) return; // none kept: no breakdown object either
        var breakdowns = stats.Breakdowns;
        foreach (var name in names) breakdowns.Slot(name);
        for (var d = dimensions; d > 0; d--)
        {
            var values = breakdowns.ValuesOf(r.ReadString());
            for (var v = r.ReadInt32(); v > 0; v--)
            {
                var sums = new SumSeries();
                values[r.ReadString()] = sums;
                ReadSeries(r, sums);
            }
        }
    }

    private static void WriteSeries(BinaryWriter w, SumSeries series)
    {
        w.Write(series.Count);
        foreach (var (key, sum) in series.Entries())
        {
            w.Write(key);
            w.Write(sum);
        }
    }

    private static void ReadSeries(BinaryReader r, SumSeries series)
    {
        for (var n = r.ReadInt32(); n > 0; n--) series.Add(r.ReadInt32(), r.ReadDecimal());
    }

    /// <summary>Which event-count series a measure keeps (a <see cref="PeriodSet"/>), then each.</summary>
    private static void WriteCounts(BinaryWriter w, MeasureHistory history)
    {
        var present = (history.DayCounts is null ? PeriodSet.None : PeriodSet.Day) | (history.WeekCounts is null ? PeriodSet.None : PeriodSet.Week)
            | (history.MonthCounts is null ? PeriodSet.None : PeriodSet.Month) | (history.YearCounts is null ? PeriodSet.None : PeriodSet.Year);
        w.Write((byte)present);
        if (history.DayCounts is { } days) WriteSeries(w, days);
        if (history.WeekCounts is { } weeks) WriteSeries(w, weeks);
        if (history.MonthCounts is { } months) WriteSeries(w, months);
        if (history.YearCounts is { } years) WriteSeries(w, years);
    }

    private static void ReadCounts(BinaryReader r, MeasureHistory history)
    {
        var present = (PeriodSet)r.ReadByte();
        SumSeries? Read(PeriodSet which)
        {
            if ((present & which) == 0) return null;
            var series = new SumSeries();
            ReadSeries(r, series);
            return series;
        }
        history.DayCounts = Read(PeriodSet.Day);
        history.WeekCounts = Read(PeriodSet.Week);
        history.MonthCounts = Read(PeriodSet.Month);
        history.YearCounts = Read(PeriodSet.Year);
    }

    private static void ReadMeasures(BinaryReader r, UserStats stats, byte version)
    {
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var history = new MeasureHistory();
            stats.Measures[r.ReadString()] = history;
            history.Sum = r.ReadDecimal();
            history.Actions = r.ReadInt64();
            history.Magnitude = r.ReadDecimal();
            ReadSeries(r, history.Days);
            ReadSeries(r, history.Weeks);
            ReadSeries(r, history.Months);
            ReadSeries(r, history.Years);
            if (version >= 6) ReadCounts(r, history);
        }
    }

    /// <summary>Formats 1-4: totals, then day, week, month and year buckets of every measure together.</summary>
    private static void ReadBucketsOfOldFormats(BinaryReader r, UserStats stats, byte version)
    {
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var history = new MeasureHistory();
            stats.Measures[r.ReadString()] = history;
            history.Sum = r.ReadDecimal();
            history.Actions = r.ReadInt64();
            // Before format 3 the magnitude was not kept; |sum| is the best lower bound.
            history.Magnitude = version >= 3 ? r.ReadDecimal() : Math.Abs(history.Sum);
        }
        foreach (var pick in new Func<MeasureHistory, SumSeries>[] { h => h.Days, h => h.Weeks, h => h.Months, h => h.Years })
        {
            for (var n = r.ReadInt32(); n > 0; n--)
            {
                var key = r.ReadInt32();
                r.ReadInt64(); // the bucket's action count, no longer kept
                for (var m = r.ReadInt32(); m > 0; m--)
                {
                    var name = r.ReadString();
                    var sum = r.ReadDecimal();
                    if (!stats.Measures.TryGetValue(name, out var history)) stats.Measures[name] = history = new MeasureHistory();
                    pick(history).Add(key, sum);
                }
            }
        }
    }
}
