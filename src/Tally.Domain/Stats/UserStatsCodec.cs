namespace Tally.Domain.Stats;

/// <summary>
/// Compact, versioned binary form of <see cref="UserStats"/> for grain persistence. A format
/// of our own keeps the domain free of serializer attributes and the stored rows small.
/// </summary>
public static class UserStatsCodec
{
    private const byte FormatVersion = 1;

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
        }
        return buffer.ToArray();
    }

    public static UserStats Decode(ReadOnlySpan<byte> bytes)
    {
        var stats = new UserStats();
        if (bytes.IsEmpty) return stats;
        using var r = new BinaryReader(new MemoryStream(bytes.ToArray()));
        var version = r.ReadByte();
        if (version != FormatVersion)
            throw new InvalidDataException($"Unknown user stats format version {version}.");
        stats.LastEventId = r.ReadInt64();
        stats.Actions = r.ReadInt64();
        for (var n = r.ReadInt32(); n > 0; n--)
            stats.Totals[r.ReadString()] = new MeasureTotal(r.ReadDecimal(), r.ReadInt64());
        ReadBuckets(r, stats.Days);
        ReadBuckets(r, stats.Weeks);
        ReadBuckets(r, stats.Months);
        ReadBuckets(r, stats.Years);
        var runs = new List<DayRun>();
        for (var n = r.ReadInt32(); n > 0; n--)
            runs.Add(new DayRun(r.ReadInt32(), r.ReadInt32()));
        stats.ActiveDays.Restore(runs);
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
