using Tally.Domain.Boards;
using Tally.Domain.Checkpoints;

namespace Tally.Domain.Stats;

/// <summary>
/// Compact, versioned binary form of <see cref="UserStats"/> for grain persistence. A format
/// of our own keeps the domain free of serializer attributes and the stored rows small.
/// </summary>
public static class UserStatsCodec
{
    // 1: totals, buckets, streak runs. 2: + board cells and latest dimension values. 3: + each total's magnitude.
    // 4: + the checkpoint timeline.
    private const byte FormatVersion = 4;

    public static byte[] Encode(UserStats stats)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
        {
            w.Write(FormatVersion);
            w.Write(stats.LastEventId);
            w.Write(stats.Actions);
            w.Write(stats.Totals.Count);
            foreach (var (name, total) in stats.Totals)
            {
                w.Write(name);
                w.Write(total.Sum);
                w.Write(total.Actions);
                w.Write(total.Magnitude);
            }
            WriteBuckets(w, stats.Days);
            WriteBuckets(w, stats.Weeks);
            WriteBuckets(w, stats.Months);
            WriteBuckets(w, stats.Years);
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
        }
        return buffer.ToArray();
    }

    public static UserStats Decode(ReadOnlySpan<byte> bytes)
    {
        var stats = new UserStats();
        if (bytes.IsEmpty) return stats;
        using var r = new BinaryReader(new MemoryStream(bytes.ToArray()));
        var version = r.ReadByte();
        if (version is not (1 or 2 or 3 or FormatVersion))
            throw new InvalidDataException($"Unknown user stats format version {version}.");
        stats.LastEventId = r.ReadInt64();
        stats.Actions = r.ReadInt64();
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var name = r.ReadString();
            var sum = r.ReadDecimal();
            var actions = r.ReadInt64();
            // Before version 3 the magnitude was not kept; |sum| is the best lower bound.
            stats.Totals[name] = new MeasureTotal(sum, actions, version >= 3 ? r.ReadDecimal() : Math.Abs(sum));
        }
        ReadBuckets(r, stats.Days);
        ReadBuckets(r, stats.Weeks);
        ReadBuckets(r, stats.Months);
        ReadBuckets(r, stats.Years);
        var runs = new List<DayRun>();
        for (var n = r.ReadInt32(); n > 0; n--)
            runs.Add(new DayRun(r.ReadInt32(), r.ReadInt32()));
        stats.ActiveDays.Restore(runs);
        if (version == 1) return stats;
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var key = new BoardKey(r.ReadString(), r.ReadString(), r.ReadString(), (PeriodKind)r.ReadByte(), r.ReadInt32());
            stats.Cells[key] = new BoardCell(r.ReadDecimal(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
        }
        for (var n = r.ReadInt32(); n > 0; n--)
            stats.LatestDims[r.ReadString()] = r.ReadString();
        if (version >= 4 && r.ReadBoolean()) stats.Checkpoint = CheckpointCodec.Read(r);
        return stats;
    }

    private static void WriteBuckets(BinaryWriter w, Dictionary<int, PeriodBucket> buckets)
    {
        w.Write(buckets.Count);
        foreach (var (key, bucket) in buckets)
        {
            w.Write(key);
            w.Write(bucket.Actions);
            w.Write(bucket.Sums.Count);
            foreach (var (name, sum) in bucket.Sums)
            {
                w.Write(name);
                w.Write(sum);
            }
        }
    }

    private static void ReadBuckets(BinaryReader r, Dictionary<int, PeriodBucket> buckets)
    {
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var bucket = new PeriodBucket();
            buckets[r.ReadInt32()] = bucket;
            bucket.Actions = r.ReadInt64();
            for (var m = r.ReadInt32(); m > 0; m--)
                bucket.Sums[r.ReadString()] = r.ReadDecimal();
        }
    }
}
