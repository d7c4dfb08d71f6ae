using CsCheck;
using Shouldly;
using Tally.Domain.Stats;
using Xunit;

namespace Tally.Domain.Tests;

public class ActiveDaysTests
{
    // Reference: the plain set of days, walked one by one.
    private static (int Current, int Longest) Reference(IEnumerable<int> days, int today)
    {
        var set = new SortedSet<int>(days.Where(d => d <= today));
        var longest = 0;
        var run = 0;
        var previous = int.MinValue;
        foreach (var d in set)
        {
            run = d == previous + 1 ? run + 1 : 1;
            longest = Math.Max(longest, run);
            previous = d;
        }
        var current = set.Count > 0 && set.Max >= today - 1 ? run : 0;
        return (current, longest);
    }

    [Fact]
    public void streaks_match_a_simple_reference_under_any_arrival_order()
    {
        Gen.Int[0, 60].Array[0, 80].Select(Gen.Int[0, 70])
            .Sample((days, today) =>
            {
                var active = new ActiveDays();
                foreach (var d in days) active.Add(d);
                var expected = Reference(days, today);
                active.Current(today).ShouldBe(expected.Current);
                active.Longest(today).ShouldBe(expected.Longest);
            }, iter: 2000);
    }

    [Fact]
    public void runs_stay_sorted_disjoint_and_non_adjacent()
    {
        Gen.Int[0, 100].Array[0, 100].Sample(days =>
        {
            var active = new ActiveDays();
            foreach (var d in days) active.Add(d);
            for (var i = 1; i < active.Runs.Count; i++)
                active.Runs[i].Start.ShouldBeGreaterThan(active.Runs[i - 1].End + 1);
            active.Runs.Sum(r => r.End - r.Start + 1).ShouldBe(days.Distinct().Count());
        }, iter: 1000);
    }

    [Fact]
    public void a_late_event_filling_a_gap_joins_two_streaks()
    {
        var active = new ActiveDays();
        foreach (var d in new[] { 10, 11, 13, 14 }) active.Add(d);
        active.Longest().ShouldBe(2);
        active.Add(12);
        active.Longest().ShouldBe(5);
        active.Current(14).ShouldBe(5);
        active.Current(15).ShouldBe(5);
        active.Current(16).ShouldBe(0);
    }
}
