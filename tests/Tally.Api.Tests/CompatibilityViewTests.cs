using System.Globalization;
using System.Text.Json.Nodes;
using Npgsql;
using Shouldly;
using Tally.Cli.Profiles;
using Tally.Cli.Tests;
using Tally.Contracts;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// <c>tally compat</c>: the climate application's old queries, run against the views, answer what the API answers,
/// and keep answering as the data changes (views, not copies).
/// </summary>
[Collection(ApiCollection.Name)]
public class CompatibilityViewTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(30);

    private static JsonObject Climate(string user, string key, decimal kg, string at, string country, int quantity) => new()
    {
        ["user_id"] = user, ["action"] = "bike_commute", ["occurred_at"] = at, ["idempotency_key"] = key,
        ["measures"] = new JsonObject { ["co2_saved_kg"] = kg },
        ["dims"] = new JsonObject { ["country"] = country, ["org"] = "org_1" },
        ["payload"] = new JsonObject { ["quantity"] = quantity },
    };

    [Fact]
    public async Task the_old_applications_queries_on_the_views_answer_what_the_api_answers()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("climate").Config());
        var events = new JsonArray();
        var rng = new Random(7);
        for (var u = 0; u < 12; u++)
            for (var i = 0; i < 4; i++)
                events.Add(Climate($"user_{u:D2}", $"k-{u}-{i}", Math.Round((decimal)rng.NextDouble() * 10, 3) + u,
                    ApiFixture.Now.AddDays(-i * 20 - u).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), u % 2 == 0 ? "US" : "DE", i + 1));
        var (status, _) = await Post(t.IngestKey, new JsonObject { ["events"] = events });
        status.ShouldBe(200);
        await WaitForBoards(t, "user_11", 4 * 12);
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).SnapshotNow();

        var schema = "compat_" + t.Id;
        var (exit, output, error) = await CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", t.Id, "--schema", schema);
        exit.ShouldBe(0, error);
        output.ShouldContain($"{schema}.user_action_logs");
        await using var db = NpgsqlDataSource.Create(Fixture.Db.ConnectionString);

        // Top-N of a scope and period, as the old leaderboard page read it.
        var top = await Rows(db, $"SELECT user_id, rank, co2_saved_kg FROM {schema}.leaderboard_snapshots WHERE scope = 'global' AND period = 'monthly' ORDER BY rank LIMIT 5");
        var (_, page) = await Get(t.ReadKey, "/v1/leaderboards/co2_saved_kg?scope=global&period=month&limit=5");
        top.ShouldBe(page!["entries"]!.AsArray().Select(e => new object[] { (string)e!["user_id"]!, (int)(long)e["rank"]!, (decimal)e["score"]! }).ToList());
        var us = await Rows(db, $"SELECT user_id, rank FROM {schema}.leaderboards WHERE scope = 'country' AND scope_value = 'US' AND period = 'all_time' ORDER BY rank");
        var (_, usPage) = await Get(t.ReadKey, "/v1/leaderboards/co2_saved_kg?scope=country:US&period=all_time");
        us.ShouldBe(usPage!["entries"]!.AsArray().Select(e => new object[] { (string)e!["user_id"]!, (int)(long)e["rank"]! }).ToList());

        // A user's row.
        var (_, stats) = await Get(t.ReadKey, "/v1/users/user_04/stats");
        var co2 = stats!["measures"]!["co2_saved_kg"]!;
        var row = (await Rows(db, $"""
            SELECT total_co2_saved_kg, total_actions, current_month_co2, current_year_co2, streak_days, last_action_date::text, rank_global, rank_country
              FROM {schema}.user_stats_summary WHERE user_id = 'user_04'
            """)).Single();
        // The seed's integer columns (ranks, counts) are integers here too.
        row.ShouldBe([(decimal)co2["all_time"]!, (int)co2["actions"]!, (decimal)co2["month"]!, (decimal)co2["year"]!,
            (int)stats["streak"]!["current"]!, (string)stats["last_action_date"]!,
            (int)stats["ranks"]!["co2_saved_kg"]!["global"]!["all_time"]!, (int)stats["ranks"]!["co2_saved_kg"]!["country"]!["all_time"]!]);
        // The seed's own top-N query, as it wrote it: the top by total within a country, by its rank column.
        var (_, usTop) = await Get(t.ReadKey, "/v1/leaderboards/co2_saved_kg?scope=country:US&period=all_time&limit=3");
        (await Rows(db, $"""
            SELECT user_id, rank_country FROM {schema}.user_stats_summary
             WHERE rank_country IS NOT NULL AND user_id IN ({string.Join(",", usTop!["entries"]!.AsArray().Select(e => $"'{(string)e!["user_id"]!}'"))})
             ORDER BY rank_country LIMIT 3
            """)).ShouldBe(usTop["entries"]!.AsArray().Select(e => new object[] { (string)e!["user_id"]!, (int)(long)e["rank"]! }).ToList());
        (await Rows(db, $"SELECT user_id FROM {schema}.user_statistics WHERE user_id = 'user_04'")).Count.ShouldBe(1);
        (await Rows(db, $"SELECT user_id FROM {schema}.user_stats WHERE user_id = 'user_04'")).Count.ShouldBe(1);

        // A rollup by key; the previous and legacy global tables hold one row, the all-time global figures.
        var (_, rollup) = await Get(t.ReadKey, "/v1/rollups/by-key/country_US_2025");
        (await Rows(db, $"SELECT total_users, total_co2_saved_kg, total_actions FROM {schema}.global_stats_rollup WHERE rollup_key = 'country_US_2025'")).Single()
            .ShouldBe([(int)(long)rollup!["users"]!, (decimal)rollup["total"]!, (int)(long)rollup["actions"]!]);
        var (_, global) = await Get(t.ReadKey, "/v1/rollups/by-key/global_all_time");
        foreach (var view in new[] { "global_statistics", "global_emissions" })
            (await Rows(db, $"SELECT id, total_users, total_co2_saved_kg, total_actions FROM {schema}.{view}")).Single()
                .ShouldBe([1, (int)(long)global!["users"]!, (decimal)global["total"]!, (int)(long)global["actions"]!]);
        // Organisation boards under the seed's scope name.
        var (_, orgPage) = await Get(t.ReadKey, "/v1/leaderboards/co2_saved_kg?scope=org:org_1&period=all_time&limit=3");
        (await Rows(db, $"SELECT user_id FROM {schema}.leaderboards WHERE scope = 'organization' AND scope_value = 'org_1' AND period = 'all_time' ORDER BY rank LIMIT 3"))
            .Select(r => (string)r[0]).ShouldBe(orgPage!["entries"]!.AsArray().Select(e => (string)e!["user_id"]!));

        // A user's recent actions, under each of the log's names.
        var mine = events.Select(e => e!.AsObject()).Where(e => (string)e["user_id"]! == "user_03")
            .OrderByDescending(e => DateTimeOffset.Parse((string)e["occurred_at"]!, CultureInfo.InvariantCulture)).Take(3)
            .Select(e => new object[] { (string)e["idempotency_key"]!, "bike_commute", D(e["payload"]!["quantity"]!), D(e["measures"]!["co2_saved_kg"]!) }).ToList();
        foreach (var view in new[] { "user_action_events", "user_actions", "user_action_logs" })
            (await Rows(db, $"""
                SELECT e.idempotency_key, a.name, e.quantity, e.co2_saved_kg FROM {schema}.{view} e JOIN {schema}.actions a ON a.id = e.action_id
                 WHERE e.user_id = 'user_03' ORDER BY e.event_timestamp DESC LIMIT 3
                """)).ShouldBe(mine);
        (await Rows(db, $"SELECT id, name FROM {schema}.actions")).ShouldBe([[1, "bike_commute"]]);
        // The seed's indexes on user_stats_summary serve its top-N by total and its country ranks.
        (await Rows(db, "SELECT indexname FROM pg_indexes WHERE tablename = 'user_stats_summary' ORDER BY 1")).Select(r => (string)r[0])
            .ShouldContain("ix_user_stats_summary_total");

        // Views, not copies: a new event shows after the next snapshot without running compat again.
        (_, _) = await Post(t.IngestKey, Batch(Climate("user_04", "later", 500m, "2025-11-22T11:00:00Z", "US", 2)));
        await WaitForBoards(t, "user_04", 49);
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).SnapshotNow();
        (await Rows(db, $"SELECT rank_global, current_month_co2 FROM {schema}.user_stats_summary WHERE user_id = 'user_04'")).Single()
            .ShouldBe([1, (decimal)co2["month"]! + 500m]);
        (await Rows(db, $"SELECT user_id FROM {schema}.leaderboard_snapshots WHERE scope = 'global' AND period = 'all_time' AND rank = 1")).Single()
            .ShouldBe(["user_04"]);
        (await Rows(db, $"SELECT count(*) FROM {schema}.user_action_events")).Single().ShouldBe([49L]);
    }

    [Fact]
    public async Task the_views_show_one_tenant_only_and_refuse_the_public_schema()
    {
        var mine = await Fixture.CreateTenantAsync(SeedProfiles.Get("climate").Config());
        var other = await Fixture.CreateTenantAsync(SeedProfiles.Get("climate").Config());
        await Post(mine.IngestKey, Batch(Climate("u1", "a", 1m, "2025-11-22T10:00:00Z", "US", 1)));
        await Post(other.IngestKey, Batch(Climate("u1", "a", 2m, "2025-11-22T10:00:00Z", "US", 1), Climate("u2", "b", 2m, "2025-11-22T10:00:00Z", "US", 1)));
        var schema = "compat_" + mine.Id;
        (await CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", mine.Id, "--schema", schema)).Exit.ShouldBe(0);
        await using var db = NpgsqlDataSource.Create(Fixture.Db.ConnectionString);
        (await Rows(db, $"SELECT user_id, co2_saved_kg FROM {schema}.user_action_events")).ShouldBe([["u1", 1m]]);

        var (exit, output, error) = await CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", "nobody-here", "--schema", "compat_x");
        exit.ShouldBe(1);
        (output + error).ShouldContain("tenant 'nobody-here' does not exist");
        (await CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", mine.Id, "--schema", "compat_y", "--measure", "nope")).Exit.ShouldBe(1);
    }

    private async Task WaitForBoards(TestTenant t, string user, long actions) =>
        await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/rollups/by-key/global_all_time"),
            r => r.Body?["actions"]?.GetValue<long>() == actions, Freshness, $"the global rollup at {actions} actions (last: {user})");

    private static decimal D(JsonNode node) => decimal.Parse(node.ToJsonString(), CultureInfo.InvariantCulture);

    [Fact]
    public async Task a_learners_daily_accuracy_per_action_is_a_column_of_user_daily_stats_and_matches_stats()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("learning").Config());
        JsonObject Answer(string key, string at, int correct) => new()
        {
            ["user_id"] = "ann", ["action"] = "answer", ["occurred_at"] = at, ["idempotency_key"] = key,
            ["measures"] = new JsonObject { ["answered"] = 1, ["correct"] = correct }, ["dims"] = new JsonObject { ["question"] = "q1", ["topic"] = "anatomy" },
        };
        (await Post(t.IngestKey, Batch(Answer("a1", "2025-11-22T08:00:00Z", 1), Answer("a2", "2025-11-22T08:01:00Z", 0), Answer("a3", "2025-11-22T08:02:00Z", 1),
            Answer("a4", "2025-11-21T08:00:00Z", 0)))).Status.ShouldBe(200);
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).SnapshotNow();
        var schema = "learning_" + t.Id;
        var (exit, output, error) = await CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", t.Id, "--schema", schema);
        exit.ShouldBe(0, error);
        output.ShouldContain($"{schema}.user_daily_stats");
        await using var db = NpgsqlDataSource.Create(Fixture.Db.ConnectionString);
        var rows = await Rows(db, $"SELECT action_date::text, action, events, answered, correct, daily_accuracy FROM {schema}.user_daily_stats WHERE user_id = 'ann' ORDER BY action_date");
        var (_, stats) = await Get(t.ReadKey, "/v1/users/ann/stats");
        var today = stats!["ratios"]!["accuracy"]!["day"]!.GetValue<decimal>();
        rows.Count.ShouldBe(2);
        rows[0].ShouldBe(["2025-11-21", "answer", 1L, 1m, 0m, 0m]);
        rows[1][..5].ShouldBe(["2025-11-22", "answer", 3L, 3m, 2m]);
        ((decimal)rows[1][5]).ShouldBe(today, 0.0000001m);
    }

    private static JsonObject Sale(string user, string key, string at, decimal sales, decimal units = 1) => new()
    {
        ["user_id"] = user, ["action"] = sales < 0 ? "adjustment" : "sale", ["occurred_at"] = at, ["idempotency_key"] = key,
        ["measures"] = new JsonObject { ["sales"] = sales, ["units"] = units },
    };

    [Fact]
    public async Task a_sales_adjustment_lowers_the_window_and_demotes_and_loyalty_members_shows_each_members_state_as_the_api_does()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("loyalty").Config());
        (await Post(t.IngestKey, Batch(
            // Both promoted to silver on 2024-02-01 and sell 1,100 in that window; the refund takes one to 800 before it ends.
            Sale("refunded", "r1", "2024-01-15T10:00:00Z", 100), Sale("refunded", "r2", "2024-02-01T10:00:00Z", 1200),
            Sale("refunded", "r3", "2024-03-01T10:00:00Z", 1100, 3), Sale("refunded", "r4", "2024-04-01T10:00:00Z", -300, -1),
            Sale("steady", "s1", "2024-01-15T10:00:00Z", 100), Sale("steady", "s2", "2024-02-01T10:00:00Z", 1200),
            Sale("steady", "s3", "2024-03-01T10:00:00Z", 1100, 3),
            Sale("current", "c1", "2025-11-10T10:00:00Z", 900, 4)))).Status.ShouldBe(200);
        // An adjustment in the open window lowers its sum.
        (await Post(t.IngestKey, Batch(Sale("current", "c2", "2025-11-20T10:00:00Z", -250.5m, -1)))).Status.ShouldBe(200);

        var (_, refunded) = await Get(t.ReadKey, "/v1/users/refunded/tiers");
        var decided = refunded!["entries"]!.AsArray().Single(e => (string)e!["at"]! == "2024-06-01T10:00:00+00:00")!;
        ((string)decided["reason"]!, (string)decided["from"]!, (string)decided["to"]!).ShouldBe(("demoted", "silver", "bronze"));
        decided["window"]!["sales"]!.GetValue<decimal>().ShouldBe(800m);
        decided["window"]!["units"]!.GetValue<decimal>().ShouldBe(2m);
        var (_, steady) = await Get(t.ReadKey, "/v1/users/steady/tiers");
        var kept = steady!["entries"]!.AsArray().Single(e => (string)e!["at"]! == "2024-06-01T10:00:00+00:00")!;
        ((string)kept["reason"]!, (string)kept["to"]!).ShouldBe(("kept", "silver"));
        var (_, current) = await Get(t.ReadKey, "/v1/users/current/stats");
        current!["checkpoint"]!["window"]!["sales"]!.GetValue<decimal>().ShouldBe(649.5m);

        var schema = "loyalty_" + t.Id;
        var (exit, output, error) = await CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", t.Id, "--schema", schema);
        exit.ShouldBe(0, error);
        output.ShouldContain($"{schema}.loyalty_members");
        // Reads took the decisions due; the users save them (reconciliation makes them save now, not in 20 s).
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ReconcileNow();
        await using var db = NpgsqlDataSource.Create(Fixture.Db.ConnectionString);
        foreach (var user in new[] { "refunded", "steady", "current" })
        {
            var (_, stats) = await Get(t.ReadKey, $"/v1/users/{user}/stats");
            var checkpoint = stats!["checkpoint"]!;
            object[] expected = [(string)checkpoint["tier"]!, DateTimeOffset.Parse((string)checkpoint["tier_achieved_at"]!, CultureInfo.InvariantCulture).UtcDateTime,
                DateTimeOffset.Parse((string)checkpoint["next_checkpoint_at"]!, CultureInfo.InvariantCulture).UtcDateTime,
                checkpoint["window"]!["sales"]!.GetValue<decimal>(), checkpoint["window"]!["units"]!.GetValue<decimal>()];
            await Eventually.WaitFor(() => Rows(db, $"""
                    SELECT current_tier, tier_achieved_at, next_checkpoint_at, checkpoint_sales_current, checkpoint_units_current
                      FROM {schema}.loyalty_members WHERE user_id = '{user}'
                    """),
                rows => rows.Count == 1 && rows[0].SequenceEqual(expected), TimeSpan.FromSeconds(30), $"{user}'s loyalty_members row to match the API");
        }
    }

    private static async Task<List<object[]>> Rows(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<object[]>();
        while (await reader.ReadAsync())
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row);
        }
        return rows;
    }
}
