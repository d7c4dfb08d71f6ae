using System.Globalization;
using System.Text.Json.Nodes;
using Npgsql;
using Shouldly;
using Tally.Cli.Profiles;
using Tally.Contracts;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// Each seed system on its profile from deploy/profiles (real HTTP, silo, PostgreSQL and Redis): a small workload,
/// and what that system's users read, checked against a reference computed here from the same events.
/// The fixture's clock stands at 2025-11-22T12:00Z; every profile's tenant time zone is UTC.
/// </summary>
[Collection(ApiCollection.Name)]
public class SeedProfileTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(30);

    private sealed record Sent(string User, DateTimeOffset At, string Key, Dictionary<string, decimal> Measures, Dictionary<string, string> Dims, string Action);

    private static JsonObject ToJson(Sent e) => new()
    {
        ["user_id"] = e.User,
        ["action"] = e.Action,
        ["occurred_at"] = e.At.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["idempotency_key"] = e.Key,
        ["measures"] = new JsonObject(e.Measures.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)JsonValue.Create(m.Value)))),
        ["dims"] = new JsonObject(e.Dims.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)JsonValue.Create(d.Value)))),
    };

    private async Task PostAll(string key, IEnumerable<Sent> events)
    {
        foreach (var chunk in events.Chunk(400))
        {
            var (status, body) = await Post(key, new JsonObject { ["events"] = new JsonArray(chunk.Select(e => (JsonNode)ToJson(e)).ToArray()) });
            status.ShouldBe(200);
            body["rejected"]!.GetValue<int>().ShouldBe(0, body.ToJsonString());
        }
    }

    private static decimal Dec(JsonNode? node) => node!.GetValue<decimal>();

    [Fact]
    public async Task climate_ranks_month_sums_and_the_country_US_2025_rollup_match_the_events()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("climate").Config());
        var rng = new Random(2025);
        string[] countries = ["US", "DE", "FR"];
        var events = new List<Sent>();
        for (var u = 0; u < 30; u++)
        {
            var user = $"user_{u:D3}";
            var dims = new Dictionary<string, string> { ["country"] = countries[u % 3], ["org"] = $"org_{u % 4}" };
            for (var i = 0; i < 6; i++)
            {
                // From 2024-12 to 2025-11-22 (before the clock): some in other years and months.
                var at = new DateTimeOffset(2024, 12, 1, 8, 0, 0, TimeSpan.Zero).AddDays(rng.Next(0, 356)).AddMinutes(rng.Next(0, 600));
                var kg = Math.Round((decimal)(rng.NextDouble() * 20), 3) + 0.001m;
                events.Add(new Sent(user, at, $"c-{u}-{i}", new() { ["co2_saved_kg"] = kg }, dims, "bike_commute"));
            }
        }
        await PostAll(t.IngestKey, events);

        var totals = events.GroupBy(e => e.User).ToDictionary(g => g.Key, g => g.Sum(e => e.Measures["co2_saved_kg"]));
        totals.Values.Distinct().Count().ShouldBe(totals.Count, "the workload has no tied totals, so ranks follow scores alone");
        var byScore = totals.OrderByDescending(kv => kv.Value).Select(kv => kv.Key).ToList();
        var country = events.GroupBy(e => e.User).ToDictionary(g => g.Key, g => g.First().Dims["country"]);
        foreach (var user in new[] { "user_000", "user_007", "user_013", "user_029" })
        {
            var globalRank = byScore.IndexOf(user) + 1;
            var countryRank = byScore.Where(x => country[x] == country[user]).ToList().IndexOf(user) + 1;
            var month = events.Where(e => e.User == user && e.At.Year == 2025 && e.At.Month == 11).Sum(e => e.Measures["co2_saved_kg"]);
            var stats = await Eventually.WaitFor(() => Get(t.ReadKey, $"/v1/users/{user}/stats"),
                r => r.Body?["ranks"]?["co2_saved_kg"]?["global"]?["all_time"]?.GetValue<long>() == globalRank
                     && r.Body["ranks"]!["co2_saved_kg"]!["country"]?["all_time"]?.GetValue<long>() == countryRank,
                Freshness, $"{user}: global rank {globalRank}, country rank {countryRank}");
            Dec(stats.Body!["measures"]!["co2_saved_kg"]!["all_time"]).ShouldBe(totals[user]);
            Dec(stats.Body["measures"]!["co2_saved_kg"]!["month"]).ShouldBe(month);
        }

        var us2025 = events.Where(e => e.Dims["country"] == "US" && e.At.Year == 2025).ToList();
        var rollup = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/rollups/by-key/country_US_2025"),
            r => r.Body?["actions"]?.GetValue<long>() == us2025.Count, Freshness, "country_US_2025 with every US event of 2025");
        Dec(rollup.Body!["total"]).ShouldBe(us2025.Sum(e => e.Measures["co2_saved_kg"]));
        rollup.Body["users"]!.GetValue<long>().ShouldBe(us2025.Select(e => e.User).Distinct().Count());
    }

    [Fact]
    public async Task learning_accuracy_per_user_and_success_rate_per_question_match_the_answers()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("learning").Config());
        var rng = new Random(17);
        var events = new List<Sent>();
        for (var u = 0; u < 12; u++)
            for (var i = 0; i < 25; i++)
            {
                var correct = rng.NextDouble() < 0.3 + u * 0.05 ? 1 : 0;
                var at = ApiFixture.Now.AddDays(-rng.Next(0, 60)).AddMinutes(-rng.Next(1, 600));
                events.Add(new Sent($"learner_{u}", at, $"a-{u}-{i}", new() { ["answered"] = 1, ["correct"] = correct },
                    new() { ["question"] = $"q{rng.Next(1, 6)}" }, "answer"));
            }
        await PostAll(t.IngestKey, events);

        foreach (var user in new[] { "learner_0", "learner_5", "learner_11" })
        {
            var mine = events.Where(e => e.User == user).ToList();
            var (status, stats) = await Get(t.ReadKey, $"/v1/users/{user}/stats");
            status.ShouldBe(200);
            Dec(stats!["ratios"]!["accuracy"]!["all_time"]).ShouldBe(mine.Sum(e => e.Measures["correct"]) / mine.Sum(e => e.Measures["answered"]));
        }
        foreach (var question in new[] { "q1", "q3" })
        {
            var answers = events.Where(e => e.Dims["question"] == question).ToList();
            var correct = answers.Sum(e => e.Measures["correct"]);
            var ratio = await Eventually.WaitFor(() => Get(t.ReadKey, $"/v1/ratios/accuracy?scope=question:{question}&period=all_time"),
                r => r.Body?["denominator"] is { } d && d.GetValue<decimal>() == answers.Count, Freshness, $"{question}'s answers");
            Dec(ratio.Body!["numerator"]).ShouldBe(correct);
            Dec(ratio.Body["value"]).ShouldBe(correct / answers.Count);
            ratio.Body["users"]!.GetValue<long>().ShouldBe(answers.Select(e => e.User).Distinct().Count());
        }
        // The top-100 board of correct answers: the best learner first.
        var best = events.GroupBy(e => e.User).Select(g => (User: g.Key, Correct: g.Sum(e => e.Measures["correct"]))).OrderByDescending(x => x.Correct).First();
        var board = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/leaderboards/correct?scope=global&period=all_time&limit=100"),
            r => r.Body?["members"]?.GetValue<long>() == 12, Freshness, "12 learners on the board");
        Dec(board.Body!["entries"]![0]!["score"]).ShouldBe(best.Correct);
    }

    [Fact]
    public async Task analytics_daily_totals_per_event_type_match_the_events_in_the_rollups_and_the_daily_summary()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("analytics").Config());
        var rng = new Random(5);
        string[] types = ["page_view", "click", "purchase"];
        var events = new List<Sent>();
        for (var i = 0; i < 600; i++)
        {
            var type = types[rng.Next(3)];
            var at = new DateTimeOffset(2025, 11, 19, 0, 0, 0, TimeSpan.Zero).AddMinutes(rng.Next(0, 3 * 1440));
            events.Add(new Sent($"visitor_{rng.Next(40)}", at, $"e-{i}", new() { ["events"] = 1 }, new() { ["event_type"] = type }, type));
        }
        await PostAll(t.IngestKey, events);

        foreach (var day in new[] { "2025-11-19", "2025-11-20", "2025-11-21" })
        {
            var ofDay = events.Where(e => e.At.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) == day).ToList();
            var global = await Eventually.WaitFor(() => Get(t.ReadKey, $"/v1/rollups/events?scope=global&period=day&key={day}"),
                r => r.Body?["actions"]?.GetValue<long>() == ofDay.Count, Freshness, $"{day}: {ofDay.Count} events");
            Dec(global.Body!["total"]).ShouldBe(ofDay.Count);
            var purchases = ofDay.Where(e => e.Action == "purchase").ToList();
            var purchase = await Eventually.WaitFor(() => Get(t.ReadKey, $"/v1/rollups/events?scope=event_type:purchase&period=day&key={day}"),
                r => r.Body?["actions"]?.GetValue<long>() == purchases.Count, Freshness, $"{day}: {purchases.Count} purchases");
            purchase.Body!["users"]!.GetValue<long>().ShouldBe(purchases.Select(e => e.User).Distinct().Count());
        }

        // The seed's daily summary per app: daily_analytics_summary (from user_daily_stats, written by the snapshot job).
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).SnapshotNow();
        await using var db = NpgsqlDataSource.Create(Fixture.Db.ConnectionString);
        await using var cmd = db.CreateCommand("SELECT day::text, action, events, active_users FROM daily_analytics_summary WHERE tenant_id = $1");
        cmd.Parameters.AddWithValue(t.Id);
        var summary = new Dictionary<(string, string), (long, long)>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) summary[(reader.GetString(0), reader.GetString(1))] = (reader.GetInt64(2), reader.GetInt64(3));
        var reference = events.GroupBy(e => (e.At.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), e.Action))
            .ToDictionary(g => g.Key, g => ((long)g.Count(), (long)g.Select(e => e.User).Distinct().Count()));
        string Show(IEnumerable<KeyValuePair<(string, string), (long, long)>> rows) => string.Join("; ", rows.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}"));
        Show(summary).ShouldBe(Show(reference));
    }

    [Fact]
    public async Task loyalty_a_promotion_and_a_demotion_across_a_checkpoint()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("loyalty").Config());
        Sent Sale(string user, string at, decimal sales, int units) =>
            new(user, DateTimeOffset.Parse(at, CultureInfo.InvariantCulture), $"{user}-{at}", new() { ["sales"] = sales, ["units"] = units }, new() { ["country"] = "US" }, "sale");
        await PostAll(t.IngestKey, [
            // creator_a: bronze, promoted to silver (1,300 in the window), then nothing: demoted to bronze at the
            // checkpoint 4 months after the promotion, then kept.
            Sale("creator_a", "2025-03-01T10:00:00Z", 100, 1),
            Sale("creator_a", "2025-03-10T10:00:00Z", 1200, 6),
            // creator_b: straight to gold, and 5,600 in its window keeps gold at the checkpoint.
            Sale("creator_b", "2025-05-01T09:00:00Z", 5000, 20),
            Sale("creator_b", "2025-06-01T09:00:00Z", 5600, 25),
        ]);

        var (_, a) = await Get(t.ReadKey, "/v1/users/creator_a/tiers");
        a!["entries"]!.AsArray().Select(e => $"{e!["reason"]}:{e["from"]}>{e["to"]}@{e["at"]!.GetValue<DateTimeOffset>():yyyy-MM-dd}").ShouldBe([
            "entered:>bronze@2025-03-01", "promoted:bronze>silver@2025-03-10", "demoted:silver>bronze@2025-07-10", "kept:bronze>bronze@2025-11-10"]);
        var (_, stats) = await Get(t.ReadKey, "/v1/users/creator_a/stats");
        stats!["checkpoint"]!["tier"]!.GetValue<string>().ShouldBe("bronze");
        stats["checkpoint"]!["next_checkpoint_at"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.Parse("2026-03-10T10:00:00Z"));

        var (_, b) = await Get(t.ReadKey, "/v1/users/creator_b/tiers");
        b!["entries"]!.AsArray().Select(e => $"{e!["reason"]}:{e["from"]}>{e["to"]}").ShouldBe([
            "entered:>bronze", "promoted:bronze>gold", "kept:gold>gold"]);
        Dec(b["entries"]![2]!["window"]!["sales"]).ShouldBe(5600m);
        Dec(b["entries"]![2]!["window"]!["units"]).ShouldBe(25m);
    }

    [Fact]
    public async Task events_log_counts_each_sites_events_per_month_and_keeps_the_payloads()
    {
        var sites = new[] { await Fixture.CreateTenantAsync(SeedProfiles.Get("events_log").Config()), await Fixture.CreateTenantAsync(SeedProfiles.Get("events_log").Config()) };
        var counts = new[] { 37, 81 };
        for (var s = 0; s < sites.Length; s++)
        {
            var batch = new JsonArray();
            for (var i = 0; i < counts[s]; i++)
                batch.Add(new JsonObject
                {
                    ["user_id"] = $"visitor_{i % 9}", ["action"] = "page_view", ["idempotency_key"] = $"p-{i}",
                    ["occurred_at"] = ApiFixture.Now.AddHours(-i).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    ["measures"] = new JsonObject { ["events"] = 1 }, ["dims"] = new JsonObject { ["event_type"] = "page_view" },
                    ["payload"] = new JsonObject { ["path"] = $"/p/{i}", ["tags"] = new JsonArray("a", i) },
                });
            var (status, body) = await Post(sites[s].IngestKey, new JsonObject { ["events"] = batch });
            status.ShouldBe(200);
            body["accepted"]!.GetValue<int>().ShouldBe(counts[s]);
        }

        // The seed's per-site monthly metering: the cluster admin's usage lists every tenant.
        var usage = await Eventually.WaitFor(() => Get(ApiFixture.AdminKey, "/v1/usage?month=2025-11"),
            r => sites.Select((site, s) => r.Body?["tenants"]?.AsArray().Any(x => (string?)x!["tenant"] == site.Id && (long?)x["events_accepted"] == counts[s]) == true).All(ok => ok),
            Freshness, "each site's events in the month's usage");
        for (var s = 0; s < sites.Length; s++)
        {
            var row = usage.Body!["tenants"]!.AsArray().Single(x => (string?)x!["tenant"] == sites[s].Id)!;
            row["events_accepted"]!.GetValue<long>().ShouldBe(counts[s]);
            var (_, own) = await Get(sites[s].ReadKey, "/v1/usage?month=2025-11");
            own!["events_accepted"]!.GetValue<long>().ShouldBe(counts[s]);
        }

        await using var db = NpgsqlDataSource.Create(Fixture.Db.ConnectionString);
        await using var cmd = db.CreateCommand("SELECT payload::text FROM user_action_events WHERE tenant_id = $1 AND idempotency_key = 'p-5'");
        cmd.Parameters.AddWithValue(sites[1].Id);
        JsonNode.DeepEquals(JsonNode.Parse((string)(await cmd.ExecuteScalarAsync())!), JsonNode.Parse("""{"path": "/p/5", "tags": ["a", 5]}""")).ShouldBeTrue();
    }
}
