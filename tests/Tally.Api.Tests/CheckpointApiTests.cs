using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>The creator loyalty program over HTTP (API.md, "Checkpoints and tiers").</summary>
[Collection(ApiCollection.Name)]
public class CheckpointApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject LoyaltyConfig(string downgrade = "one_tier", string zone = "UTC") => new()
    {
        ["time_zone"] = zone,
        ["measures"] = new JsonObject { ["sales"] = new JsonObject { ["min"] = 0 }, ["units"] = new JsonObject { ["min"] = 0 } },
        ["checkpoint"] = new JsonObject
        {
            ["measure"] = "sales", ["months"] = 4, ["downgrade"] = downgrade, ["grace_days"] = 0,
            ["tiers"] = new JsonArray(
                new JsonObject { ["name"] = "bronze", ["threshold"] = 0 }, new JsonObject { ["name"] = "silver", ["threshold"] = 1000 },
                new JsonObject { ["name"] = "gold", ["threshold"] = 5000 }, new JsonObject { ["name"] = "platinum", ["threshold"] = 20000 }),
        },
        ["retention"] = new JsonObject { ["raw_events_months"] = 36 },
    };

    private static JsonObject Sale(string user, string key, string at, decimal sales, decimal units = 1) => new()
    {
        ["user_id"] = user, ["action"] = "sale", ["measures"] = new JsonObject { ["sales"] = sales, ["units"] = units },
        ["occurred_at"] = at, ["idempotency_key"] = key,
    };

    private static string[] Reasons(JsonObject tiers) => tiers["entries"]!.AsArray().Select(e => $"{e!["reason"]}:{e["from"]}>{e["to"]}").ToArray();

    [Fact]
    public async Task backdated_sales_across_windows_promote_keep_and_demote_one_tier_and_a_late_sale_changes_nothing()
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyConfig());
        // One request, arriving on 2025-11-22 (the fixture's now): applied in time order, windows decided in event time.
        var (status, body) = await Post(t.IngestKey, Batch(
            Sale("creator", "s1", "2024-01-15T10:00:00Z", 100),
            Sale("creator", "s2", "2024-02-01T10:00:00Z", 1200),
            Sale("creator", "s3", "2024-03-01T10:00:00Z", 6000),
            Sale("creator", "s4", "2024-05-01T10:00:00Z", 5500, 7),
            Sale("creator", "s5", "2024-08-01T10:00:00Z", 1500)));
        status.ShouldBe(200);
        body["accepted"]!.GetValue<int>().ShouldBe(5);

        var (_, tiers) = await Get(t.ReadKey, "/v1/users/creator/tiers");
        tiers!["user_id"]!.GetValue<string>().ShouldBe("creator");
        Reasons(tiers).ShouldBe([
            "entered:>bronze", "promoted:bronze>silver", "promoted:silver>gold", "kept:gold>gold",
            "demoted:gold>silver", "demoted:silver>bronze", "kept:bronze>bronze", "kept:bronze>bronze"]);
        var entries = tiers["entries"]!.AsArray();
        tiers["total"]!.GetValue<int>().ShouldBe(8);
        entries[0]!["window"]!.AsObject().Count.ShouldBe(0);
        entries[1]!["at"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.Parse("2024-02-01T10:00:00Z"));
        entries[1]!["window"]!["sales"]!.GetValue<decimal>().ShouldBe(1300m);      // the promoting sale included
        entries[3]!["at"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.Parse("2024-07-01T10:00:00Z"));
        entries[3]!["window_start"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.Parse("2024-03-01T10:00:00Z"));
        entries[3]!["window"]!["sales"]!.GetValue<decimal>().ShouldBe(5500m);
        entries[3]!["window"]!["units"]!.GetValue<decimal>().ShouldBe(7m);
        entries[4]!["window"]!["sales"]!.GetValue<decimal>().ShouldBe(1500m);

        var (_, stats) = await Get(t.ReadKey, "/v1/users/creator/stats");
        var checkpoint = stats!["checkpoint"]!;
        checkpoint["tier"]!.GetValue<string>().ShouldBe("bronze");
        checkpoint["tier_achieved_at"]!.GetValue<string>().ShouldBe("2025-11-01T10:00:00+00:00");
        checkpoint["next_checkpoint_at"]!.GetValue<string>().ShouldBe("2026-03-01T10:00:00+00:00");
        checkpoint["window"]!["sales"]!.GetValue<decimal>().ShouldBe(0m);
        checkpoint["window"]!["units"]!.GetValue<decimal>().ShouldBe(0m); // every declared measure, 0 where none
        checkpoint["late_events"]!.GetValue<long>().ShouldBe(0);

        // A sale dated in a window decided long ago is late; a sale in the current window promotes at once.
        (await Post(t.IngestKey, Batch(Sale("creator", "late", "2025-06-15T10:00:00Z", 50000), Sale("creator", "now", "2025-11-20T09:00:00Z", 2000)))).Status.ShouldBe(200);
        (_, stats) = await Get(t.ReadKey, "/v1/users/creator/stats");
        stats!["checkpoint"]!["late_events"]!.GetValue<long>().ShouldBe(1);
        stats["checkpoint"]!["tier"]!.GetValue<string>().ShouldBe("silver");
        stats["checkpoint"]!["tier_achieved_at"]!.GetValue<string>().ShouldBe("2025-11-20T09:00:00+00:00");
        stats["measures"]!["sales"]!["all_time"]!.GetValue<decimal>().ShouldBe(66300m); // the late sale still counts in stats
        (_, tiers) = await Get(t.ReadKey, "/v1/users/creator/tiers?offset=8&limit=5");
        Reasons(tiers!).ShouldBe(["promoted:bronze>silver"]);
        tiers!["total"]!.GetValue<int>().ShouldBe(9);

        // The same entries are rows of tier_checkpoints, each once.
        await Tally.Testing.Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM tier_checkpoints WHERE tenant_id = @t", ("t", t.Id)),
            n => n == 9, TimeSpan.FromSeconds(10), "tier history rows");
        (await Fixture.Db.ScalarAsync<string>("SELECT string_agg(reason || ':' || COALESCE(from_tier, '') || '>' || to_tier, ',' ORDER BY seq) FROM tier_checkpoints WHERE tenant_id = @t", ("t", t.Id)))
            .ShouldBe("entered:>bronze,promoted:bronze>silver,promoted:silver>gold,kept:gold>gold,demoted:gold>silver,demoted:silver>bronze,kept:bronze>bronze,kept:bronze>bronze,promoted:bronze>silver");
        (await Fixture.Db.ScalarAsync<decimal>("""SELECT ("window"->>'sales')::numeric FROM tier_checkpoints WHERE tenant_id = @t AND seq = 3""", ("t", t.Id))).ShouldBe(5500m);
    }

    [Fact]
    public async Task recompute_drops_to_the_tier_the_window_reaches()
    {
        var oneTier = await Fixture.CreateTenantAsync(LoyaltyConfig("one_tier"));
        var recompute = await Fixture.CreateTenantAsync(LoyaltyConfig("recompute"));
        foreach (var t in new[] { oneTier, recompute })
            (await Post(t.IngestKey, Batch(Sale("c", "a", "2025-01-10T00:00:00Z", 25000), Sale("c", "b", "2025-02-10T00:00:00Z", 1200)))).Status.ShouldBe(200);
        // Platinum from Jan 10; the window to May 10 holds 1200: one tier down is gold, recompute is silver.
        var (_, a) = await Get(oneTier.ReadKey, "/v1/users/c/tiers");
        var (_, b) = await Get(recompute.ReadKey, "/v1/users/c/tiers");
        Reasons(a!)[2].ShouldBe("demoted:platinum>gold");
        Reasons(b!)[2].ShouldBe("demoted:platinum>silver");
        a!["entries"]![2]!["at"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.Parse("2025-05-10T00:00:00Z"));
    }

    [Fact]
    public async Task windows_end_on_the_same_local_time_months_later_in_the_tenants_zone()
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyConfig(zone: "Europe/Berlin"));
        (await Post(t.IngestKey, Batch(Sale("c", "a", "2025-10-31T09:30:00+01:00", 10)))).Status.ShouldBe(200);
        var (_, stats) = await Get(t.ReadKey, "/v1/users/c/stats");
        stats!["checkpoint"]!["tier_achieved_at"]!.GetValue<string>().ShouldBe("2025-10-31T09:30:00+01:00");
        stats["checkpoint"]!["next_checkpoint_at"]!.GetValue<string>().ShouldBe("2026-02-28T09:30:00+01:00"); // Feb has no 31st
    }

    [Theory]
    [InlineData("/v1/users/c/tiers?limit=0", 400, "limit")]
    [InlineData("/v1/users/c/tiers?offset=-1", 400, "offset")]
    [InlineData("/v1/users/nobody/tiers", 404, null)]
    public async Task bad_tier_reads_are_400_naming_the_parameter_or_404(string path, int status, string? field)
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyConfig());
        (await Post(t.IngestKey, Batch(Sale("c", "a", "2025-11-01T00:00:00Z", 10)))).Status.ShouldBe(200);
        var (code, body) = await Get(t.ReadKey, path);
        code.ShouldBe(status);
        (body!["error"]!["field"]?.GetValue<string>()).ShouldBe(field);
    }

    [Fact]
    public async Task a_tenant_without_checkpoint_has_no_tiers_and_no_checkpoint_block()
    {
        var t = await Fixture.CreateTenantAsync();
        (await Post(t.IngestKey, Batch(Event("u", "k")))).Status.ShouldBe(200);
        (await Get(t.ReadKey, "/v1/users/u/tiers")).Status.ShouldBe(404);
        (await Get(t.ReadKey, "/v1/users/u/stats")).Body!.ContainsKey("checkpoint").ShouldBeFalse();
    }

    [Theory]
    [InlineData("""{"measure": "sales", "months": 0, "tiers": [{"name": "a", "threshold": 0}]}""", "checkpoint.months")]
    [InlineData("""{"measure": "nope", "tiers": [{"name": "a", "threshold": 0}]}""", "checkpoint.measure")]
    [InlineData("""{"measure": "sales", "downgrade": "all", "tiers": [{"name": "a", "threshold": 0}]}""", "checkpoint.downgrade")]
    [InlineData("""{"measure": "sales", "grace_days": -1, "tiers": [{"name": "a", "threshold": 0}]}""", "checkpoint.grace_days")]
    [InlineData("""{"measure": "sales", "tiers": [{"name": "a", "threshold": 5}, {"name": "b", "threshold": 1}]}""", "checkpoint.tiers[1].threshold")]
    [InlineData("""{"measure": "sales", "tiers": [{"name": "a", "threshold": 0}, {"name": "a", "threshold": 1}]}""", "checkpoint.tiers[1].name")]
    [InlineData("""{"measure": "sales", "tiers": []}""", "checkpoint.tiers")]
    public async Task a_bad_checkpoint_config_is_400_naming_the_field(string checkpoint, string field)
    {
        var config = """{"measures": {"sales": {}}, "checkpoint": """ + checkpoint + "}";
        var response = await Fixture.SendRaw(HttpMethod.Put, $"/v1/tenants/t{Guid.NewGuid():N}"[..24], ApiFixture.AdminKey, config);
        ((int)response.StatusCode).ShouldBe(400);
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
    }
}

/// <summary>The learning platform's figures over HTTP (API.md, "Ratios").</summary>
[Collection(ApiCollection.Name)]
public class RatioApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject LearningConfig() => new()
    {
        ["time_zone"] = "UTC",
        ["measures"] = new JsonObject { ["answered"] = new JsonObject { ["min"] = 0, ["max"] = 1 }, ["correct"] = new JsonObject { ["min"] = 0, ["max"] = 1 } },
        ["dimensions"] = new JsonArray("question"),
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "question"), ["periods"] = new JsonArray("all_time", "day") },
        ["ratios"] = new JsonObject { ["accuracy"] = new JsonObject { ["numerator"] = "correct", ["denominator"] = "answered" } },
    };

    private static JsonObject Answer(string user, string key, string question, int correct, string at = "2025-11-22T10:00:00Z") => new()
    {
        ["user_id"] = user, ["action"] = "answer", ["measures"] = new JsonObject { ["answered"] = 1, ["correct"] = correct },
        ["dims"] = new JsonObject { ["question"] = question }, ["occurred_at"] = at, ["idempotency_key"] = key,
    };

    [Fact]
    public async Task a_users_accuracy_and_a_questions_success_rate()
    {
        var t = await Fixture.CreateTenantAsync(LearningConfig());
        (await Post(t.IngestKey, Batch(
            Answer("ann", "a1", "q1", 1), Answer("ann", "a2", "q2", 0), Answer("ann", "a3", "q1", 1, "2025-11-21T10:00:00Z"),
            Answer("bob", "b1", "q1", 0), Answer("bob", "b2", "q1", 1)))).Status.ShouldBe(200);

        var (_, stats) = await Get(t.ReadKey, "/v1/users/ann/stats");
        var accuracy = stats!["ratios"]!["accuracy"]!;
        accuracy["all_time"]!.GetValue<decimal>().ShouldBe(2m / 3m);
        accuracy["day"]!.GetValue<decimal>().ShouldBe(0.5m); // today: q1 right, q2 wrong
        var (_, older) = await Get(t.ReadKey, "/v1/users/ann/stats?at=2025-11-01");
        older!["ratios"]!["accuracy"]!["day"].ShouldBeNull(); // nothing answered that day: null, not 0

        await Tally.Testing.Eventually.WaitFor(() => Get(t.ReadKey, "/v1/ratios/accuracy?scope=question:q1&period=all_time"),
            r => r.Body?["denominator"]?.GetValue<decimal>() == 4m, TimeSpan.FromSeconds(10), "the q1 rollups");
        var (status, q1) = await Get(t.ReadKey, "/v1/ratios/accuracy?scope=question:q1&period=all_time");
        status.ShouldBe(200);
        q1!["ratio"]!.GetValue<string>().ShouldBe("accuracy");
        q1["scope"]!.GetValue<string>().ShouldBe("question:q1");
        q1["numerator"]!.GetValue<decimal>().ShouldBe(3m);
        q1["denominator"]!.GetValue<decimal>().ShouldBe(4m);
        q1["value"]!.GetValue<decimal>().ShouldBe(0.75m);
        q1["users"]!.GetValue<long>().ShouldBe(2);
        var (_, empty) = await Get(t.ReadKey, "/v1/ratios/accuracy?scope=question:q9&period=all_time");
        empty!["value"].ShouldBeNull();
    }

    [Theory]
    [InlineData("/v1/ratios/nope", 404, null)]
    [InlineData("/v1/ratios/accuracy?scope=planet:x", 400, "scope")]
    [InlineData("/v1/ratios/accuracy?period=week", 400, "period")]
    [InlineData("/v1/ratios/accuracy?period=day&key=2025-13-01", 400, "key")]
    public async Task bad_ratio_reads_follow_the_rollup_rules(string path, int status, string? field)
    {
        var t = await Fixture.CreateTenantAsync(LearningConfig());
        var (code, body) = await Get(t.ReadKey, path);
        code.ShouldBe(status);
        (body!["error"]!["field"]?.GetValue<string>()).ShouldBe(field);
    }
}

[Collection(ApiCollection.Name)]
public class CheckpointConfigChangeTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private const string Base = """
        {"time_zone": "UTC", "measures": {"sales": {"min": 0}},
         "checkpoint": {"measure": "sales", "months": 4, "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 1000}, {"name": "gold", "threshold": 5000}]}}
        """;

    private static JsonObject Sale(string key, string at, decimal sales) => new()
    {
        ["user_id"] = "c", ["action"] = "sale", ["measures"] = new JsonObject { ["sales"] = sales }, ["occurred_at"] = at, ["idempotency_key"] = key,
    };

    private async Task Put(TestTenant t, string config) =>
        (await Fixture.SendRaw(HttpMethod.Put, $"/v1/tenants/{t.Id}", ApiFixture.AdminKey, config)).EnsureSuccessStatusCode();

    [Fact]
    public async Task config_changes_keep_the_window_rename_by_threshold_and_a_removal_then_addition_starts_a_new_era()
    {
        var t = await Fixture.CreateTenantAsync(JsonNode.Parse(Base)!.AsObject());
        (await Post(t.IngestKey, Batch(Sale("a", "2025-11-10T00:00:00Z", 6000)))).Status.ShouldBe(200); // gold at once
        var (_, before) = await Get(t.ReadKey, "/v1/users/c/stats");
        before!["checkpoint"]!["next_checkpoint_at"]!.GetValue<string>().ShouldBe("2026-03-10T00:00:00+00:00");

        // Tiers renamed and re-thresholded, windows made longer: the window keeps its end; gold's 5000 reaches "plus" only.
        await Put(t, Base.Replace("\"months\": 4", "\"months\": 6").Replace("\"silver\", \"threshold\": 1000", "\"plus\", \"threshold\": 4000")
            .Replace("\"gold\", \"threshold\": 5000", "\"max\", \"threshold\": 9000"));
        var (_, after) = await Get(t.ReadKey, "/v1/users/c/stats");
        after!["checkpoint"]!["tier"]!.GetValue<string>().ShouldBe("plus");
        after["checkpoint"]!["next_checkpoint_at"]!.GetValue<string>().ShouldBe("2026-03-10T00:00:00+00:00");

        // Removed: no block, no tiers.
        await Put(t, """{"time_zone": "UTC", "measures": {"sales": {"min": 0}}}""");
        (await Get(t.ReadKey, "/v1/users/c/stats")).Body!.ContainsKey("checkpoint").ShouldBeFalse();
        (await Get(t.ReadKey, "/v1/users/c/tiers")).Status.ShouldBe(404);

        // Added again: a new era; the user enters again at the next event, past events are not replayed.
        await Put(t, Base);
        var (_, empty) = await Get(t.ReadKey, "/v1/users/c/tiers");
        empty!["total"]!.GetValue<int>().ShouldBe(0);
        (await Post(t.IngestKey, Batch(Sale("b", "2025-11-21T00:00:00Z", 10)))).Status.ShouldBe(200);
        var (_, tiers) = await Get(t.ReadKey, "/v1/users/c/tiers");
        tiers!["entries"]!.AsArray().Select(e => e!["reason"]!.GetValue<string>()).ShouldBe(["entered"]);
        tiers["entries"]![0]!["at"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.Parse("2025-11-21T00:00:00Z"));
        await Tally.Testing.Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>("SELECT count(DISTINCT era) FROM tier_checkpoints WHERE tenant_id = @t", ("t", t.Id)),
            n => n == 2, TimeSpan.FromSeconds(10), "both eras' history kept");
    }
}
