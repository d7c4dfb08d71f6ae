using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Domain.Time;

namespace Tally.Domain.Stats;

/// <summary>
/// One user's live statistics: all-time totals, sums per day / ISO week / month / year in the
/// tenant's time zone, and active days for streaks. Events may arrive in any order; each lands in
/// its own periods. Applying is idempotent only through <see cref="LastEventId"/>: callers apply
/// each durable event once, in log order.
/// </summary>
public sealed class UserStats
{
    internal Dictionary<string, MeasureTotal> Totals { get; } = new(StringComparer.Ordinal);
    internal Dictionary<int, PeriodBucket> Days { get; } = new();
    internal Dictionary<int, PeriodBucket> Weeks { get; } = new();
    internal Dictionary<int, PeriodBucket> Months { get; } = new();
    internal Dictionary<int, PeriodBucket> Years { get; } = new();

    /// <summary>The user's standing on every board and rollup instance the tenant's plan tracks.</summary>
    public Dictionary<BoardKey, BoardCell> Cells { get; } = new();

    /// <summary>The latest value seen for each dimension: the scope value of the user's ranks in stats.</summary>
    public Dictionary<string, string> LatestDims { get; } = new(StringComparer.Ordinal);

    public ActiveDays ActiveDays { get; } = new();

    /// <summary>The user's tier timeline, when the tenant has checkpoints (driven by the grain, saved with the stats).</summary>
    public Checkpoints.CheckpointTimeline? Checkpoint { get; set; }

    public long Actions { get; internal set; }

    /// <summary>Id of the last event applied: the replay watermark.</summary>
    public long LastEventId { get; internal set; }

    public bool IsEmpty => Actions == 0;

    /// <summary>Applies one durable event (log id <paramref name="eventId"/>, tenant-local day <paramref name="day"/>).
    /// With a plan, board and rollup cells are updated too and the keys of the cells touched are appended to
    /// <paramref name="touched"/>.</summary>
    public void Apply(long eventId, DateOnly day, ValidEvent e, BoardPlan? plan = null, ICollection<BoardKey>? touched = null)
    {
        Actions++;
        if (eventId > LastEventId) LastEventId = eventId;
        foreach (var m in e.Measures)
        {
            Totals.TryGetValue(m.Name, out var total);
            Totals[m.Name] = new MeasureTotal(total.Sum + m.Value, total.Actions + 1, total.Magnitude + Math.Abs(m.Value));
        }
        Bucket(Days, TenantCalendar.DayKey(day)).Add(e.Measures);
        Bucket(Weeks, TenantCalendar.WeekKey(day)).Add(e.Measures);
        Bucket(Months, TenantCalendar.MonthKey(day)).Add(e.Measures);
        Bucket(Years, TenantCalendar.YearKey(day)).Add(e.Measures);
        ActiveDays.Add(day.DayNumber);
        foreach (var dim in e.Dims) LatestDims[dim.Name] = dim.Value;
        if (plan is not null && !plan.IsEmpty) ApplyCells(eventId, day, e, plan, touched);
    }

    /// <summary>
    /// Whether applying <paramref name="e"/> keeps every sum it feeds within <see cref="Config.MeasureBounds.MaxAbsUserSum"/>:
    /// the sum of a measure's magnitudes bounds its total, every period sum and every board cell. Events of
    /// one call are checked together before any is committed: <paramref name="pending"/> holds the
    /// magnitudes the earlier ones add. The measure at fault is returned in <paramref name="measure"/>.
    /// </summary>
    public bool FitsBounds(ValidEvent e, Dictionary<string, decimal> pending, out string measure)
    {
        foreach (var m in e.Measures)
        {
            Totals.TryGetValue(m.Name, out var total);
            if (!Config.MeasureBounds.FitsUserSum(total.Magnitude + pending.GetValueOrDefault(m.Name), Math.Abs(m.Value)))
            {
                measure = m.Name;
                return false;
            }
        }
        foreach (var m in e.Measures) pending[m.Name] = pending.GetValueOrDefault(m.Name) + Math.Abs(m.Value);
        measure = "";
        return true;
    }

    private void ApplyCells(long eventId, DateOnly day, ValidEvent e, BoardPlan plan, ICollection<BoardKey>? touched)
    {
        foreach (var m in e.Measures)
        {
            foreach (var scope in plan.TrackedScopes)
            {
                string value;
                if (scope == BoardKey.Global) value = "";
                else if (!e.TryGetDim(scope, out value)) continue;
                foreach (var period in plan.TrackedPeriods)
                {
                    if (!plan.Tracks(m.Name, scope, period)) continue;
                    var key = new BoardKey(m.Name, scope, value, period, Periods.KeyOf(period, day));
                    Cells.TryGetValue(key, out var cell);
                    Cells[key] = cell.Add(m.Value, eventId);
                    touched?.Add(key);
                }
            }
        }
    }

    /// <summary>Drops day and week buckets that ended more than <paramref name="keepDays"/> before <paramref name="today"/>.</summary>
    public void Prune(DateOnly today, int keepDays)
    {
        var cutoff = today.DayNumber - keepDays;
        List<int>? stale = null;
        foreach (var key in Days.Keys)
            if (key < cutoff) (stale ??= new()).Add(key);
        if (stale is not null) foreach (var key in stale) Days.Remove(key);
        stale = null;
        foreach (var key in Weeks.Keys)
            if (TenantCalendar.WeekStart(key).DayNumber + 6 < cutoff) (stale ??= new()).Add(key);
        if (stale is not null) foreach (var key in stale) Weeks.Remove(key);
        List<BoardKey>? staleCells = null;
        foreach (var key in Cells.Keys)
            if (key.Period != PeriodKind.AllTime && Periods.LastDay(key.Period, key.PeriodKey).DayNumber < cutoff)
                (staleCells ??= new()).Add(key);
        if (staleCells is not null) foreach (var key in staleCells) Cells.Remove(key);
    }

    /// <summary>Stats for the periods that contain <paramref name="day"/>; streaks as of that day.</summary>
    public UserStatsView View(DateOnly day)
    {
        var dayBucket = Days.GetValueOrDefault(TenantCalendar.DayKey(day));
        var weekBucket = Weeks.GetValueOrDefault(TenantCalendar.WeekKey(day));
        var monthBucket = Months.GetValueOrDefault(TenantCalendar.MonthKey(day));
        var yearBucket = Years.GetValueOrDefault(TenantCalendar.YearKey(day));
        var measures = new Dictionary<string, MeasurePeriods>(Totals.Count, StringComparer.Ordinal);
        foreach (var (name, total) in Totals)
        {
            measures[name] = new MeasurePeriods(
                total.Sum,
                yearBucket?.SumOf(name) ?? 0m,
                monthBucket?.SumOf(name) ?? 0m,
                weekBucket?.SumOf(name) ?? 0m,
                dayBucket?.SumOf(name) ?? 0m,
                total.Actions);
        }
        var last = ActiveDays.LastDay;
        return new UserStatsView(
            Actions,
            last is { } d ? DateOnly.FromDayNumber(d) : null,
            measures,
            ActiveDays.Current(day.DayNumber),
            ActiveDays.Longest(day.DayNumber));
    }

    private static PeriodBucket Bucket(Dictionary<int, PeriodBucket> buckets, int key)
    {
        if (!buckets.TryGetValue(key, out var bucket))
            buckets[key] = bucket = new PeriodBucket();
        return bucket;
    }
}

/// <summary>A measure's all-time sum, events and sum of magnitudes (which bounds every period sum, whatever the signs).</summary>
internal readonly record struct MeasureTotal(decimal Sum, long Actions, decimal Magnitude);
