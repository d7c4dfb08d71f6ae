using System.Globalization;
using System.Text;
using Tally.Domain.Boards;
using Tally.Domain.Checkpoints;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Stats;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench memory</c>: bytes of state a user grain holds (its <c>UserStats</c>, with the tier timeline
/// board cells and goal levels when the tenant has them), measured as managed heap growth over many users built from a
/// year of daily events, the grain's own state pruning applied as in the silo (defaults: 400 days of daily sums,
/// board cells of days and weeks for 35 days after they end, of months and years for 400). The Orleans
/// activation around it is not counted. Then the board shard side: bytes a shard holds per member of the climate
/// profile's boards and rollups, for users active this month only and for users with a year of weekly activity.
/// </summary>
internal static class MemoryBench
{
    internal sealed record Settings(int Users, int Members, bool WriteDocs);

    /// <summary>A user state to measure; with <paramref name="Topics"/> the user is a learner answering 5 questions a
    /// day, each of one of that many topics (broken down by topic), instead of one CO2 event a day.</summary>
    private sealed record Scenario(string Name, TenantConfig Config, int Topics = 0);

    public static Task<int> RunAsync(CliContext context, Settings s)
    {
        var scenarios = new[]
        {
            new Scenario("one measure, a year of daily events", Plain()),
            new Scenario("one measure, a year of daily events, checkpoint timeline (4-month windows)", Plain() with { Checkpoint = Checkpoint() }),
            new Scenario("one measure, a year of daily events, 12 leaderboards and 16 rollups (climate seed)", Climate()),
            new Scenario("one measure, a year of daily events, the climate profile's 3 goals", Plain() with { Goals = ClimateGoals() }),
            new Scenario("one measure, a year of daily events, 12 leaderboards, 16 rollups and 3 goals (climate profile)", Climate() with { Goals = ClimateGoals() }),
            new Scenario("a learner: two measures, 5 answers a day for a year, no breakdown", Learning() with { Breakdowns = null }, Topics: 200),
            new Scenario("a learner: two measures, 5 answers a day for a year over 200 topics, broken down by topic", Learning(), Topics: 200),
        };
        var rows = new List<(string Name, double Bytes, double SumBytes, bool Budgeted)>();
        foreach (var scenario in scenarios)
        {
            // Learners hold far more state each: fewer of them give as steady a figure.
            var users = scenario.Topics > 0 ? Math.Max(1, s.Users / 20) : s.Users;
            var (perUser, sums) = Measure(scenario, users);
            Console.WriteLine($"  {scenario.Name}: {perUser:N0} bytes per user ({sums:N0} of them period sums)");
            rows.Add((scenario.Name, perUser, sums, scenario.Config.Breakdowns is null));
        }
        var inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder()
            .AppendLine("## Memory per user")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench memory --users {s.Users} --write-docs`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}.")
            .AppendLine()
            .AppendLine(inv, $"Managed heap growth over {s.Users:N0} users, each built from one event a day for 365 days (values with cents) as the user grain builds it, then pruned as the grain prunes before saving. It is the state a user grain holds; the Orleans activation around it is not counted. Budget: **8 KiB** per user for one measure with a year of daily sums (with a checkpoint timeline too). Learners are built from 5 answers a day (each `answered` 1, `correct` 0 or 1, one of 200 topics at random) over {Math.Max(1, s.Users / 20):N0} users; a breakdown keeps per topic its all-time, year, month and the recent weeks' and days' sums of both measures and its events (bounded at 1,000 values a user, decision 033), so it has no per-user budget of its own.")
            .AppendLine()
            .AppendLine("| user state | bytes per user | of which period sums | within 8 KiB |")
            .AppendLine("| --- | ---: | ---: | --- |");
        foreach (var (name, bytes, sums, budgeted) in rows)
            body.AppendLine(inv, $"| {name} | {bytes:N0} | {sums:N0} | {(!budgeted ? "n/a" : bytes <= 8192 ? "yes" : "no")} |");

        var shards = new[] { ("one event this month", 1), ("an event a week for 52 weeks", 52) }
            .Select(w => (Name: w.Item1, Figures: MeasureShard(Climate(), s.Members, w.Item2))).ToList();
        body.AppendLine()
            .AppendLine("### A board shard per member")
            .AppendLine()
            .AppendLine(inv, $"Managed heap growth of one board shard's member table and boards (`ShardMembers`, `ShardBoard`s built by `ShardLoad` as a shard's rebuild builds them) over {s.Members:N0} users of the climate profile (12 leaderboards: global, country, org × all time, year, month, week; 16 rollups: global, country × all time, year, month, day; 8 countries, 50 orgs), with the silo's default grace for closed boards (days and weeks 35 days, months and years 400). A cell is one member on one board or rollup. The silo process, its Orleans runtime and user grains are not counted. Today is 2026-01-28.")
            .AppendLine()
            .AppendLine("| users' activity | cells per user | bytes per cell | bytes per user | at 10M users |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, f) in shards)
        {
            Console.WriteLine($"  board shard, {name}: {f.CellsPerUser:N1} cells per user, {f.BytesPerCell:N0} bytes per cell, {f.BytesPerUser:N0} bytes per user");
            body.AppendLine(inv, $"| {name} | {f.CellsPerUser:N1} | {f.BytesPerCell:N0} | {f.BytesPerUser:N0} | {f.BytesPerUser * 10_000_000 / (1L << 30):N1} GiB |");
        }
        BenchReport.Publish(context.RepoRoot, "memory", body.ToString(), s.WriteDocs);
        return Task.FromResult(TallyCli.Success);
    }

    private static TenantConfig Plain() => new()
    {
        TimeZone = "Europe/Berlin",
        Measures = new() { ["co2_saved_kg"] = new MeasureRule { Min = 0 } },
        Dimensions = ["country", "org"],
    };

    private static TenantConfig Learning() => new()
    {
        TimeZone = "Europe/Berlin",
        Measures = new() { ["answered"] = new MeasureRule { Min = 0 }, ["correct"] = new MeasureRule { Min = 0 } },
        Dimensions = ["topic", "question"],
        Breakdowns = ["topic"],
        Ratios = new() { ["accuracy"] = new RatioConfig { Numerator = "correct", Denominator = "answered" } },
    };

    private static CheckpointConfig Checkpoint() => new()
    {
        Measure = "co2_saved_kg", Months = 4,
        Tiers = [new() { Name = "bronze", Threshold = 0 }, new() { Name = "silver", Threshold = 100 }, new() { Name = "gold", Threshold = 500 }],
    };

    private static TenantConfig Climate() => Plain() with
    {
        Leaderboards = new LeaderboardConfig { Measures = ["co2_saved_kg"], Scopes = ["global", "country", "org"], Periods = ["all_time", "year", "month", "week"] },
        Rollups = new RollupConfig { Scopes = ["global", "country"], Periods = ["all_time", "year", "month", "day"] },
    };

    /// <summary>The goals of the climate profile (deploy/profiles/climate.json): monthly and all-time CO2 badges, a 7-day streak.</summary>
    private static Dictionary<string, GoalConfig> ClimateGoals()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(Profiles.SeedProfiles.Get("climate").Config().ToJsonString());
        return TenantConfigParser.Parse(doc.RootElement, out _)!.Goals!;
    }

    private static (double PerUser, double SumBytes) Measure(Scenario scenario, int users)
    {
        var config = scenario.Config;
        var plan = new BoardPlan(config);
        var zone = TimeZoneInfo.FindSystemTimeZoneById(config.TimeZone);
        var rules = config.Checkpoint is { } c ? new CheckpointRules(c, zone, config.Measures.Keys.ToArray()) : null;
        var start = new DateTimeOffset(2025, 1, 1, 9, 0, 0, TimeSpan.FromHours(1));
        var today = DateOnly.FromDateTime(start.AddDays(365).DateTime);
        var keep = new UserStats[users];
        var random = new Random(1);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long sumBytes = 0;
        for (var u = 0; u < users; u++)
        {
            var stats = new UserStats();
            if (rules is not null) stats.Checkpoint = new CheckpointTimeline();
            for (var d = 0; d < 365; d++)
            {
                var at = start.AddDays(d);
                if (scenario.Topics > 0)
                {
                    for (var a = 0; a < 5; a++)
                    {
                        var answer = new ValidEvent($"user-{u}", "answer", at.AddMinutes(a), $"k{u}-{d}-{a}",
                            [new MeasureValue("answered", 1), new MeasureValue("correct", random.Next(2))],
                            [new DimValue("topic", $"topic-{random.Next(scenario.Topics)}"), new DimValue("question", $"q{random.Next(5000)}")], null);
                        stats.Apply(u * 10_000L + d * 10 + a + 1, DateOnly.FromDateTime(at.DateTime), answer, plan);
                    }
                    continue;
                }
                var e = new ValidEvent($"user-{u}", "bike", at, $"k{u}-{d}", [new MeasureValue("co2_saved_kg", random.Next(1, 500) / 100m)],
                    [new DimValue("country", "DE"), new DimValue("org", "org-7")], null);
                stats.Apply(u * 1000L + d + 1, DateOnly.FromDateTime(at.DateTime), e, plan);
                stats.Checkpoint?.ApplyBatch([e], at, rules!);
            }
            stats.Prune(today, 400, new BoardGrace(35, 400), plan.Goals);
            stats.Goals.MarkRecorded(stats.Goals.Unrecorded.Count); // as the grain does once they are stored
            sumBytes += stats.SumBytes;
            keep[u] = stats;
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(keep);
        return ((after - before) / (double)users, sumBytes / (double)users);
    }

    /// <summary>One shard's member table and boards for <paramref name="users"/> users of <paramref name="config"/>, each with
    /// <paramref name="weeks"/> events a week apart up to today: bytes per user and per cell (a member on one board).</summary>
    private static (double CellsPerUser, double BytesPerCell, double BytesPerUser) MeasureShard(TenantConfig config, int users, int weeks)
    {
        var plan = new BoardPlan(config);
        var today = new DateOnly(2026, 1, 28);
        var random = new Random(2);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var members = new ShardMembers();
        var load = new ShardLoad(plan, new BoardGrace(35, 400), today);
        for (var u = 0; u < users; u++)
        {
            var userId = $"user-{u}";
            var stats = new UserStats();
            var dims = new[] { new DimValue("country", $"c{u % 8}"), new DimValue("org", $"org-{u % 50}") };
            for (var w = weeks - 1; w >= 0; w--)
            {
                var day = today.AddDays(-(7 * w + u % 7)); // this week's event falls in the current month
                var e = new ValidEvent(userId, "bike", day.ToDateTime(new TimeOnly(9, 0)), $"k{u}-{w}", [new MeasureValue("co2_saved_kg", random.Next(1, 500) / 100m)], dims, null);
                stats.Apply(u * 100L + weeks - w, day, e, plan);
            }
            load.Add(members.Of(userId), stats);
        }
        var boards = load.Boards(members.ByUserId).ToList();
        var cells = boards.Sum(b => (long)b.Count);
        load = null;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(boards);
        GC.KeepAlive(members);
        var bytes = (double)(after - before);
        return (cells / (double)users, bytes / cells, bytes / users);
    }
}
