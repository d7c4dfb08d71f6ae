using Tally.Domain.Events;
using Tally.Domain.Stats;

namespace Tally.Domain.Checkpoints;

public enum TierReason : byte
{
    Entered = 0,
    Promoted = 1,
    Kept = 2,
    Demoted = 3,
}

/// <summary>One change (or confirmation) of a user's tier, as API.md's <c>/tiers</c> entries and the
/// <c>tier_checkpoints</c> rows show it.</summary>
public sealed record TierEntry(
    DateTimeOffset At,
    TierReason Reason,
    string? From,
    string To,
    DateTimeOffset WindowStart,
    DateTimeOffset WindowEnd,
    IReadOnlyDictionary<string, decimal> Window);

/// <summary>Told of every event the timeline counts into a window, after its measures were added (goals on the checkpoint
/// window follow it): a promotion it earns comes after, so the event counts for the window it was counted in.</summary>
public interface IWindowCounter
{
    void Counted(DateTimeOffset windowStart, IReadOnlyDictionary<string, decimal> sums, DateTimeOffset occurredAt, MeasureValue[] measures);
}

/// <summary>What a read shows of the current window.</summary>
public sealed record CheckpointView(string Tier, DateTimeOffset TierAchievedAt, DateTimeOffset NextCheckpointAt, IReadOnlyDictionary<string, decimal> Window, long LateEvents);

/// <summary>
/// A user's tier timeline (API.md, "Checkpoints and tiers"), kept incrementally:
/// <list type="number">
/// <item><b>Entry</b>: the first event, at instant t, enters the entry tier with a window [t, end).</item>
/// <item><b>Counting</b>: an event dated inside the current window adds every measure it carries to the window's sums.</item>
/// <item><b>Promotion, at once</b>: when the checkpoint measure's sum reaches a higher tier, the user moves to the
/// highest reached at that event's time, and a new window starts there with sums at 0.</item>
/// <item><b>Checkpoint</b>: at a window's end (plus grace) its sum keeps, or demotes (one tier or recompute), never
/// below the entry tier; the next window starts at the old end. Empty windows are decided the same way, in a row.
/// With grace, events dated from the end on that arrive before the decision wait (<see cref="Pending"/>) and
/// count for the next window; a promotion they earn takes effect at the decision at the earliest.</item>
/// <item><b>Late events</b>: an event dated before the oldest undecided window changes nothing here.</item>
/// </list>
/// Decisions depend only on instants, never on when they are computed: <see cref="Advance"/> may be called at
/// any time (a read, the scheduler) and gives the same history. A batch (one request's events of one user,
/// arriving together) is applied in time order, the windows between its events decided in event time, so
/// none of them is late relative to another; before a batch, an entered user's windows are decided up to the
/// batch's arrival, so what counts depends on arrival, not on when the scheduler last ran.
/// </summary>
public sealed class CheckpointTimeline
{
    private readonly List<TierEntry> _history = new();
    private readonly List<PendingEvent> _pending = new();
    private Dictionary<string, decimal> _sums = new(StringComparer.Ordinal);
    // The counter of the call in progress (ApplyBatch, Advance), if any.
    private IWindowCounter? _counter;

    /// <summary>An event dated at or after the current window's end whose window is not decided yet.</summary>
    public readonly record struct PendingEvent(DateTimeOffset OccurredAt, string Key, MeasureValue[] Measures);

    public CheckpointTimeline(int era = 0) => Era = era;

    /// <summary>The tenant's checkpoint era this timeline belongs to (<see cref="CheckpointRules.Era"/>).</summary>
    public int Era { get; private set; }

    public bool Entered { get; private set; }

    /// <summary>The current tier by name (names survive config changes; indexes may not).</summary>
    public string TierName { get; private set; } = "";

    /// <summary>The threshold of the current tier when it was reached: places the user if the tier is renamed away.</summary>
    public decimal TierThreshold { get; private set; }

    public DateTimeOffset WindowStart { get; private set; }
    public DateTimeOffset WindowEnd { get; private set; }

    /// <summary>Decisions are taken up to this instant.</summary>
    public DateTimeOffset DecidedUntil { get; private set; }

    public long LateEvents { get; private set; }

    public IReadOnlyList<TierEntry> History => _history;

    public IReadOnlyList<PendingEvent> Pending => _pending;

    public IReadOnlyDictionary<string, decimal> Sums => _sums;

    /// <summary>How many entries of <see cref="History"/> are stored (bookkeeping of the grain, saved with the timeline).</summary>
    public int HistoryStored { get; set; }

    /// <summary>When the current window is decided, if the user has entered.</summary>
    public DateTimeOffset? NextDecisionAt(CheckpointRules rules) => Entered ? rules.DecisionAt(WindowEnd) : null;

    /// <summary>Applies one batch that arrived at <paramref name="arrival"/> (any order; applied by time, then key).</summary>
    public void ApplyBatch(IReadOnlyList<ValidEvent> events, DateTimeOffset arrival, CheckpointRules rules, IWindowCounter? counter = null)
    {
        if (events.Count == 0) return;
        _counter = counter;
        try
        {
            ApplyBatchInOrder(events, arrival, rules);
        }
        finally
        {
            _counter = null;
        }
    }

    private void ApplyBatchInOrder(IReadOnlyList<ValidEvent> events, DateTimeOffset arrival, CheckpointRules rules)
    {
        var sorted = events.ToArray();
        Array.Sort(sorted, ValidEvent.CompareByOccurrence);
        if (Entered) Advance(arrival, rules); // also places a tier a config change removed
        foreach (var e in sorted)
        {
            var t = e.OccurredAt;
            if (!Entered)
            {
                Enter(t, rules);
                Count(new PendingEvent(t, e.IdempotencyKey, e.Measures), rules);
                continue;
            }
            // An event past the window's end waits for its decision (Count), so the windows between the events
            // of an entry batch are decided in event time without advancing here.
            if (t < WindowStart)
            {
                LateEvents++;
                continue;
            }
            Count(new PendingEvent(t, e.IdempotencyKey, e.Measures), rules);
        }
        Advance(arrival, rules);
    }

    /// <summary>Takes every decision due at or before <paramref name="now"/>. Returns whether any was taken.</summary>
    public bool Advance(DateTimeOffset now, CheckpointRules rules, IWindowCounter? counter)
    {
        _counter = counter;
        try
        {
            return Advance(now, rules);
        }
        finally
        {
            _counter = null;
        }
    }

    /// <summary>Takes every decision due at or before <paramref name="now"/>. Returns whether any was taken.</summary>
    public bool Advance(DateTimeOffset now, CheckpointRules rules)
    {
        if (!Entered) return false;
        Resolve(rules);
        var decided = false;
        while (rules.DecisionAt(WindowEnd) <= now)
        {
            Decide(rules);
            decided = true;
        }
        if (now > DecidedUntil) DecidedUntil = now;
        return decided;
    }

    /// <summary>The current window as a read shows it: sums of every declared measure, 0 where none.</summary>
    public CheckpointView View(CheckpointRules rules)
    {
        Resolve(rules);
        var window = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var m in rules.Measures) window[m] = _sums.GetValueOrDefault(m);
        return new CheckpointView(TierName, WindowStart, WindowEnd, window, LateEvents);
    }

    private void Enter(DateTimeOffset t, CheckpointRules rules)
    {
        Entered = true;
        SetTier(0, rules);
        WindowStart = t;
        WindowEnd = rules.WindowEnd(t);
        DecidedUntil = t;
        _history.Add(new TierEntry(t, TierReason.Entered, null, TierName, WindowStart, WindowEnd, SmallSums.Empty));
    }

    /// <summary>Counts an event dated at or after the window's start; one dated at or after its end waits for the decision.
    /// A promotion it earns takes effect at its time (events counted here are never dated before a pending decision).</summary>
    private void Count(PendingEvent e, CheckpointRules rules)
    {
        if (e.OccurredAt >= WindowEnd)
        {
            _pending.Add(e);
            return;
        }
        Add(e.Measures);
        _counter?.Counted(WindowStart, _sums, e.OccurredAt, e.Measures);
        var reached = rules.HighestReached(_sums.GetValueOrDefault(rules.Measure));
        if (reached > Index(rules)) Promote(reached, e.OccurredAt, rules);
    }

    private void Add(MeasureValue[] measures)
    {
        foreach (var m in measures) _sums[m.Name] = _sums.GetValueOrDefault(m.Name) + m.Value;
    }

    private void Promote(int tier, DateTimeOffset at, CheckpointRules rules)
    {
        var from = TierName;
        SetTier(tier, rules);
        // The promoted window was cut short at the promotion; its sums include the promoting event.
        _history.Add(new TierEntry(at, TierReason.Promoted, from, TierName, WindowStart, at, SmallSums.Of(_sums)));
        WindowStart = at;
        WindowEnd = rules.WindowEnd(at);
        _sums = new Dictionary<string, decimal>(StringComparer.Ordinal);
        // Waiting events dated inside the new, longer window count for it now.
        RecountPending(rules);
    }

    private void Decide(CheckpointRules rules)
    {
        var at = rules.DecisionAt(WindowEnd);
        var sum = _sums.GetValueOrDefault(rules.Measure);
        var current = Index(rules);
        var next = current == 0 || sum >= rules.Thresholds[current]
            ? current
            : rules.Downgrade == DowngradeRule.OneTier ? current - 1 : Math.Min(current - 1, rules.HighestReached(sum));
        var from = TierName;
        SetTier(next, rules);
        _history.Add(new TierEntry(at, next == current ? TierReason.Kept : TierReason.Demoted, from, TierName, WindowStart, WindowEnd, SmallSums.Of(_sums)));
        WindowStart = WindowEnd;
        WindowEnd = rules.WindowEnd(WindowStart);
        _sums = new Dictionary<string, decimal>(StringComparer.Ordinal);
        if (_pending.Count == 0) return;

        // Events that waited for this decision: those dated before it (and inside the new window) count
        // together, and a promotion they earn takes effect at the decision; the rest count one by one.
        var waiting = TakePending();
        var cut = at < WindowEnd ? at : WindowEnd;
        var rest = new List<PendingEvent>();
        foreach (var e in waiting)
        {
            if (e.OccurredAt < cut)
            {
                Add(e.Measures);
                _counter?.Counted(WindowStart, _sums, e.OccurredAt, e.Measures);
            }
            else rest.Add(e);
        }
        var reached = rules.HighestReached(_sums.GetValueOrDefault(rules.Measure));
        if (reached > Index(rules)) Promote(reached, at, rules);
        foreach (var e in rest)
        {
            if (e.OccurredAt < WindowStart) LateEvents++;
            else Count(e, rules);
        }
    }

    private void RecountPending(CheckpointRules rules)
    {
        if (_pending.Count == 0) return;
        foreach (var e in TakePending())
        {
            if (e.OccurredAt < WindowStart) LateEvents++;
            else Count(e, rules);
        }
    }

    private List<PendingEvent> TakePending()
    {
        var taken = new List<PendingEvent>(_pending);
        _pending.Clear();
        taken.Sort((a, b) => a.OccurredAt != b.OccurredAt ? a.OccurredAt.CompareTo(b.OccurredAt) : string.CompareOrdinal(a.Key, b.Key));
        return taken;
    }

    private int Index(CheckpointRules rules) => rules.IndexOf(TierName);

    private void SetTier(int index, CheckpointRules rules)
    {
        TierName = rules.TierNames[index];
        TierThreshold = rules.Thresholds[index];
    }

    /// <summary>After a config change the current tier may be gone: the user takes the highest tier whose threshold
    /// does not exceed the one it had reached (decision 010).</summary>
    private void Resolve(CheckpointRules rules)
    {
        if (rules.IndexOf(TierName) >= 0) return;
        var index = 0;
        for (var i = 0; i < rules.Thresholds.Length; i++)
            if (rules.Thresholds[i] <= TierThreshold) index = i;
        SetTier(index, rules);
    }

    internal void Restore(int era, bool entered, string tierName, decimal tierThreshold, DateTimeOffset windowStart, DateTimeOffset windowEnd,
        DateTimeOffset decidedUntil, long lateEvents, int historyStored, Dictionary<string, decimal> sums, List<PendingEvent> pending, List<TierEntry> history)
    {
        (Era, Entered, TierName, TierThreshold, WindowStart, WindowEnd, DecidedUntil, LateEvents, HistoryStored) =
            (era, entered, tierName, tierThreshold, windowStart, windowEnd, decidedUntil, lateEvents, historyStored);
        _sums = sums;
        _pending.Clear();
        _pending.AddRange(pending);
        _history.Clear();
        _history.AddRange(history);
    }
}
