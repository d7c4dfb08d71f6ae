using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Stats;
using Xunit;

namespace Tally.Domain.Tests;

/// <summary>A user's sums per dimension value (API.md, Breakdowns and ratio values), checked against sums taken
/// straight from the events, the order rules of the listing and the band of ratio values.</summary>
public class BreakdownTests
{
    private static readonly DateOnly Base = new(2025, 11, 1);

    private static readonly BoardPlan Plan = new(new TenantConfig
    {
        Measures = new() { ["answered"] = new(), ["correct"] = new(), ["co2"] = new() },
        Dimensions = ["topic", "country"],
        Breakdowns = ["topic"],
    });

    private sealed record Answer(int Offset, string? Topic, int Answered, int Correct);

    private static ValidEvent Event(int i, Answer a) => new("u", "answer", Base.AddDays(a.Offset).ToDateTime(TimeOnly.MinValue), $"k{i}",
        [new MeasureValue("answered", a.Answered), new MeasureValue("correct", a.Correct)],
        a.Topic is null ? [] : [new DimValue("topic", a.Topic)], null);

    private static readonly Gen<Answer> GenAnswer = Gen.Select(Gen.Int[0, 70], Gen.Int[0, 6], Gen.Int[0, 3], Gen.Int[0, 3])
        .Select((offset, topic, answered, correct) => new Answer(offset, topic == 6 ? null : "t" + topic, answered, Math.Min(answered, correct)));

    private static UserStats ApplyAll(Answer[] answers)
    {
        var stats = new UserStats();
        for (var i = 0; i < answers.Length; i++) stats.Apply(i + 1, Base.AddDays(answers[i].Offset), Event(i, answers[i]), Plan);
        return stats;
    }

    [Fact]
    public void each_value_holds_the_sums_of_the_events_carrying_it_in_every_period_and_survives_the_codec()
    {
        Gen.Select(GenAnswer.Array[1, 50], Gen.Int[0, 70], Gen.Int[0, 4]).Sample((answers, probe, kind) =>
        {
            var stats = UserStatsCodec.Decode(UserStatsCodec.Encode(ApplyAll(answers)));
            var period = (PeriodKind)kind;
            var day = Base.AddDays(probe);
            var key = Periods.KeyOf(period, day);
            var rows = stats.Breakdowns.Of("topic", period, key).ToDictionary(r => r.Value);
            var expected = answers.Where(a => a.Topic is not null && Periods.KeyOf(period, Base.AddDays(a.Offset)) == key)
                .GroupBy(a => a.Topic!).ToDictionary(g => g.Key, g => (Actions: g.Count(), Answered: g.Sum(a => a.Answered), Correct: g.Sum(a => a.Correct)));
            rows.Keys.Order().ShouldBe(expected.Keys.Order());
            foreach (var (topic, e) in expected)
            {
                rows[topic].Actions.ShouldBe(e.Actions);
                rows[topic].Measures["answered"].ShouldBe(e.Answered);
                rows[topic].Measures["correct"].ShouldBe(e.Correct);
            }
        });
    }

    [Fact]
    public void a_dimension_not_broken_down_keeps_nothing_and_pruning_drops_only_days_and_weeks_past_their_grace()
    {
        var stats = new UserStats();
        stats.Apply(1, Base, new ValidEvent("u", "a", Base.ToDateTime(TimeOnly.MinValue), "k1",
            [new MeasureValue("co2", 2)], [new DimValue("country", "DE"), new DimValue("topic", "t1")], null), Plan);
        stats.Breakdowns.Of("country", PeriodKind.AllTime, 0).ShouldBeEmpty();

        stats.Prune(Base.AddDays(100), keepDays: 400, new BoardGrace(35, 400));
        stats.Breakdowns.Of("topic", PeriodKind.Day, Periods.KeyOf(PeriodKind.Day, Base)).ShouldBeEmpty();
        stats.Breakdowns.Of("topic", PeriodKind.Week, Periods.KeyOf(PeriodKind.Week, Base)).ShouldBeEmpty();
        stats.Breakdowns.Of("topic", PeriodKind.Month, Periods.KeyOf(PeriodKind.Month, Base)).Single().Measures["co2"].ShouldBe(2m);
        stats.Breakdowns.Of("topic", PeriodKind.AllTime, 0).Single().Actions.ShouldBe(1);
    }

    [Fact]
    public void values_past_the_bound_are_counted_under_other_so_the_sums_still_add_up()
    {
        var stats = new UserStats();
        for (var i = 0; i < Breakdowns.MaxValues + 5; i++)
            stats.Apply(i + 1, Base, Event(i, new Answer(0, "t" + i, 1, i % 2)), Plan);
        var rows = stats.Breakdowns.Of("topic", PeriodKind.AllTime, 0).ToList();
        rows.Count.ShouldBe(Breakdowns.MaxValues + 1);
        rows.Single(r => r.Value == Breakdowns.Other).Actions.ShouldBe(5);
        rows.Sum(r => r.Measures["answered"]).ShouldBe(Breakdowns.MaxValues + 5);
        // A value kept before the bound was reached still gets its own events.
        stats.Apply(5000, Base, Event(5000, new Answer(0, "t3", 1, 1)), Plan);
        stats.Breakdowns.Of("topic", PeriodKind.AllTime, 0).Single(r => r.Value == "t3").Actions.ShouldBe(2);
    }

    private static readonly Dictionary<string, (string, string)> Accuracy = new() { ["accuracy"] = ("correct", "answered") };
    private static readonly string[] Measures = ["answered", "correct"];

    private static BreakdownRow Row(string value, decimal answered, decimal correct) =>
        new(value, new() { ["answered"] = answered, ["correct"] = correct }, (long)answered);

    [Fact]
    public void weak_areas_sort_by_ratio_leave_out_values_under_the_minimum_denominator_and_break_ties_by_value()
    {
        BreakdownRow[] rows = [Row("cardiology", 40, 22), Row("anatomy", 10, 9), Row("zoology", 20, 11), Row("biology", 40, 22), Row("rare", 2, 0)];
        var weakest = new BreakdownQuery(BreakdownSort.Ratio, "accuracy", Descending: false, MinDenominator: 5).Apply(rows, Measures, Accuracy);
        weakest.Select(l => l.Value).ShouldBe(["biology", "cardiology", "zoology", "anatomy"]);
        weakest[0].Ratios["accuracy"].ShouldBe(0.55m);

        var byValue = new BreakdownQuery(BreakdownSort.Value, "", Descending: false, MinDenominator: 5).Apply(rows, Measures, Accuracy);
        byValue.Select(l => l.Value).ShouldBe(["anatomy", "biology", "cardiology", "rare", "zoology"]);
        byValue.Single(l => l.Value == "rare").Ratios.ShouldNotContainKey("accuracy");

        var mostAnswered = new BreakdownQuery(BreakdownSort.Measure, "answered", Descending: true, MinDenominator: 1).Apply(rows, Measures, Accuracy);
        mostAnswered.Select(l => l.Value).ShouldBe(["biology", "cardiology", "zoology", "anatomy", "rare"]);
    }

    [Fact]
    public void a_band_keeps_ratios_within_its_inclusive_bounds_with_enough_answers_sorted_by_ratio_then_value()
    {
        RatioSums[] values = [new("q1", 8, 20, 20), new("q2", 14, 20, 19), new("q3", 11, 20, 18), new("q4", 3, 5, 5), new("q5", 0, 0, 0),
                              new("q6", 20, 20, 20), new("q7", 11, 20, 20)];
        new RatioBand(0.4m, 0.7m, 20, Descending: false).Select(values).Select(v => v.Value).ShouldBe(["q1", "q3", "q7", "q2"]);
        new RatioBand(0.4m, 0.7m, 20, Descending: true).Select(values).Select(v => v.Value).ShouldBe(["q2", "q3", "q7", "q1"]);
        new RatioBand(null, null, 1, Descending: false).Select(values).Select(v => v.Value).ShouldBe(["q1", "q3", "q7", "q4", "q2", "q6"]);
    }
}
