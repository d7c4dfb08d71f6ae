using CsCheck;
using Shouldly;
using Tally.Domain.Events;
using Tally.Domain.Stats;
using Tally.Domain.Time;
using Xunit;

namespace Tally.Domain.Tests;

public class UserStatsTests
{
    private static readonly DateOnly Base = new(2025, 1, 1);

    /// <summary>An event as applied: its log id, its local day and the event.</summary>
    private sealed record Applied(long Id, DateOnly LocalDay, ValidEvent Event)
    {
        public MeasureValue[] Measures => Event.Measures;
    }

    private static Applied Make(long id, DateOnly day, params MeasureValue[] measures) =>
        new(id, day, new ValidEvent("u", "a", day.ToDateTime(TimeOnly.MinValue), $"k{id}", measures, [], null));

    private static void Apply(UserStats stats, Applied e) => stats.Apply(e.Id, e.LocalDay, e.Event);

    private static readonly Gen<Applied> GenEvent =
        Gen.Select(Gen.Int[0, 500], Gen.Int[0, 100_000], Gen.Bool, Gen.Long[1, 1_000_000])
           .Select((offset, cents, both, id) => Make(id, Base.AddDays(offset),
               both ? [new MeasureValue("co2", cents / 100m), new MeasureValue("sales", cents / 1000m)] : [new MeasureValue("co2", cents / 100m)]));

    [Fact]
    public void sums_do_not_depend_on_arrival_order_and_match_a_reference()
    {
        Gen.Select(GenEvent.Array[1, 60], Gen.Int[0, 500]).Sample((events, probe) =>
        {
            var inOrder = new UserStats();
            foreach (var e in events) Apply(inOrder, e);
            var reversed = new UserStats();
            foreach (var e in events.Reverse()) Apply(reversed, e);

            var day = Base.AddDays(probe);
            var a = inOrder.View(day);
            var b = reversed.View(day);
            a.Measures["co2"].ShouldBe(b.Measures["co2"]);
            a.CurrentStreak.ShouldBe(b.CurrentStreak);
            a.LongestStreak.ShouldBe(b.LongestStreak);

            decimal Sum(Func<DateOnly, bool> inPeriod) =>
                events.Where(e => inPeriod(e.LocalDay)).SelectMany(e => e.Measures).Where(m => m.Name == "co2").Sum(m => m.Value);
            var co2 = a.Measures["co2"];
            co2.AllTime.ShouldBe(Sum(_ => true));
            co2.Day.ShouldBe(Sum(d => d == day));
            co2.Week.ShouldBe(Sum(d => TenantCalendar.WeekKey(d) == TenantCalendar.WeekKey(day)));
            co2.Month.ShouldBe(Sum(d => d.Year == day.Year && d.Month == day.Month));
            co2.Year.ShouldBe(Sum(d => d.Year == day.Year));
            co2.Actions.ShouldBe(events.Length);
            a.Actions.ShouldBe(events.Length);
            a.LastActionDate.ShouldBe(events.Max(e => e.LocalDay));
        }, iter: 300);
    }

    [Fact]
    public void decimals_add_exactly()
    {
        var stats = new UserStats();
        for (var i = 0; i < 10; i++) Apply(stats, Make(i + 1, Base, new MeasureValue("co2", 0.1m)));
        stats.View(Base).Measures["co2"].AllTime.ShouldBe(1.0m);
    }

    [Fact]
    public void codec_round_trips_everything()
    {
        GenEvent.Array[0, 50].Sample(events =>
        {
            var stats = new UserStats();
            foreach (var e in events) Apply(stats, e);
            var copy = UserStatsCodec.Decode(UserStatsCodec.Encode(stats));
            copy.LastEventId.ShouldBe(stats.LastEventId);
            copy.Actions.ShouldBe(stats.Actions);
            copy.ActiveDays.Runs.ShouldBe(stats.ActiveDays.Runs);
            for (var offset = 0; offset <= 500; offset += 37)
            {
                var day = Base.AddDays(offset);
                var a = stats.View(day);
                var b = copy.View(day);
                b.Measures.Count.ShouldBe(a.Measures.Count);
                foreach (var (name, m) in a.Measures) b.Measures[name].ShouldBe(m);
            }
        }, iter: 200);
    }

    [Fact]
    public void prune_drops_old_days_but_keeps_months_and_totals()
    {
        var stats = new UserStats();
        Apply(stats, Make(1, Base, new MeasureValue("co2", 5m)));
        stats.Prune(Base.AddDays(500), keepDays: 400, new Tally.Domain.Boards.BoardGrace(35, 400));
        var view = stats.View(Base);
        view.Measures["co2"].Day.ShouldBe(0m);
        view.Measures["co2"].Week.ShouldBe(0m);
        view.Measures["co2"].Month.ShouldBe(5m);
        view.Measures["co2"].AllTime.ShouldBe(5m);
    }
}

public class MeasureBoundsTests
{
    private static readonly DateOnly Day = new(2025, 11, 22);

    private static ValidEvent Sale(decimal value, string key) =>
        new("u", "sale", Day.ToDateTime(TimeOnly.MinValue), key, [new MeasureValue("sales", value)], [], null);

    [Fact]
    public void a_sum_that_would_leave_its_bounds_is_refused_before_anything_changes()
    {
        var stats = new UserStats();
        var max = Tally.Domain.Config.MeasureBounds.MaxAbsValue;
        var pending = new Dictionary<string, decimal>();
        var fitting = (int)(Tally.Domain.Config.MeasureBounds.MaxAbsUserSum / max);
        for (var i = 0; i < fitting; i++)
        {
            stats.FitsBounds(Sale(max, $"k{i}"), pending, out _).ShouldBeTrue();
        }
        stats.FitsBounds(Sale(max, "over"), pending, out var measure).ShouldBeFalse();
        measure.ShouldBe("sales");
        stats.Actions.ShouldBe(0); // checking applies nothing
    }

    [Fact]
    public void negative_values_count_towards_the_bound_too()
    {
        var stats = new UserStats();
        var max = Tally.Domain.Config.MeasureBounds.MaxAbsValue;
        var fitting = (int)(Tally.Domain.Config.MeasureBounds.MaxAbsUserSum / max);
        for (var i = 0; i < fitting; i++)
        {
            var e = Sale(i % 2 == 0 ? max : -max, $"k{i}");
            stats.FitsBounds(e, new Dictionary<string, decimal>(), out _).ShouldBeTrue();
            stats.Apply(i + 1, Day, e);
        }
        // The total is 0, but a period sum of one sign could still grow: magnitudes are bounded.
        stats.FitsBounds(Sale(max, "over"), new Dictionary<string, decimal>(), out _).ShouldBeFalse();
    }
}
