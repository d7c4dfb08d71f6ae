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
    /// <summary>Per measure: all-time totals and the sums per day, ISO week, month and year.</summary>
    internal Dictionary<string, MeasureHistory> Measures { get; } = new(StringComparer.Ordinal);

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

    /// <summary>The state of a user removed from everything derived (decision 012): no actions, sums or cells;
    /// only the watermark, so the log's events up to <paramref name="throughEventId"/> are never applied again.</summary>
    public static UserStats Erased(long throughEventId) => new() { LastEventId = throughEventId };

    /// <summary>Applies one durable event (log id <paramref name="eventId"/>, tenant-local day <paramref name="day"/>).
    /// With a plan, board and rollup cells are updated too and the keys of the cells touched are appended to
    /// <paramref name="touched"/>.</summary>
    public void Apply(long eventId, DateOnly day, ValidEvent e, BoardPlan? plan = null, ICollection<BoardKey>? touched = null)
    {
        Actions++;
        if (eventId > LastEventId) LastEventId = eventId;
        int dayKey = TenantCalendar.DayKey(day), weekKey = TenantCalendar.WeekKey(day), monthKey = TenantCalendar.MonthKey(day), yearKey = TenantCalendar.YearKey(day);
        foreach (var m in e.Measures)
        {
            if (!Measures.TryGetValue(m.Name, out var history)) Measures[m.Name] = history = new MeasureHistory();
            history.Add(m.Value, dayKey, weekKey, monthKey, yearKey);
        }
        ActiveDays.Add(day.DayNumber);
        foreach (var dim in e.Dims)
        {
            // One string instance per value the user has: cell keys share it instead of holding each event's copy.
            if (!LatestDims.TryGetValue(dim.Name, out var latest) || latest != dim.Value) LatestDims[dim.Name] = dim.Value;
        }
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
            var magnitude = Measures.TryGetValue(m.Name, out var history) ? history.Magnitude : 0m;
            if (!Config.MeasureBounds.FitsUserSum(magnitude + pending.GetValueOrDefault(m.Name), Math.Abs(m.Value)))
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
                else value = LatestDims.GetValueOrDefault(scope) is { } shared && shared == value ? shared : value;
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

    /// <summary>Drops day and week sums that ended more than <paramref name="keepDays"/> before <paramref name="today"/>,
    /// and board cells past their <paramref name="grace"/> (their boards are then read from snapshots).</summary>
    public void Prune(DateOnly today, int keepDays, BoardGrace grace)
    {
        var cutoff = today.DayNumber - keepDays;
        foreach (var history in Measures.Values)
        {
            history.Days.RemoveWhere(key => key < cutoff);
            history.Weeks.RemoveWhere(key => TenantCalendar.WeekStart(key).DayNumber + 6 < cutoff);
        }
        List<BoardKey>? staleCells = null;
        foreach (var key in Cells.Keys)
            if (grace.IsEvicted(key, today))
                (staleCells ??= new()).Add(key);
        if (staleCells is null) return;
        foreach (var key in staleCells) Cells.Remove(key);
        Cells.TrimExcess(); // a dictionary keeps its capacity otherwise: pruned cells would still cost memory
    }

    /// <summary>Stats for the periods that contain <paramref name="day"/>; streaks as of that day.</summary>
    public UserStatsView View(DateOnly day)
    {
        int dayKey = TenantCalendar.DayKey(day), weekKey = TenantCalendar.WeekKey(day), monthKey = TenantCalendar.MonthKey(day), yearKey = TenantCalendar.YearKey(day);
        var measures = new Dictionary<string, MeasurePeriods>(Measures.Count, StringComparer.Ordinal);
        foreach (var (name, h) in Measures)
            measures[name] = new MeasurePeriods(h.Sum, h.Years.SumOf(yearKey), h.Months.SumOf(monthKey), h.Weeks.SumOf(weekKey), h.Days.SumOf(dayKey), h.Actions);
        var last = ActiveDays.LastDay;
        return new UserStatsView(
            Actions,
            last is { } d ? DateOnly.FromDayNumber(d) : null,
            measures,
            ActiveDays.Current(day.DayNumber),
            ActiveDays.Longest(day.DayNumber));
    }

    /// <summary>Bytes the sums hold (arrays), for the memory bench.</summary>
    public long SumBytes => Measures.Values.Sum(h => h.Days.AllocatedBytes + h.Weeks.AllocatedBytes + h.Months.AllocatedBytes + h.Years.AllocatedBytes);
}

/// <summary>One measure of one user: the all-time sum, events and sum of magnitudes (which bounds every period sum
/// whatever the signs), and the sums per period instance.</summary>
internal sealed class MeasureHistory
{
    public decimal Sum;
    public long Actions;
    public decimal Magnitude;
    public readonly SumSeries Days = new();
    public readonly SumSeries Weeks = new();
    public readonly SumSeries Months = new();
    public readonly SumSeries Years = new();

    public void Add(decimal value, int dayKey, int weekKey, int monthKey, int yearKey)
    {
        Sum += value;
        Actions++;
        Magnitude += Math.Abs(value);
        Days.Add(dayKey, value);
        Weeks.Add(weekKey, value);
        Months.Add(monthKey, value);
        Years.Add(yearKey, value);
    }
}
