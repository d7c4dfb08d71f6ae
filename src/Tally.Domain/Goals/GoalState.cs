using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Domain.Stats;

namespace Tally.Domain.Goals;

/// <summary>
/// One user's goals (API.md, Goals): the highest level completed in each goal instance, the completions not yet recorded,
/// and the event counts of the current checkpoint window for actions goals. Progress itself is read from the state the
/// user's stats already keep (period sums, event counts, streaks, the checkpoint window's sums).
/// <para>
/// Each applied event is evaluated against the instance of every goal whose window contains it: level n completes at the
/// first applied event after which progress reaches target n (and, for ratio goals, the denominator's sum reaches the
/// minimum), dated at that event, once per (goal, level, instance), and is never revoked. A goal added later is evaluated
/// from the user's next applied event on, with the progress the user already has.
/// </para>
/// </summary>
public sealed class GoalState
{
    // The highest level completed per (goal, instance) of the instances that can still change: a few per goal (the
    // current period and the last, the current checkpoint window), so a list searched in order beats a dictionary.
    // Calendar instances are period keys; checkpoint instances the window's start in UTC ticks.
    private readonly List<InstanceLevel> _levels = new();
    private readonly List<GoalCompletion> _unrecorded = new();
    private Dictionary<string, long>? _checkpointActions;

    /// <summary>Completions not recorded in storage yet, oldest first (bookkeeping of the grain, saved with the state).</summary>
    public IReadOnlyList<GoalCompletion> Unrecorded => _unrecorded;

    /// <summary>The checkpoint window whose event counts <see cref="CheckpointActions"/> holds (its start, UTC ticks).</summary>
    public long CheckpointWindow { get; private set; }

    /// <summary>Events per measure counted in <see cref="CheckpointWindow"/> (for actions goals on the checkpoint window).</summary>
    public IReadOnlyDictionary<string, long>? CheckpointActions => _checkpointActions;

    /// <summary>Day number before which day and week instances are no longer evaluated: their sums were pruned.</summary>
    public int PrunedBefore { get; internal set; }

    /// <summary>The instances with a level, for the codec.</summary>
    public IReadOnlyList<InstanceLevel> Levels => _levels;

    /// <summary>Level <paramref name="Level"/> is the highest completed in instance <paramref name="Instance"/> of goal <paramref name="Goal"/>.</summary>
    public readonly record struct InstanceLevel(string Goal, long Instance, byte Level);

    public bool IsEmpty => _levels.Count == 0 && _unrecorded.Count == 0 && _checkpointActions is null && PrunedBefore == 0;

    /// <summary>Levels completed in an instance (0 if none).</summary>
    public int LevelOf(string goal, long instance) => IndexOf(goal, instance) is var i and >= 0 ? _levels[i].Level : 0;

    private int IndexOf(string goal, long instance)
    {
        for (var i = 0; i < _levels.Count; i++)
            if (_levels[i].Instance == instance && _levels[i].Goal == goal) return i;
        return -1;
    }

    /// <summary>The first <paramref name="count"/> of <see cref="Unrecorded"/> are stored.</summary>
    public void MarkRecorded(int count) => _unrecorded.RemoveRange(0, Math.Min(count, _unrecorded.Count));

    /// <summary>Evaluates calendar and streak goals after <paramref name="e"/> was applied to <paramref name="stats"/>; a level
    /// reached in a calendar instance also sets the goal's cell (the user's level there) for the board shards to count.</summary>
    internal void OnApplied(UserStats stats, long eventId, PeriodKeys keys, ValidEvent e, GoalPlan plan, ICollection<BoardKey>? touched)
    {
        foreach (var rule in plan.Calendar)
        {
            var instance = keys.Of(rule.Period);
            // A day or week whose sums were pruned cannot be evaluated again: its levels are gone too.
            if (rule.Period == PeriodKind.Day && instance < PrunedBefore) continue;
            if (rule.Period == PeriodKind.Week && Time.TenantCalendar.WeekStart(instance).DayNumber + 6 < PrunedBefore) continue;
            var (progress, denominator) = GoalProgress.Calendar(rule, stats, instance);
            var reached = Reach(rule, instance, progress, denominator, e.OccurredAt,
                static (r, key) => Periods.FormatKey(r.Period, (int)key));
            if (reached == 0) continue;
            var cell = rule.CellKey(instance);
            stats.Cells[cell] = new BoardCell(reached, 0, eventId, eventId);
            touched?.Add(cell);
        }
    }

    /// <summary>Evaluates checkpoint goals after the user's tier timeline counted <paramref name="e"/> into the window
    /// starting at <paramref name="windowStart"/>, whose sums (that event included) are <paramref name="sums"/>.</summary>
    public void OnCounted(GoalPlan plan, DateTimeOffset windowStart, IReadOnlyDictionary<string, decimal> sums, DateTimeOffset occurredAt,
        MeasureValue[] measures, TimeZoneInfo zone)
    {
        if (plan.Checkpoint.Count == 0) return;
        var instance = windowStart.UtcTicks;
        if (CheckpointWindow != instance || _checkpointActions is null)
        {
            CheckpointWindow = instance;
            _checkpointActions = new Dictionary<string, long>(StringComparer.Ordinal);
        }
        foreach (var m in measures) _checkpointActions[m.Name] = _checkpointActions.GetValueOrDefault(m.Name) + 1;
        foreach (var rule in plan.Checkpoint)
        {
            var (progress, denominator) = GoalProgress.Checkpoint(rule, sums, _checkpointActions);
            Reach(rule, instance, progress, denominator, occurredAt, (_, _) => FormatInstant(windowStart, zone));
        }
    }

    /// <summary>Every goal's instance for the current window: the calendar periods that contain <paramref name="day"/>, the
    /// user's current checkpoint window (<paramref name="timeline"/>), all time for streak goals.</summary>
    public List<GoalView> View(GoalPlan plan, UserStats stats, DateOnly day, Checkpoints.CheckpointTimeline? timeline, TimeZoneInfo zone)
    {
        var views = new List<GoalView>(plan.All.Count);
        var keys = PeriodKeys.Of(day);
        foreach (var rule in plan.All)
        {
            string? windowKey;
            decimal? progress;
            int level;
            if (!rule.IsCheckpoint)
            {
                var instance = keys.Of(rule.Period);
                windowKey = Periods.FormatKey(rule.Period, instance);
                progress = GoalProgress.Calendar(rule, stats, instance).Progress;
                level = LevelOf(rule.Id, instance);
            }
            else if (timeline is { Entered: true })
            {
                var instance = timeline.WindowStart.UtcTicks;
                windowKey = FormatInstant(timeline.WindowStart, zone);
                progress = GoalProgress.Checkpoint(rule, timeline.Sums, CheckpointWindow == instance ? _checkpointActions : null).Progress;
                level = LevelOf(rule.Id, instance);
            }
            else (windowKey, progress, level) = (null, 0m, 0);
            views.Add(new GoalView(rule.Id, windowKey, progress, level, rule.TargetOf(level + 1)));
        }
        return views;
    }

    /// <summary>What the tier timeline tells of each event it counts, for the checkpoint goals of <paramref name="plan"/>; null
    /// when the plan has none.</summary>
    public Checkpoints.IWindowCounter? CheckpointCounter(GoalPlan plan, TimeZoneInfo zone) =>
        plan.Checkpoint.Count == 0 ? null : new WindowCounter(this, plan, zone);

    private sealed class WindowCounter(GoalState goals, GoalPlan plan, TimeZoneInfo zone) : Checkpoints.IWindowCounter
    {
        public void Counted(DateTimeOffset windowStart, IReadOnlyDictionary<string, decimal> sums, DateTimeOffset occurredAt, MeasureValue[] measures) =>
            goals.OnCounted(plan, windowStart, sums, occurredAt, measures, zone);
    }

    /// <summary>Completes every level of the instance that progress now reaches; returns the instance's level if it rose, else 0.</summary>
    private int Reach(GoalRule rule, long instance, decimal? progress, decimal denominator, DateTimeOffset at, Func<GoalRule, long, string> windowKey)
    {
        if (progress is not { } value) return 0;
        if (rule.Kind == GoalKind.Ratio && denominator < rule.MinDenominator) return 0;
        var level = LevelOf(rule.Id, instance);
        var reached = level;
        while (reached < rule.Targets.Length && value >= rule.Targets[reached]) reached++;
        if (reached == level) return 0;
        string? key = null;
        for (var n = level + 1; n <= reached; n++)
            _unrecorded.Add(new GoalCompletion(rule.Id, n, rule.Targets[n - 1], key ??= windowKey(rule, instance), at, value));
        var entry = new InstanceLevel(rule.Id, instance, (byte)reached);
        if (IndexOf(rule.Id, instance) is var index and >= 0) _levels[index] = entry;
        else _levels.Add(entry);
        return reached;
    }

    /// <summary>
    /// Forgets the levels of calendar instances that ended before <paramref name="forgetBefore"/>, and of checkpoint windows
    /// before the current one (no event counts for a decided window), and stops evaluating day and week instances before
    /// <paramref name="prunedBefore"/> (their sums are gone). A late event for a forgotten instance evaluates it afresh:
    /// levels it completes again are already stored and the store keeps the first (ON CONFLICT DO NOTHING).
    /// </summary>
    internal void Prune(int prunedBefore, DateOnly forgetBefore, GoalPlan plan, long currentCheckpointWindow)
    {
        PrunedBefore = Math.Max(PrunedBefore, prunedBefore);
        _levels.RemoveAll(entry => plan.Find(entry.Goal) is { } rule && (rule.IsCheckpoint
            ? entry.Instance < currentCheckpointWindow
            : Periods.IsClosed(rule.Period, (int)entry.Instance, forgetBefore)));
        if (_levels.Capacity > _levels.Count + 8) _levels.TrimExcess();
    }

    /// <summary>A checkpoint instance's key: its window's start exactly as the tier history shows it.</summary>
    public static string FormatInstant(DateTimeOffset instant, TimeZoneInfo zone) => Time.InstantText.Format(instant, zone);

    internal void Restore(List<InstanceLevel> levels, List<GoalCompletion> unrecorded, long checkpointWindow,
        Dictionary<string, long>? checkpointActions, int prunedBefore)
    {
        _levels.Clear();
        _levels.AddRange(levels);
        _unrecorded.Clear();
        _unrecorded.AddRange(unrecorded);
        CheckpointWindow = checkpointWindow;
        _checkpointActions = checkpointActions;
        PrunedBefore = prunedBefore;
    }
}
