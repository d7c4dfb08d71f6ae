namespace Tally.Domain.Goals;

/// <summary>The goals' part of the saved user state (<see cref="Stats.UserStatsCodec"/>, format 6).</summary>
internal static class GoalCodec
{
    public static void Write(BinaryWriter w, GoalState goals)
    {
        w.Write(goals.Levels.Count);
        foreach (var entry in goals.Levels)
        {
            w.Write(entry.Goal);
            w.Write(entry.Instance);
            w.Write(entry.Level);
        }
        w.Write(goals.Unrecorded.Count);
        foreach (var c in goals.Unrecorded)
        {
            w.Write(c.Goal);
            w.Write(c.Level);
            w.Write(c.Target);
            w.Write(c.WindowKey);
            w.Write(c.CompletedAt.UtcTicks);
            w.Write((short)c.CompletedAt.Offset.TotalMinutes);
            w.Write(c.Value);
        }
        w.Write(goals.CheckpointWindow);
        w.Write(goals.CheckpointActions is not null);
        if (goals.CheckpointActions is { } actions)
        {
            w.Write(actions.Count);
            foreach (var (measure, count) in actions)
            {
                w.Write(measure);
                w.Write(count);
            }
        }
        w.Write(goals.PrunedBefore);
    }

    public static void Read(BinaryReader r, GoalState goals)
    {
        var levels = new List<GoalState.InstanceLevel>();
        for (var n = r.ReadInt32(); n > 0; n--) levels.Add(new GoalState.InstanceLevel(r.ReadString(), r.ReadInt64(), r.ReadByte()));
        var unrecorded = new List<GoalCompletion>();
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var goal = r.ReadString();
            var level = r.ReadInt32();
            var target = r.ReadDecimal();
            var windowKey = r.ReadString();
            var at = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(r.ReadInt16()));
            unrecorded.Add(new GoalCompletion(goal, level, target, windowKey, at, r.ReadDecimal()));
        }
        var window = r.ReadInt64();
        Dictionary<string, long>? actions = null;
        if (r.ReadBoolean())
        {
            actions = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var n = r.ReadInt32(); n > 0; n--) actions[r.ReadString()] = r.ReadInt64();
        }
        goals.Restore(levels, unrecorded, window, actions, r.ReadInt32());
    }
}
