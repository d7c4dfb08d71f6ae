using CsCheck;
using Shouldly;
using Tally.Domain.Checkpoints;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Goals;
using Tally.Domain.Stats;
using Xunit;

namespace Tally.Domain.Tests;

public class CheckpointTimelineTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private static CheckpointRules Rules(int months = 4, string downgrade = "one_tier", int grace = 0, TimeZoneInfo? zone = null, params (string Name, decimal Threshold)[] tiers) =>
        new(new CheckpointConfig
        {
            Measure = "sales", Months = months, Downgrade = downgrade, GraceDays = grace,
            Tiers = (tiers.Length == 0 ? [("bronze", 0m), ("silver", 1000m), ("gold", 5000m)] : tiers)
                .Select(t => new TierConfig { Name = t.Name, Threshold = t.Threshold }).ToList(),
        }, zone ?? Utc, ["sales", "units"]);

    private static int _key;

    private static ValidEvent Sale(string at, decimal sales, decimal units = 0) =>
        new("u", "sale", DateTimeOffset.Parse(at), $"k{Interlocked.Increment(ref _key)}", [new MeasureValue("sales", sales), new MeasureValue("units", units)], [], null);

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text);

    [Fact]
    public void windows_are_not_calendar_aligned_gold_on_jan_15_is_reevaluated_on_may_15()
    {
        var rules = Rules();
        var a = new CheckpointTimeline();
        a.ApplyBatch([Sale("2025-01-10T09:00:00Z", 100), Sale("2025-01-15T12:00:00Z", 5000)], At("2025-01-15T12:00:00Z"), rules);
        a.View(rules).Tier.ShouldBe("gold");
        a.View(rules).TierAchievedAt.ShouldBe(At("2025-01-15T12:00:00Z"));
        a.View(rules).NextCheckpointAt.ShouldBe(At("2025-05-15T12:00:00Z"));
        var b = new CheckpointTimeline();
        b.ApplyBatch([Sale("2025-02-03T08:00:00Z", 6000)], At("2025-02-03T08:00:00Z"), rules);
        b.View(rules).NextCheckpointAt.ShouldBe(At("2025-06-03T08:00:00Z"));
        // The entry and the promotion are both history; the promotion's window holds the promoting sale.
        a.History.Select(h => h.Reason).ShouldBe([TierReason.Entered, TierReason.Promoted]);
        a.History[1].Window["sales"].ShouldBe(5100m);
        a.History[1].From.ShouldBe("bronze");
        a.View(rules).Window["sales"].ShouldBe(0m);
    }

    [Theory]
    [InlineData("2025-01-31T10:00:00Z", 1, "2025-02-28T10:00:00Z")]
    [InlineData("2024-01-31T10:00:00Z", 1, "2024-02-29T10:00:00Z")]
    [InlineData("2024-02-29T10:00:00Z", 12, "2025-02-28T10:00:00Z")]
    [InlineData("2025-03-31T23:59:59Z", 2, "2025-05-31T23:59:59Z")]
    [InlineData("2025-08-31T00:00:00Z", 6, "2026-02-28T00:00:00Z")]
    public void month_arithmetic_clamps_to_the_last_day(string start, int months, string end) =>
        LocalTime.AddMonths(At(start), months, Utc).ShouldBe(At(end));

    [Fact]
    public void a_local_time_in_a_dst_gap_moves_forward_and_one_that_exists_twice_is_the_first()
    {
        // Berlin jumps from 02:00 to 03:00 on 2025-03-30: 02:30 does not exist that day.
        LocalTime.AddMonths(At("2025-01-30T02:30:00+01:00"), 2, Berlin).ShouldBe(At("2025-03-30T03:30:00+02:00"));
        // Berlin falls back from 03:00 to 02:00 on 2025-10-26: 02:30 happens twice, the first at +02:00.
        LocalTime.AddMonths(At("2025-08-26T02:30:00+02:00"), 2, Berlin).ShouldBe(At("2025-10-26T02:30:00+02:00"));
        // Across a change the local time of day is kept, not the number of hours.
        LocalTime.AddMonths(At("2025-02-15T12:00:00+01:00"), 2, Berlin).ShouldBe(At("2025-04-15T12:00:00+02:00"));
    }

    [Fact]
    public void a_window_at_or_above_the_threshold_is_kept_below_it_is_demoted_one_tier()
    {
        var rules = Rules();
        var t = new CheckpointTimeline();
        t.ApplyBatch([Sale("2025-01-01T00:00:00Z", 5000)], At("2025-01-01T00:00:00Z"), rules); // gold at once
        t.ApplyBatch([Sale("2025-03-01T00:00:00Z", 5000)], At("2025-03-01T00:00:00Z"), rules);  // enough to keep gold
        t.Advance(At("2025-05-01T00:00:00Z"), rules).ShouldBeTrue();
        t.History[^1].Reason.ShouldBe(TierReason.Kept);
        t.History[^1].At.ShouldBe(At("2025-05-01T00:00:00Z"));
        t.ApplyBatch([Sale("2025-06-01T00:00:00Z", 1200)], At("2025-06-01T00:00:00Z"), rules); // silver level only
        t.Advance(At("2025-09-01T00:00:00Z"), rules);
        t.History[^1].Reason.ShouldBe(TierReason.Demoted);
        (t.History[^1].From, t.History[^1].To).ShouldBe(("gold", "silver"));
        t.History[^1].Window["sales"].ShouldBe(1200m);
    }

    [Fact]
    public void recompute_drops_to_the_tier_the_sum_reaches_and_empty_windows_are_decided_in_a_row()
    {
        var rules = Rules(downgrade: "recompute", tiers: [("bronze", 0m), ("silver", 1000m), ("gold", 5000m), ("platinum", 9000m)]);
        var t = new CheckpointTimeline();
        t.ApplyBatch([Sale("2025-01-01T00:00:00Z", 9500)], At("2025-01-01T00:00:00Z"), rules); // platinum
        t.ApplyBatch([Sale("2025-02-01T00:00:00Z", 1500)], At("2025-02-01T00:00:00Z"), rules);
        t.Advance(At("2025-05-01T00:00:00Z"), rules);
        (t.History[^1].From, t.History[^1].To).ShouldBe(("platinum", "silver"));
        // No events for a year: three windows decided in a row, each with sum 0, down to the entry tier and kept there.
        t.Advance(At("2026-05-01T00:00:00Z"), rules);
        t.History.Skip(3).Select(h => (h.Reason, h.To)).ShouldBe([(TierReason.Demoted, "bronze"), (TierReason.Kept, "bronze"), (TierReason.Kept, "bronze")]);
        t.History.Skip(3).Select(h => h.At).ShouldBe([At("2025-09-01T00:00:00Z"), At("2026-01-01T00:00:00Z"), At("2026-05-01T00:00:00Z")]);
    }

    [Fact]
    public void a_late_event_changes_no_tier_and_is_counted()
    {
        var rules = Rules();
        var t = new CheckpointTimeline();
        t.ApplyBatch([Sale("2025-01-10T00:00:00Z", 100)], At("2025-01-10T00:00:00Z"), rules);
        t.ApplyBatch([Sale("2025-01-05T00:00:00Z", 9999)], At("2025-01-20T00:00:00Z"), rules); // before the entry
        t.View(rules).Tier.ShouldBe("bronze");
        t.View(rules).LateEvents.ShouldBe(1);
        t.Advance(At("2025-05-10T00:00:00Z"), rules);
        // Dated in the decided window, arriving after its decision: late too.
        t.ApplyBatch([Sale("2025-05-09T00:00:00Z", 9999)], At("2025-05-11T00:00:00Z"), rules);
        t.View(rules).LateEvents.ShouldBe(2);
        t.View(rules).Tier.ShouldBe("bronze");
    }

    [Fact]
    public void events_of_one_request_apply_in_time_order_so_none_is_late_to_another()
    {
        var rules = Rules();
        var t = new CheckpointTimeline();
        // A backdated import arriving in November: windows are decided in event time between its events.
        t.ApplyBatch([Sale("2025-06-01T00:00:00Z", 300), Sale("2025-01-15T00:00:00Z", 5000), Sale("2025-03-01T00:00:00Z", 6000)], At("2025-11-01T00:00:00Z"), rules);
        t.View(rules).LateEvents.ShouldBe(0);
        t.History.Select(h => (h.Reason, h.At)).ShouldBe([
            (TierReason.Entered, At("2025-01-15T00:00:00Z")), (TierReason.Promoted, At("2025-01-15T00:00:00Z")),
            (TierReason.Kept, At("2025-05-15T00:00:00Z")), (TierReason.Demoted, At("2025-09-15T00:00:00Z"))]);
        t.History[2].Window["sales"].ShouldBe(6000m);
        t.History[3].Window["sales"].ShouldBe(300m);
    }

    [Fact]
    public void with_grace_an_event_dated_before_the_end_still_counts_if_it_arrives_before_the_decision()
    {
        var rules = Rules(grace: 7);
        var t = new CheckpointTimeline();
        t.ApplyBatch([Sale("2025-01-01T00:00:00Z", 5000)], At("2025-01-01T00:00:00Z"), rules); // gold, window to May 1
        t.ApplyBatch([Sale("2025-05-03T00:00:00Z", 700)], At("2025-05-03T00:00:00Z"), rules);  // dated after the end: next window
        t.ApplyBatch([Sale("2025-04-30T00:00:00Z", 5000)], At("2025-05-05T00:00:00Z"), rules); // before the end, arrives in grace
        t.Advance(At("2025-05-08T00:00:00Z"), rules);
        var decided = t.History.Single(h => h.Reason == TierReason.Kept);
        decided.At.ShouldBe(At("2025-05-08T00:00:00Z"));
        decided.Window["sales"].ShouldBe(5000m);
        t.View(rules).TierAchievedAt.ShouldBe(At("2025-05-01T00:00:00Z"));
        t.View(rules).Window["sales"].ShouldBe(700m);
    }

    [Fact]
    public void with_grace_a_promotion_earned_after_the_end_takes_effect_at_the_decision()
    {
        var rules = Rules(grace: 5);
        var t = new CheckpointTimeline();
        t.ApplyBatch([Sale("2025-01-01T00:00:00Z", 10)], At("2025-01-01T00:00:00Z"), rules);
        t.ApplyBatch([Sale("2025-05-02T00:00:00Z", 1500)], At("2025-05-02T00:00:00Z"), rules); // next window, silver level
        t.View(rules).Tier.ShouldBe("bronze");
        t.Advance(At("2025-05-06T00:00:00Z"), rules);
        t.History.Select(h => (h.Reason, h.At)).Skip(1).ShouldBe([
            (TierReason.Kept, At("2025-05-06T00:00:00Z")), (TierReason.Promoted, At("2025-05-06T00:00:00Z"))]);
        t.View(rules).Tier.ShouldBe("silver");
    }

    [Fact]
    public void a_renamed_tier_places_the_user_by_the_threshold_it_had_reached()
    {
        var t = new CheckpointTimeline();
        t.ApplyBatch([Sale("2025-01-01T00:00:00Z", 5000)], At("2025-01-01T00:00:00Z"), Rules());
        var renamed = Rules(tiers: [("basic", 0m), ("plus", 2000m), ("max", 8000m)]);
        t.View(renamed).Tier.ShouldBe("plus"); // gold's 5000 reaches plus, not max
    }

    // ----- the incremental timeline equals a from-scratch derivation -----

    private static readonly string[] Zones = ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "Australia/Lord_Howe"];

    private sealed record Scenario(CheckpointReference.Config Config, List<CheckpointReference.Batch> Batches, DateTimeOffset Now, List<DateTimeOffset> Scheduler, List<bool> Reload);

    private static readonly Gen<Scenario> GenScenario =
        // Thresholds and many sales are multiples of 50, so sums often land exactly on a threshold.
        Gen.Select(Gen.Int[0, Zones.Length - 1], Gen.Int[1, 4], Gen.Int[1, 6], Gen.OneOf(Gen.Const(0), Gen.Int[0, 8], Gen.Const(31)), Gen.Bool, Gen.Int[1, 60].Select(x => x * 50).Array[3])
            .SelectMany((zone, tiers, months, grace, recompute, steps) =>
            {
                var names = new[] { "bronze", "silver", "gold", "platinum" }[..tiers];
                var thresholds = new decimal[tiers];
                for (var i = 1; i < tiers; i++) thresholds[i] = thresholds[i - 1] + steps[i - 1];
                var config = new CheckpointReference.Config(names, thresholds, months, grace, recompute, TimeZoneInfo.FindSystemTimeZoneById(Zones[zone]));
                var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
                var evGen = Gen.Select(Gen.Int[-200 * 24, 60], Gen.OneOf(Gen.Int[0, 250_000], Gen.Int[0, 50].Select(x => x * 5000)), Gen.Int[0, 5])
                    .Select((hoursBack, cents, units) => (hoursBack, cents, units));
                var batchGen = Gen.Select(Gen.Int[0, 2500], evGen.Array[1, 5], Gen.Int[0, 3000], Gen.Bool)
                    .Select((gapHours, events, schedulerHours, reload) => (gapHours, events, schedulerHours, reload));
                return Gen.Select(batchGen.Array[1, 14], Gen.Int[0, 400 * 24]).Select((batches, tailHours) =>
                {
                    var list = new List<CheckpointReference.Batch>();
                    var scheduler = new List<DateTimeOffset>();
                    var reload = new List<bool>();
                    var arrival = start;
                    var key = 0;
                    foreach (var (gap, events, schedulerHours, doReload) in batches)
                    {
                        var previous = arrival;
                        arrival = arrival.AddHours(gap);
                        // The scheduler may run at any instant before the batch arrives; it must change nothing.
                        scheduler.Add(previous.AddHours(Math.Min(schedulerHours, gap)));
                        reload.Add(doReload);
                        var at = arrival;
                        list.Add(new CheckpointReference.Batch(arrival, events.Select(e =>
                            new CheckpointReference.Ev(at.AddMinutes(Math.Min(e.hoursBack * 60, 60)), $"k{key++}", e.cents / 100m, e.units)).ToList()));
                    }
                    return new Scenario(config, list, arrival.AddHours(tailHours), scheduler, reload);
                });
            });

    [Fact]
    public void the_incremental_timeline_equals_a_from_scratch_derivation_whatever_the_order_clock_and_zone()
    {
        GenScenario.Sample(s =>
        {
            var c = s.Config;
            var rules = new CheckpointRules(new CheckpointConfig
            {
                Measure = "sales", Months = c.Months, GraceDays = c.GraceDays, Downgrade = c.Recompute ? "recompute" : "one_tier",
                Tiers = c.Tiers.Select((n, i) => new TierConfig { Name = n, Threshold = c.Thresholds[i] }).ToList(),
            }, c.Zone, ["sales", "units"]);
            var stats = new UserStats { Checkpoint = new CheckpointTimeline() };
            for (var i = 0; i < s.Batches.Count; i++)
            {
                stats.Checkpoint!.Advance(s.Scheduler[i], rules);
                if (s.Reload[i]) stats = UserStatsCodec.Decode(UserStatsCodec.Encode(stats)); // a save and a recovery
                var batch = s.Batches[i];
                stats.Checkpoint!.ApplyBatch(batch.Events.Select(e => new ValidEvent("u", "sale", e.At, e.Key,
                    [new MeasureValue("sales", e.Sales), new MeasureValue("units", e.Units)], [], null)).Reverse().ToList(), batch.Arrival, rules);
            }
            var timeline = stats.Checkpoint!;
            timeline.Advance(s.Now, rules);
            var expected = CheckpointReference.Derive(c, s.Batches, s.Now);

            timeline.History.Select(h => new CheckpointReference.Entry(h.At, h.Reason.ToString().ToLowerInvariant(), h.From, h.To, h.WindowStart, h.WindowEnd,
                h.Window.GetValueOrDefault("sales"), h.Window.GetValueOrDefault("units"))).ToList().ShouldBe(expected.History);
            var view = timeline.View(rules);
            view.Tier.ShouldBe(expected.Tier);
            view.TierAchievedAt.ShouldBe(expected.WindowStart!.Value);
            view.NextCheckpointAt.ShouldBe(expected.WindowEnd!.Value);
            view.Window["sales"].ShouldBe(expected.Sales);
            view.Window["units"].ShouldBe(expected.Units);
            view.LateEvents.ShouldBe(expected.Late);
        }, iter: 3000);
    }

    [Fact]
    public void checkpoint_goals_complete_in_the_window_each_event_counts_in_as_a_from_scratch_derivation_says()
    {
        // Missions on the checkpoint window: sales summed, and events counted; a promotion starts a new instance.
        var goals = new Dictionary<string, GoalConfig>
        {
            ["sell"] = new() { Measure = "sales", Window = "checkpoint", Targets = [300, 1500, 4000] },
            ["busy"] = new() { Measure = "units", Of = "actions", Window = "checkpoint", Targets = [2, 5] },
        };
        GenScenario.Sample(s =>
        {
            var c = s.Config;
            var config = new TenantConfig { Measures = new() { ["sales"] = new(), ["units"] = new() }, Goals = goals };
            var rules = new CheckpointRules(new CheckpointConfig
            {
                Measure = "sales", Months = c.Months, GraceDays = c.GraceDays, Downgrade = c.Recompute ? "recompute" : "one_tier",
                Tiers = c.Tiers.Select((n, i) => new TierConfig { Name = n, Threshold = c.Thresholds[i] }).ToList(),
            }, c.Zone, ["sales", "units"]);
            var plan = GoalPlan.From(config);
            var stats = new UserStats { Checkpoint = new CheckpointTimeline() };
            var completions = new List<GoalCompletion>();
            void Drain()
            {
                completions.AddRange(stats.Goals.Unrecorded);
                stats.Goals.MarkRecorded(stats.Goals.Unrecorded.Count);
            }
            for (var i = 0; i < s.Batches.Count; i++)
            {
                stats.Checkpoint!.Advance(s.Scheduler[i], rules, stats.Goals.CheckpointCounter(plan, c.Zone));
                Drain();
                if (s.Reload[i]) stats = UserStatsCodec.Decode(UserStatsCodec.Encode(stats));
                var batch = s.Batches[i];
                stats.Checkpoint!.ApplyBatch(batch.Events.Select(e => new ValidEvent("u", "sale", e.At, e.Key,
                    [new MeasureValue("sales", e.Sales), new MeasureValue("units", e.Units)], [], null)).Reverse().ToList(), batch.Arrival, rules,
                    stats.Goals.CheckpointCounter(plan, c.Zone));
                Drain();
            }
            stats.Checkpoint!.Advance(s.Now, rules, stats.Goals.CheckpointCounter(plan, c.Zone));
            Drain();

            var expected = new List<(string, int, string, DateTimeOffset, decimal)>();
            var levels = new Dictionary<(string, DateTimeOffset), int>();
            var counts = new Dictionary<DateTimeOffset, int>();
            CheckpointReference.Derive(c, s.Batches, s.Now, (start, e, sales, units) =>
            {
                counts[start] = counts.GetValueOrDefault(start) + 1; // every event carries units
                foreach (var (goal, progress) in new[] { ("sell", sales), ("busy", (decimal)counts[start]) })
                {
                    var targets = goals[goal].Targets;
                    var level = levels.GetValueOrDefault((goal, start));
                    while (level < targets.Count && progress >= targets[level])
                    {
                        level++;
                        expected.Add((goal, level, GoalState.FormatInstant(start, c.Zone), e.At, progress));
                    }
                    levels[(goal, start)] = level;
                }
            });
            completions.Select(x => (x.Goal, x.Level, x.WindowKey, x.CompletedAt, x.Value)).ToList().ShouldBe(expected);
        }, iter: 1500);
    }
}
