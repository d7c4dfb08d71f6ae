using Tally.Domain.Stats;

namespace Tally.Domain.Checkpoints;

/// <summary>The timeline's part of the saved user state (<see cref="UserStatsCodec"/>, format 4).</summary>
internal static class CheckpointCodec
{
    public static void Write(BinaryWriter w, CheckpointTimeline t)
    {
        w.Write(t.Era);
        w.Write(t.Entered);
        w.Write(t.TierName);
        w.Write(t.TierThreshold);
        WriteInstant(w, t.WindowStart);
        WriteInstant(w, t.WindowEnd);
        WriteInstant(w, t.DecidedUntil);
        w.Write(t.LateEvents);
        w.Write(t.HistoryStored);
        WriteSums(w, t.Sums);
        w.Write(t.Pending.Count);
        foreach (var p in t.Pending)
        {
            WriteInstant(w, p.OccurredAt);
            w.Write(p.Key);
            w.Write(p.Measures.Length);
            foreach (var m in p.Measures)
            {
                w.Write(m.Name);
                w.Write(m.Value);
            }
        }
        w.Write(t.History.Count);
        foreach (var h in t.History)
        {
            WriteInstant(w, h.At);
            w.Write((byte)h.Reason);
            w.Write(h.From is not null);
            if (h.From is not null) w.Write(h.From);
            w.Write(h.To);
            WriteInstant(w, h.WindowStart);
            WriteInstant(w, h.WindowEnd);
            WriteSums(w, h.Window);
        }
    }

    public static CheckpointTimeline Read(BinaryReader r)
    {
        var era = r.ReadInt32();
        var entered = r.ReadBoolean();
        var tierName = r.ReadString();
        var threshold = r.ReadDecimal();
        var windowStart = ReadInstant(r);
        var windowEnd = ReadInstant(r);
        var decidedUntil = ReadInstant(r);
        var late = r.ReadInt64();
        var stored = r.ReadInt32();
        var sums = ReadSums(r);
        var pending = new List<CheckpointTimeline.PendingEvent>();
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var at = ReadInstant(r);
            var key = r.ReadString();
            var measures = new MeasureValue[r.ReadInt32()];
            for (var i = 0; i < measures.Length; i++) measures[i] = new MeasureValue(r.ReadString(), r.ReadDecimal());
            pending.Add(new CheckpointTimeline.PendingEvent(at, key, measures));
        }
        var history = new List<TierEntry>();
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var at = ReadInstant(r);
            var reason = (TierReason)r.ReadByte();
            var from = r.ReadBoolean() ? r.ReadString() : null;
            var to = r.ReadString();
            history.Add(new TierEntry(at, reason, from, to, ReadInstant(r), ReadInstant(r), SmallSums.Of(ReadSums(r))));
        }
        var timeline = new CheckpointTimeline();
        timeline.Restore(era, entered, tierName, threshold, windowStart, windowEnd, decidedUntil, late, stored, sums, pending, history);
        return timeline;
    }

    private static void WriteInstant(BinaryWriter w, DateTimeOffset instant)
    {
        w.Write(instant.UtcTicks);
        w.Write((short)instant.Offset.TotalMinutes);
    }

    private static DateTimeOffset ReadInstant(BinaryReader r)
    {
        var ticks = r.ReadInt64();
        var offset = TimeSpan.FromMinutes(r.ReadInt16());
        return new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(offset);
    }

    private static void WriteSums(BinaryWriter w, IReadOnlyDictionary<string, decimal> sums)
    {
        w.Write(sums.Count);
        foreach (var (name, value) in sums)
        {
            w.Write(name);
            w.Write(value);
        }
    }

    private static Dictionary<string, decimal> ReadSums(BinaryReader r)
    {
        var sums = new Dictionary<string, decimal>(StringComparer.Ordinal);
        for (var n = r.ReadInt32(); n > 0; n--) sums[r.ReadString()] = r.ReadDecimal();
        return sums;
    }
}
