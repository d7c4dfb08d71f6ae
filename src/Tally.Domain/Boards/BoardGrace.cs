namespace Tally.Domain.Boards;

/// <summary>
/// How long boards and rollups of ended periods stay exact (in users' cells and in shards) so late events
/// still move them: <paramref name="ShortDays"/> after a day or week ends, <paramref name="LongDays"/> after a
/// month or year ends. After that a board is read from its last snapshot. Day and week boards are many
/// (365 a year per scope), so their grace is short; months and years keep the seeds' keys (2025) exact.
/// </summary>
public readonly record struct BoardGrace(int ShortDays, int LongDays)
{
    public int DaysFor(PeriodKind kind) => kind is PeriodKind.Day or PeriodKind.Week ? ShortDays : LongDays;

    /// <summary>Whether a board of this key is past its grace on <paramref name="today"/> (all-time boards never are). A
    /// goal instance's cells go as soon as the period ends: users per level of an ended instance are counted from the
    /// recorded completions, and a user's state keeps only the cells of open instances.</summary>
    public bool IsEvicted(in BoardKey key, DateOnly today) =>
        Periods.IsClosed(key.Period, key.PeriodKey, key.Measure.StartsWith(Goals.GoalRule.CellPrefix, StringComparison.Ordinal) ? today : today.AddDays(-DaysFor(key.Period)));
}
