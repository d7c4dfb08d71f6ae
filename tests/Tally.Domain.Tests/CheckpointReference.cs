using Tally.Domain.Checkpoints;

namespace Tally.Domain.Tests;

/// <summary>
/// A from-scratch derivation of a tier timeline, written from API.md's rules independently of
/// <see cref="CheckpointTimeline"/>: it keeps every event (not sums), recomputes window sums from them,
/// computes window ends with its own calendar code and walks time forward decision by decision.
/// Slow and plain on purpose: the incremental timeline must equal it.
/// </summary>
internal static class CheckpointReference
{
    public sealed record Ev(DateTimeOffset At, string Key, decimal Sales, decimal Units);

    public sealed record Batch(DateTimeOffset Arrival, IReadOnlyList<Ev> Events);

    public sealed record Config(string[] Tiers, decimal[] Thresholds, int Months, int GraceDays, bool Recompute, TimeZoneInfo Zone);

    public sealed record Entry(DateTimeOffset At, string Reason, string? From, string To, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, decimal Sales, decimal Units);

    public sealed record Result(List<Entry> History, string Tier, DateTimeOffset? WindowStart, DateTimeOffset? WindowEnd, decimal Sales, decimal Units, long Late);

    /// <param name="counted">Told of each event counted into a window, with the window's start and its sums after it
    /// (checkpoint goals are evaluated there).</param>
    public static Result Derive(Config c, IEnumerable<Batch> batches, DateTimeOffset now, Action<DateTimeOffset, Ev, decimal, decimal>? counted = null)
    {
        var history = new List<Entry>();
        var entered = false;
        var tier = 0;
        DateTimeOffset start = default, end = default;
        var inWindow = new List<Ev>();   // counted in the current window
        var waiting = new List<Ev>();    // dated at or after its end, arrived before its decision
        long late = 0;

        decimal Sales(IEnumerable<Ev> evs) => evs.Sum(e => e.Sales);
        decimal Units(IEnumerable<Ev> evs) => evs.Sum(e => e.Units);
        int Reached(decimal sales)
        {
            for (var i = c.Thresholds.Length - 1; i > 0; i--)
                if (sales >= c.Thresholds[i]) return i;
            return 0;
        }
        DateTimeOffset Decision(DateTimeOffset windowEnd) => c.GraceDays == 0 ? windowEnd : AddLocal(windowEnd, 0, c.GraceDays, c.Zone);

        void Promote(int to, DateTimeOffset at)
        {
            history.Add(new Entry(at, "promoted", c.Tiers[tier], c.Tiers[to], start, at, Sales(inWindow), Units(inWindow)));
            tier = to;
            start = at;
            end = AddLocal(at, c.Months, 0, c.Zone);
            inWindow.Clear();
            var again = waiting.OrderBy(e => e.At).ThenBy(e => e.Key, StringComparer.Ordinal).ToList();
            waiting.Clear();
            foreach (var e in again)
            {
                if (e.At < start) late++;
                else Include(e, at);
            }
        }

        void Include(Ev e, DateTimeOffset floor)
        {
            if (e.At >= end)
            {
                waiting.Add(e);
                return;
            }
            inWindow.Add(e);
            counted?.Invoke(start, e, Sales(inWindow), Units(inWindow));
            var reached = Reached(Sales(inWindow));
            if (reached > tier) Promote(reached, e.At > floor ? e.At : floor);
        }

        void DecideUpTo(DateTimeOffset instant)
        {
            while (entered && Decision(end) <= instant)
            {
                var at = Decision(end);
                var sales = Sales(inWindow);
                int next;
                if (tier == 0 || sales >= c.Thresholds[tier]) next = tier;
                else if (!c.Recompute) next = tier - 1;
                else next = Math.Min(tier - 1, Reached(sales));
                history.Add(new Entry(at, next == tier ? "kept" : "demoted", c.Tiers[tier], c.Tiers[next], start, end, sales, Units(inWindow)));
                tier = next;
                start = end;
                end = AddLocal(start, c.Months, 0, c.Zone);
                inWindow.Clear();
                var held = waiting.OrderBy(e => e.At).ThenBy(e => e.Key, StringComparer.Ordinal).ToList();
                waiting.Clear();
                var cut = at < end ? at : end;
                foreach (var e in held.Where(e => e.At < cut))
                {
                    inWindow.Add(e);
                    counted?.Invoke(start, e, Sales(inWindow), Units(inWindow));
                }
                var reached = Reached(Sales(inWindow));
                if (reached > tier) Promote(reached, at);
                foreach (var e in held.Where(e => e.At >= cut))
                {
                    if (e.At < start) late++;
                    else Include(e, at);
                }
            }
        }

        foreach (var batch in batches)
        {
            if (entered) DecideUpTo(batch.Arrival);
            foreach (var e in batch.Events.OrderBy(e => e.At).ThenBy(e => e.Key, StringComparer.Ordinal))
            {
                if (!entered)
                {
                    entered = true;
                    tier = 0;
                    start = e.At;
                    end = AddLocal(e.At, c.Months, 0, c.Zone);
                    history.Add(new Entry(e.At, "entered", null, c.Tiers[0], start, end, 0, 0));
                    Include(e, e.At);
                    continue;
                }
                if (e.At < batch.Arrival) DecideUpTo(e.At);
                if (e.At < start) late++;
                else Include(e, e.At);
            }
            DecideUpTo(batch.Arrival);
        }
        DecideUpTo(now);
        return new Result(history, c.Tiers[tier], entered ? start : null, entered ? end : null, Sales(inWindow), Units(inWindow), late);
    }

    /// <summary>Local wall time plus months and days; a missing day clamps to the month's last; a time in a gap moves
    /// forward by the gap; a time that exists twice is the earlier. Written apart from <see cref="LocalTime"/>.</summary>
    public static DateTimeOffset AddLocal(DateTimeOffset instant, int months, int days, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(instant, zone).DateTime;
        var target = new DateTime(local.Year, local.Month, 1).AddMonths(months);
        var day = Math.Min(local.Day, DateTime.DaysInMonth(target.Year, target.Month));
        var wall = new DateTime(target.Year, target.Month, day, local.Hour, local.Minute, local.Second, DateTimeKind.Unspecified)
            .AddTicks(local.Ticks % TimeSpan.TicksPerSecond).AddDays(days);
        // Search the instant: try the offsets the zone has around this wall time, earliest valid first.
        var candidates = new[] { zone.GetUtcOffset(wall.AddHours(-6)), zone.GetUtcOffset(wall.AddHours(6)) }.Distinct().OrderByDescending(o => o).ToList();
        foreach (var offset in candidates)
        {
            var at = new DateTimeOffset(wall, offset);
            if (TimeZoneInfo.ConvertTime(at, zone).DateTime == wall) return at;
        }
        // No offset maps back to this wall time: it is in a gap; the offset from before the gap moves it forward.
        var before = zone.GetUtcOffset(wall.AddHours(-6));
        return new DateTimeOffset(wall, before).ToOffset(zone.GetUtcOffset(wall.AddHours(6)));
    }
}
