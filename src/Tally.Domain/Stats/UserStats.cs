using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Domain.Goals;
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

    /// <summary>Levels reached in the tenant's goals and the completions not recorded yet.</summary>
    public GoalState Goals { get; } = new();

    /// <summary>Sums per value of the tenant's broken-down dimensions (a learner's topics); made at the first use, so a
    /// tenant without breakdowns pays nothing per user.</summary>
    public Breakdowns Breakdowns => _breakdowns ??= new();
    private Breakdowns? _breakdowns;

    /// <summary>Whether any breakdown sum is kept.</summary>
    public bool HasBreakdowns => _breakdowns is { IsEmpty: false };

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
        var keys = PeriodKeys.Of(day);
        var goals = plan?.Goals ?? GoalPlan.None;
        foreach (var m in e.Measures)
        {
            if (!Measures.TryGetValue(m.Name, out var history)) Measures[m.Name] = history = new MeasureHistory();
            history.Add(m.Value, keys, goals.IsEmpty ? PeriodSet.None : goals.CountsOf(m.Name));
        }
        ActiveDays.Add(day.DayNumber);
        foreach (var dim in e.Dims)
        {
            // One string instance per value the user has: cell keys share it instead of holding each event's copy.
            if (!LatestDims.TryGetValue(dim.Name, out var latest) || latest != dim.Value) LatestDims[dim.Name] = dim.Value;
        }
        if (plan is { Breakdowns.Count: > 0 }) Breakdowns.Add(e, keys, plan.Breakdowns);
        if (plan is not null && !plan.IsEmpty) ApplyCells(eventId, keys, e, plan, touched);
        if (!goals.IsEmpty) Goals.OnApplied(this, eventId, keys, e, goals, touched);
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

    private void ApplyCells(long eventId, PeriodKeys keys, ValidEvent e, BoardPlan plan, ICollection<BoardKey>? touched)
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
                    var key = new BoardKey(m.Name, scope, value, period, keys.Of(period));
                    Cells.TryGetValue(key, out var cell);
                    Cells[key] = cell.Add(m.Value, eventId);
                    touched?.Add(key);
                }
            }
        }
    }

    /// <summary>Drops day and week sums that ended more than <paramref name="keepDays"/> before <paramref name="today"/>,
    /// and board cells past their <paramref name="grace"/> (their boards are then read from snapshots).</summary>
    public void Prune(DateOnly today, int keepDays, BoardGrace grace, GoalPlan? goals = null)
    {
        var cutoff = today.DayNumber - keepDays;
        foreach (var history in Measures.Values)
        {
            history.Days.RemoveWhere(key => key < cutoff);
            history.Weeks.RemoveWhere(key => TenantCalendar.WeekStart(key).DayNumber + 6 < cutoff);
            history.DayCounts?.RemoveWhere(key => key < cutoff);
            history.WeekCounts?.RemoveWhere(key => TenantCalendar.WeekStart(key).DayNumber + 6 < cutoff);
        }
        if (_breakdowns is { IsEmpty: false }) _breakdowns.Prune(today, grace);
        if (goals is { IsEmpty: false } || !Goals.IsEmpty)
            Goals.Prune(cutoff, today.AddDays(-grace.ShortDays), goals ?? GoalPlan.None, Checkpoint is { Entered: true } timeline ? timeline.WindowStart.UtcTicks : 0);
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
    public long SumBytes => Measures.Values.Sum(h => h.AllocatedBytes) + (_breakdowns?.SumBytes ?? 0);
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

    // Events per period instance, kept only for the periods an actions goal on this measure needs (from when it exists):
    // counts per day for every measure would double the state of a year of daily events.
    public SumSeries? DayCounts, WeekCounts, MonthCounts, YearCounts;

    public void Add(decimal value, PeriodKeys keys, PeriodSet counted)
    {
        Sum += value;
        Actions++;
        Magnitude += Math.Abs(value);
        Days.Add(keys.Day, value);
        Weeks.Add(keys.Week, value);
        Months.Add(keys.Month, value);
        Years.Add(keys.Year, value);
        if (counted == PeriodSet.None) return;
        if ((counted & PeriodSet.Day) != 0) (DayCounts ??= new()).Add(keys.Day, 1);
        if ((counted & PeriodSet.Week) != 0) (WeekCounts ??= new()).Add(keys.Week, 1);
        if ((counted & PeriodSet.Month) != 0) (MonthCounts ??= new()).Add(keys.Month, 1);
        if ((counted & PeriodSet.Year) != 0) (YearCounts ??= new()).Add(keys.Year, 1);
    }

    public SumSeries SeriesOf(PeriodKind period) => period switch
    {
        PeriodKind.Year => Years,
        PeriodKind.Month => Months,
        PeriodKind.Week => Weeks,
        _ => Days,
    };

    public SumSeries? CountsOf(PeriodKind period) => period switch
    {
        PeriodKind.Year => YearCounts,
        PeriodKind.Month => MonthCounts,
        PeriodKind.Week => WeekCounts,
        _ => DayCounts,
    };

    public long AllocatedBytes => Days.AllocatedBytes + Weeks.AllocatedBytes + Months.AllocatedBytes + Years.AllocatedBytes
        + (DayCounts?.AllocatedBytes ?? 0) + (WeekCounts?.AllocatedBytes ?? 0) + (MonthCounts?.AllocatedBytes ?? 0) + (YearCounts?.AllocatedBytes ?? 0);
}
