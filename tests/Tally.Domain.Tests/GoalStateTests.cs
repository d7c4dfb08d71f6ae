using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Goals;
using Tally.Domain.Stats;
using Tally.Domain.Time;
using Xunit;
using static Tally.Domain.Tests.GoalReference;

namespace Tally.Domain.Tests;

public class GoalStateTests
{
    private static readonly string[] ZoneIds = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"];

    /// <summary>Goal templates: (id, config, the reference's view of it).</summary>
    private static readonly (string Id, GoalConfig Config, Goal Reference)[] Templates =
    [
        ("co2_month", new GoalConfig { Measure = "co2", Window = "month", Targets = [10, 50, 100] }, new Goal("co2_month", "sum", "co2", "", GoalReference.Window.Month, [10, 50, 100])),
        ("co2_day", new GoalConfig { Measure = "co2", Window = "day", Targets = [5, 20] }, new Goal("co2_day", "sum", "co2", "", GoalReference.Window.Day, [5, 20])),
        ("co2_week", new GoalConfig { Measure = "co2", Window = "week", Targets = [15.5m] }, new Goal("co2_week", "sum", "co2", "", GoalReference.Window.Week, [15.5m])),
        ("co2_total", new GoalConfig { Measure = "co2", Targets = [40, 200] }, new Goal("co2_total", "sum", "co2", "", GoalReference.Window.AllTime, [40, 200])),
        ("active_week", new GoalConfig { Measure = "co2", Of = "actions", Window = "week", Targets = [3, 5] }, new Goal("active_week", "actions", "co2", "", GoalReference.Window.Week, [3, 5])),
        ("answers_day", new GoalConfig { Measure = "answered", Of = "actions", Window = "day", Targets = [2] }, new Goal("answers_day", "actions", "answered", "", GoalReference.Window.Day, [2])),
        ("sharp", new GoalConfig { Ratio = "accuracy", Window = "all_time", Targets = [0.5m, 0.8m], MinDenominator = 5 }, new Goal("sharp", "ratio", "correct", "answered", GoalReference.Window.AllTime, [0.5m, 0.8m], 5)),
        ("sharp_month", new GoalConfig { Ratio = "accuracy", Window = "month", Targets = [0.75m] }, new Goal("sharp_month", "ratio", "correct", "answered", GoalReference.Window.Month, [0.75m])),
        ("streak", new GoalConfig { Streak = true, Targets = [2, 3, 7] }, new Goal("streak", "streak", "", "", GoalReference.Window.AllTime, [2, 3, 7])),
        ("co2_year", new GoalConfig { Measure = "co2", Window = "year", Targets = [60] }, new Goal("co2_year", "sum", "co2", "", GoalReference.Window.Year, [60])),
    ];

    private static BoardPlan Plan(IEnumerable<(string Id, GoalConfig Config)> goals) => new(new TenantConfig
    {
        Measures = new() { ["co2"] = new MeasureRule(), ["answered"] = new MeasureRule(), ["correct"] = new MeasureRule() },
        Ratios = new() { ["accuracy"] = new RatioConfig { Numerator = "correct", Denominator = "answered" } },
        Goals = goals.ToDictionary(g => g.Id, g => g.Config),
    });

    private sealed record Scenario(TimeZoneInfo Zone, int[] Goals, (DateTimeOffset At, MeasureValue[] Measures)[] Events);

    private static readonly DateTimeOffset Origin = DateTimeOffset.Parse("2025-03-20T00:00:00Z"); // a few days before Europe's DST change

    private static readonly Gen<(DateTimeOffset, MeasureValue[])> GenEvent = Gen.Select(
            Gen.Int[0, 60 * 24 * 60 / 15], // any quarter hour in 60 days, across DST changes of both hemispheres' zones
            Gen.Int[-300, 2_000], Gen.Bool, Gen.Int[0, 3], Gen.Int[0, 3])
        .Select((quarter, cents, answer, answered, correct) => (Origin.AddMinutes(15 * quarter),
            answer
                ? new[] { new MeasureValue("answered", answered), new MeasureValue("correct", Math.Min(answered, correct)) }
                : new[] { new MeasureValue("co2", cents / 100m) }));

    private static readonly Gen<Scenario> GenScenario = Gen.Select(
            Gen.Int[0, ZoneIds.Length - 1], Gen.Int[0, Templates.Length - 1].Array[1, 5], GenEvent.Array[1, 60])
        .Select((zone, goals, events) => new Scenario(TimeZoneInfo.FindSystemTimeZoneById(ZoneIds[zone]), goals.Distinct().ToArray(), events));

    private static (UserStats Stats, List<GoalCompletion> Completions) ApplyAll(Scenario s, BoardPlan plan, int? restartAfter = null)
    {
        var stats = new UserStats();
        var completions = new List<GoalCompletion>();
        for (var i = 0; i < s.Events.Length; i++)
        {
            var (at, measures) = s.Events[i];
            var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, s.Zone).DateTime);
            stats.Apply(i + 1, day, new ValidEvent("u", "a", at, $"k{i}", measures, [], null), plan, new HashSet<BoardKey>());
            completions.AddRange(stats.Goals.Unrecorded);
            stats.Goals.MarkRecorded(stats.Goals.Unrecorded.Count);
            if (i == restartAfter) stats = UserStatsCodec.Decode(UserStatsCodec.Encode(stats));
        }
        return (stats, completions);
    }

    [Fact]
    public void completions_equal_a_from_scratch_derivation_in_any_zone_and_arrival_order()
    {
        GenScenario.Sample(s =>
        {
            var chosen = s.Goals.Select(g => Templates[g]).ToArray();
            var plan = Plan(chosen.Select(t => (t.Id, t.Config)));
            var (stats, completions) = ApplyAll(s, plan);

            var applied = s.Events.Select(e => new Ev(e.At, DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(e.At, s.Zone).DateTime),
                e.Measures.ToDictionary(m => m.Name, m => m.Value))).ToList();
            var expected = Derive(chosen.Select(t => t.Reference).ToList(), applied);
            completions.Select(c => (c.Goal, c.Level, c.Target, c.WindowKey, c.CompletedAt, c.Value))
                .ShouldBe(expected.Select(c => (c.Goal, c.Level, c.Target, c.WindowKey, c.At, c.Value)));

            // Each calendar instance's cell holds the user's level there: what the shards count per level.
            foreach (var group in expected.GroupBy(c => (c.Goal, c.WindowKey)))
            {
                var rule = plan.Goals.Find(group.Key.Goal)!;
                Periods.TryParseKey(rule.Period, group.Key.WindowKey, out var key).ShouldBeTrue();
                stats.Cells[rule.CellKey(key)].Score.ShouldBe(group.Max(c => c.Level));
            }
        }, iter: 300);
    }

    [Fact]
    public void a_restart_from_the_saved_state_continues_to_the_same_completions()
    {
        Gen.Select(GenScenario, Gen.Int[0, 59]).Sample((s, cut) =>
        {
            var plan = Plan(s.Goals.Select(g => (Templates[g].Id, Templates[g].Config)));
            var straight = ApplyAll(s, plan).Completions;
            var restarted = ApplyAll(s, plan, restartAfter: Math.Min(cut, s.Events.Length - 1)).Completions;
            restarted.ShouldBe(straight);
        }, iter: 200);
    }

    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;

    private static (UserStats Stats, List<GoalCompletion> Done) Run(BoardPlan plan, params (string At, string Measure, decimal Value)[] events)
    {
        var stats = new UserStats();
        var done = new List<GoalCompletion>();
        for (var i = 0; i < events.Length; i++)
        {
            var at = DateTimeOffset.Parse(events[i].At);
            stats.Apply(i + 1, DateOnly.FromDateTime(at.UtcDateTime), new ValidEvent("u", "a", at, $"k{i}", [new MeasureValue(events[i].Measure, events[i].Value)], [], null), plan);
            done.AddRange(stats.Goals.Unrecorded);
            stats.Goals.MarkRecorded(stats.Goals.Unrecorded.Count);
        }
        return (stats, done);
    }

    [Fact]
    public void one_event_completes_several_levels_at_its_time_with_the_progress_after_it()
    {
        var plan = Plan([(Templates[0].Id, Templates[0].Config)]); // co2_month: 10, 50, 100
        var (_, done) = Run(plan, ("2025-11-03T10:00:00Z", "co2", 4), ("2025-11-05T10:00:00Z", "co2", 60));
        done.Select(c => (c.Level, c.Target, c.WindowKey, c.CompletedAt, c.Value)).ShouldBe([
            (1, 10m, "2025-11", DateTimeOffset.Parse("2025-11-05T10:00:00Z"), 64m),
            (2, 50m, "2025-11", DateTimeOffset.Parse("2025-11-05T10:00:00Z"), 64m)]);
    }

    [Fact]
    public void a_negative_value_never_revokes_a_level_and_a_late_event_completes_its_own_instance()
    {
        var plan = Plan([(Templates[0].Id, Templates[0].Config)]);
        var (stats, done) = Run(plan,
            ("2025-11-03T10:00:00Z", "co2", 12),   // November level 1
            ("2025-11-04T10:00:00Z", "co2", -10),  // back to 2: still level 1
            ("2025-11-06T10:00:00Z", "co2", 9),    // 11: level 1 again is not a new completion
            ("2025-10-20T10:00:00Z", "co2", 55));  // late, for October: levels 1 and 2 of October
        done.Select(c => (c.Level, c.WindowKey)).ShouldBe([(1, "2025-11"), (1, "2025-10"), (2, "2025-10")]);
        var views = stats.Goals.View(plan.Goals, stats, new DateOnly(2025, 11, 22), null, Utc);
        views.Single().ShouldBe(new GoalView("co2_month", "2025-11", 11m, 1, 50m));
    }

    [Fact]
    public void a_ratio_goal_needs_the_minimum_denominator_and_a_lower_ratio_later_keeps_the_level()
    {
        var plan = Plan([(Templates[6].Id, Templates[6].Config)]); // sharp: 0.5, 0.8 over at least 5 answers
        var stats = new UserStats();
        var id = 0;
        List<GoalCompletion> Answer(string at, int answered, int correct)
        {
            var t = DateTimeOffset.Parse(at);
            stats.Apply(++id, DateOnly.FromDateTime(t.UtcDateTime), new ValidEvent("u", "a", t, $"k{id}",
                [new MeasureValue("answered", answered), new MeasureValue("correct", correct)], [], null), plan);
            var news = stats.Goals.Unrecorded.ToList();
            stats.Goals.MarkRecorded(news.Count);
            return news;
        }
        Answer("2025-11-01T10:00:00Z", 4, 4).ShouldBeEmpty();                            // 1.0 over 4: below the minimum
        Answer("2025-11-01T11:00:00Z", 1, 0).Select(c => c.Level).ShouldBe([1, 2]);    // 0.8 over 5
        Answer("2025-11-01T12:00:00Z", 10, 0).ShouldBeEmpty();                           // 0.2667: nothing revoked
        stats.Goals.View(plan.Goals, stats, new DateOnly(2025, 11, 1), null, Utc).Single().Level.ShouldBe(2);
    }

    [Fact]
    public void a_streak_goal_follows_the_longest_streak_and_a_late_day_that_joins_two_runs_completes_it()
    {
        var plan = Plan([(Templates[8].Id, Templates[8].Config)]); // streak: 2, 3, 7
        var (_, done) = Run(plan,
            ("2025-11-01T10:00:00Z", "co2", 1), ("2025-11-02T10:00:00Z", "co2", 1),  // 2 days: level 1
            ("2025-11-04T10:00:00Z", "co2", 1),                                          // a gap
            ("2025-11-03T10:00:00Z", "co2", 1));                                         // late: 1-4 November, 4 days
        done.Select(c => (c.Level, c.WindowKey, c.Value)).ShouldBe([(1, "all_time", 2m), (2, "all_time", 4m)]);
    }

    [Fact]
    public void a_goal_added_later_is_evaluated_at_the_next_event_with_the_progress_already_there()
    {
        var stats = new UserStats();
        var none = Plan([]);
        var at = DateTimeOffset.Parse("2025-11-03T10:00:00Z");
        stats.Apply(1, new DateOnly(2025, 11, 3), new ValidEvent("u", "a", at, "k1", [new MeasureValue("co2", 30)], [], null), none);
        var later = Plan([(Templates[0].Id, Templates[0].Config)]);
        var next = at.AddHours(1);
        stats.Apply(2, new DateOnly(2025, 11, 3), new ValidEvent("u", "a", next, "k2", [new MeasureValue("answered", 1)], [], null), later);
        stats.Goals.Unrecorded.Select(c => (c.Level, c.CompletedAt, c.Value)).ShouldBe([(1, next, 30m)]);
    }

    [Fact]
    public void the_config_parses_goals_strictly_and_names_the_field_at_fault()
    {
        static ValidationError? Check(string goals)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(
                """{"measures": {"co2": {}, "answered": {}, "correct": {}}, "ratios": {"accuracy": {"numerator": "correct", "denominator": "answered"}}, "goals": """
                + goals + "}");
            var config = TenantConfigParser.Parse(doc.RootElement, out var error);
            return error ?? TenantConfigValidator.Validate(config!);
        }
        Check("""{"a": {"measure": "co2", "window": "month", "targets": [10, 50]}}""").ShouldBeNull();
        Check("""{"a": {"measure": "co2", "window": "month", "targets": [50, 10]}}""")!.Field.ShouldBe("goals.a.targets");
        Check("""{"a": {"measure": "co2", "targets": [0]}}""")!.Field.ShouldBe("goals.a.targets");
        Check("""{"a": {"measure": "co2", "targets": []}}""")!.Field.ShouldBe("goals.a.targets");
        Check("""{"a": {"measure": "co2", "targets": [1,2,3,4,5,6,7,8,9,10,11]}}""")!.Field.ShouldBe("goals.a.targets");
        Check("""{"a": {"measure": "co2"}}""")!.Field.ShouldBe("goals.a.targets");
        Check("""{"a": {"measure": "nope", "targets": [1]}}""")!.Field.ShouldBe("goals.a.measure");
        Check("""{"a": {"ratio": "nope", "targets": [1]}}""")!.Field.ShouldBe("goals.a.ratio");
        Check("""{"a": {"measure": "co2", "ratio": "accuracy", "targets": [1]}}""")!.Field.ShouldBe("goals.a");
        Check("""{"a": {"targets": [1]}}""")!.Field.ShouldBe("goals.a");
        Check("""{"a": {"streak": true, "window": "day", "targets": [1]}}""")!.Field.ShouldBe("goals.a.window");
        Check("""{"a": {"streak": false, "targets": [1]}}""")!.Field.ShouldBe("goals.a.streak");
        Check("""{"a": {"measure": "co2", "window": "fortnight", "targets": [1]}}""")!.Field.ShouldBe("goals.a.window");
        Check("""{"a": {"measure": "co2", "window": "checkpoint", "targets": [1]}}""")!.Field.ShouldBe("goals.a.window");
        Check("""{"a": {"measure": "co2", "of": "max", "targets": [1]}}""")!.Field.ShouldBe("goals.a.of");
        Check("""{"a": {"ratio": "accuracy", "of": "sum", "targets": [1]}}""")!.Field.ShouldBe("goals.a.of");
        Check("""{"a": {"ratio": "accuracy", "targets": [1], "min_denominator": 0}}""")!.Field.ShouldBe("goals.a.min_denominator");
        Check("""{"a": {"measure": "co2", "targets": [1], "min_denominator": 3}}""")!.Field.ShouldBe("goals.a.min_denominator");
        Check("""{"a": {"measure": "co2", "targets": [1], "titel": "x"}}""")!.Field.ShouldBe("goals.a.titel");
        Check("{\"a\": {\"measure\": \"co2\", \"targets\": [1], \"title\": \"" + new string('x', 201) + "\"}}")!.Field.ShouldBe("goals.a.title");
        Check("""{"A-b": {"measure": "co2", "targets": [1]}}""")!.Field.ShouldBe("goals.A-b");
        Check("""{"a": {"measure": "co2", "targets": ["ten"]}}""")!.Field.ShouldBe("goals.a.targets[0]");
        Check("{" + string.Join(",", Enumerable.Range(0, 101).Select(i => $$"""
            "g{{i}}": {"measure": "co2", "targets": [1]}
            """)) + "}")!.Field.ShouldBe("goals");
    }
}
