namespace Tally.Domain.Stats;

/// <summary>
/// The set of days on which a user was active, kept as sorted, disjoint, non-adjacent runs.
/// Any arrival order gives the same runs, so a late event that fills a gap joins two streaks.
/// Memory is one pair per streak, not one entry per day.
/// </summary>
public sealed class ActiveDays
{
    private readonly List<DayRun> _runs = new();

    public IReadOnlyList<DayRun> Runs => _runs;

    public int? LastDay => _runs.Count == 0 ? null : _runs[^1].End;

    public void Add(int day)
    {
        // Find the first run that ends at or after day - 1 (binary search: runs are sorted).
        int lo = 0, hi = _runs.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_runs[mid].End < day - 1) lo = mid + 1; else hi = mid;
        }
        if (lo == _runs.Count || _runs[lo].Start > day + 1)
        {
            _runs.Insert(lo, new DayRun(day, day));
            return;
        }
        var run = _runs[lo];
        if (day >= run.Start && day <= run.End) return;
        run = new DayRun(Math.Min(run.Start, day), Math.Max(run.End, day));
        // Extending the end can make this run touch the next one: merge them.
        if (lo + 1 < _runs.Count && _runs[lo + 1].Start == run.End + 1)
        {
            run = new DayRun(run.Start, _runs[lo + 1].End);
            _runs.RemoveAt(lo + 1);
        }
        _runs[lo] = run;
    }

    /// <summary>Consecutive active days ending at the last active day on or before <paramref name="today"/>,
    /// if that day is today or yesterday; otherwise 0.</summary>
    public int Current(int today)
    {
        for (var i = _runs.Count - 1; i >= 0; i--)
        {
            var run = _runs[i];
            if (run.Start > today) continue;
            var end = Math.Min(run.End, today);
            return end >= today - 1 ? end - run.Start + 1 : 0;
        }
        return 0;
    }

    /// <summary>The longest run that starts on or before <paramref name="asOf"/>, cut at that day.</summary>
    public int Longest(int asOf = int.MaxValue)
    {
        var longest = 0;
        foreach (var run in _runs)
        {
            if (run.Start > asOf) break;
            longest = Math.Max(longest, Math.Min(run.End, asOf) - run.Start + 1);
        }
        return longest;
    }

    internal void Restore(IEnumerable<DayRun> runs)
    {
        _runs.Clear();
        _runs.AddRange(runs);
    }
}

public readonly record struct DayRun(int Start, int End);
