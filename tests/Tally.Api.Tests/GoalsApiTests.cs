using System.Text.Json.Nodes;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>Achievements, missions and badges over HTTP (API.md, "Goals"). The fixture's now is 2025-11-22T12:00Z.</summary>
[Collection(ApiCollection.Name)]
public class GoalsApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject Config(string zone = "Europe/Berlin") => new()
    {
        ["time_zone"] = zone,
        ["measures"] = new JsonObject
        {
            ["co2_saved_kg"] = new JsonObject { ["min"] = -1000, ["max"] = 100000 },
            ["answered"] = new JsonObject { ["min"] = 0 }, ["correct"] = new JsonObject { ["min"] = 0 },
        },
        ["ratios"] = new JsonObject { ["accuracy"] = new JsonObject { ["numerator"] = "correct", ["denominator"] = "answered" } },
        ["goals"] = new JsonObject
        {
            ["co2_month"] = new JsonObject { ["title"] = "Saved 100 kg this month", ["measure"] = "co2_saved_kg", ["window"] = "month", ["targets"] = new JsonArray(10, 50, 100) },
            ["active_week"] = new JsonObject { ["measure"] = "co2_saved_kg", ["of"] = "actions", ["window"] = "week", ["targets"] = new JsonArray(3) },
            ["streak"] = new JsonObject { ["streak"] = true, ["targets"] = new JsonArray(3, 7, 30) },
            ["sharp"] = new JsonObject { ["ratio"] = "accuracy", ["window"] = "all_time", ["targets"] = new JsonArray(0.8), ["min_denominator"] = 10 },
        },
    };

    private static JsonObject Co2(string user, string key, string at, decimal kg) => Event(user, key, kg, at);

    private static JsonObject Answers(string user, string key, string at, int answered, int correct) => new()
    {
        ["user_id"] = user, ["action"] = "answer", ["occurred_at"] = at, ["idempotency_key"] = key,
        ["measures"] = new JsonObject { ["answered"] = answered, ["correct"] = correct },
    };

    [Fact]
    public async Task a_monthly_badge_completes_levels_at_the_event_that_reaches_them_and_counts_users_per_level()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        (await Post(t.IngestKey, Batch(
            Co2("ann", "a1", "2025-11-02T09:00:00Z", 6),
            Co2("ann", "a2", "2025-11-03T09:00:00Z", 60),     // 66 kg: levels 1 and 2 at once
            Co2("bob", "b1", "2025-11-04T09:00:00Z", 12)))).Status.ShouldBe(200);

        var (status, stats) = await Get(t.ReadKey, "/v1/users/ann/stats");
        status.ShouldBe(200);
        var month = stats!["goals"]!["co2_month"]!;
        month["window_key"]!.GetValue<string>().ShouldBe("2025-11");
        month["progress"]!.GetValue<decimal>().ShouldBe(66m);
        month["level"]!.GetValue<int>().ShouldBe(2);
        month["next_target"]!.GetValue<decimal>().ShouldBe(100m);

        var (goalsStatus, goals) = await Get(t.ReadKey, "/v1/users/ann/goals");
        goalsStatus.ShouldBe(200);
        goals!["user_id"]!.GetValue<string>().ShouldBe("ann");
        goals["total"]!.GetValue<long>().ShouldBe(2);
        var entries = goals["entries"]!.AsArray();
        entries.Select(e => ((string)e!["goal"]!, (int)e["level"]!, (decimal)e["target"]!, (string)e["window_key"]!, (decimal)e["value"]!))
            .ShouldBe([("co2_month", 1, 10m, "2025-11", 66m), ("co2_month", 2, 50m, "2025-11", 66m)]);
        // completed_at is the completing event's time, in the tenant's offset (Berlin, +01:00 in November).
        entries[0]!["completed_at"]!.GetValue<string>().ShouldBe("2025-11-03T10:00:00+01:00");

        // Users per level of the instance, from the board shards: within about a second.
        var levels = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/goals/co2_month?key=2025-11"),
            r => r.Status == 200 && r.Body!["levels"]![0]!["users"]!.GetValue<long>() == 2, TimeSpan.FromSeconds(5), "users per level");
        levels.Body!["goal"]!.GetValue<string>().ShouldBe("co2_month");
        levels.Body["window_key"]!.GetValue<string>().ShouldBe("2025-11");
        levels.Body["levels"]!.AsArray().Select(l => ((int)l!["level"]!, (decimal)l["target"]!, (long)l["users"]!))
            .ShouldBe([(1, 10m, 2L), (2, 50m, 1L), (3, 100m, 0L)]);
        // The current window by default.
        (await Get(t.ReadKey, "/v1/goals/co2_month")).Body!["window_key"]!.GetValue<string>().ShouldBe("2025-11");
    }

    [Fact]
    public async Task each_completion_is_recorded_once_and_a_negative_value_or_a_retry_changes_nothing()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        var batch = Batch(Co2("cy", "c1", "2025-11-10T09:00:00Z", 15), Co2("cy", "c2", "2025-11-11T09:00:00Z", -10));
        (await Post(t.IngestKey, batch)).Status.ShouldBe(200);
        (await Post(t.IngestKey, batch)).Body["duplicates"]!.GetValue<int>().ShouldBe(2);
        (await Post(t.IngestKey, Batch(Co2("cy", "c3", "2025-11-12T09:00:00Z", 8)))).Status.ShouldBe(200); // back to 13: level 1 again
        var (_, goals) = await Get(t.ReadKey, "/v1/users/cy/goals");
        // Three days in a row in one week also complete the streak and weekly goals, once each.
        goals!["entries"]!.AsArray().Select(e => ((string)e!["goal"]!, (int)e["level"]!)).ShouldBe([("co2_month", 1), ("active_week", 1), ("streak", 1)]);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM goal_completions WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(3);
        var (_, stats) = await Get(t.ReadKey, "/v1/users/cy/stats");
        stats!["goals"]!["co2_month"]!["progress"]!.GetValue<decimal>().ShouldBe(13m);
        stats["goals"]!["co2_month"]!["level"]!.GetValue<int>().ShouldBe(1); // never revoked
    }

    [Fact]
    public async Task actions_streak_and_ratio_goals_complete_end_to_end()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        (await Post(t.IngestKey, Batch(
            Co2("dee", "d1", "2025-11-18T09:00:00Z", 1), Co2("dee", "d2", "2025-11-19T09:00:00Z", 1),
            Co2("dee", "d3", "2025-11-20T09:00:00Z", 1),                                    // 3 in week 47, 3 days in a row
            Answers("dee", "q1", "2025-11-20T10:00:00Z", 8, 8),                              // 1.0 over 8: below the minimum of 10
            Answers("dee", "q2", "2025-11-20T11:00:00Z", 2, 1)))).Status.ShouldBe(200);    // 0.9 over 10
        var (_, goals) = await Get(t.ReadKey, "/v1/users/dee/goals");
        goals!["entries"]!.AsArray().Select(e => ((string)e!["goal"]!, (int)e["level"]!, (string)e["window_key"]!, (decimal)e["value"]!))
            .ShouldBe([("active_week", 1, "2025-W47", 3m), ("streak", 1, "all_time", 3m), ("sharp", 1, "all_time", 0.9m)]);
        var (_, stats) = await Get(t.ReadKey, "/v1/users/dee/stats");
        stats!["goals"]!["streak"]!["window_key"]!.GetValue<string>().ShouldBe("all_time");
        stats["goals"]!["streak"]!["next_target"]!.GetValue<decimal>().ShouldBe(7m);
        stats["goals"]!["sharp"]!["next_target"].ShouldBeNull(); // every level done
        stats["goals"]!["sharp"]!["progress"]!.GetValue<decimal>().ShouldBe(0.9m);
        stats["goals"]!["active_week"]!["window_key"]!.GetValue<string>().ShouldBe("2025-W47");
        // A user with no events has no goals.
        (await Get(t.ReadKey, "/v1/users/nobody/goals")).Status.ShouldBe(404);
    }

    [Fact]
    public async Task missions_on_the_checkpoint_window_restart_with_a_promotion()
    {
        var config = new JsonObject
        {
            ["time_zone"] = "UTC",
            ["measures"] = new JsonObject { ["sales"] = new JsonObject { ["min"] = -500 } },
            ["checkpoint"] = new JsonObject
            {
                ["measure"] = "sales", ["months"] = 4,
                ["tiers"] = new JsonArray(new JsonObject { ["name"] = "bronze", ["threshold"] = 0 }, new JsonObject { ["name"] = "silver", ["threshold"] = 1000 }),
            },
            ["goals"] = new JsonObject { ["sell_window"] = new JsonObject { ["measure"] = "sales", ["window"] = "checkpoint", ["targets"] = new JsonArray(300, 900) } },
        };
        var t = await Fixture.CreateTenantAsync(config);
        (await Post(t.IngestKey, Batch(
            Sale("cr", "s1", "2025-09-01T10:00:00Z", 400),     // enters bronze, window from 09-01: level 1
            Sale("cr", "s2", "2025-09-02T10:00:00Z", 700),     // 1,100: level 2 in the bronze window, then silver: a new window
            Sale("cr", "s3", "2025-10-01T10:00:00Z", 350)))).Status.ShouldBe(200); // level 1 of the silver window
        var (_, goals) = await Get(t.ReadKey, "/v1/users/cr/goals");
        goals!["entries"]!.AsArray().Select(e => ((int)e!["level"]!, (string)e["window_key"]!, (decimal)e["value"]!)).ShouldBe([
            (1, "2025-09-01T10:00:00+00:00", 400m), (2, "2025-09-01T10:00:00+00:00", 1100m), (1, "2025-09-02T10:00:00+00:00", 350m)]);
        // The instance is named as the tier history names the window's start.
        var (_, tiers) = await Get(t.ReadKey, "/v1/users/cr/tiers");
        tiers!["entries"]![1]!["window_end"]!.GetValue<string>().ShouldBe("2025-09-02T10:00:00+00:00");
        var (_, stats) = await Get(t.ReadKey, "/v1/users/cr/stats");
        var mission = stats!["goals"]!["sell_window"]!;
        (mission["window_key"]!.GetValue<string>(), mission["progress"]!.GetValue<decimal>(), mission["level"]!.GetValue<int>(), mission["next_target"]!.GetValue<decimal>())
            .ShouldBe(("2025-09-02T10:00:00+00:00", 350m, 1, 900m));
        // Users per level are not counted for per-user windows.
        var (status, body) = await Get(t.ReadKey, "/v1/goals/sell_window");
        status.ShouldBe(400);
        body!["error"]!["field"]!.GetValue<string>().ShouldBe("goal_id");
    }

    private static JsonObject Sale(string user, string key, string at, decimal sales) => new()
    {
        ["user_id"] = user, ["action"] = "sale", ["measures"] = new JsonObject { ["sales"] = sales }, ["occurred_at"] = at, ["idempotency_key"] = key,
    };

    [Fact]
    public async Task a_goal_added_later_counts_what_the_user_already_has_from_the_next_event_and_a_removed_goal_keeps_its_completions()
    {
        var without = Config();
        without["goals"] = new JsonObject { ["streak"] = new JsonObject { ["streak"] = true, ["targets"] = new JsonArray(30) } };
        var t = await Fixture.CreateTenantAsync(without);
        (await Post(t.IngestKey, Batch(Co2("eve", "e1", "2025-11-05T09:00:00Z", 70)))).Status.ShouldBe(200);
        var patch = await Fixture.Send(HttpMethod.Patch, $"/v1/tenants/{t.Id}", t.AdminKey, new JsonObject
        {
            ["goals"] = new JsonObject { ["co2_month"] = new JsonObject { ["measure"] = "co2_saved_kg", ["window"] = "month", ["targets"] = new JsonArray(10, 50, 100) } },
        });
        ((int)patch.StatusCode).ShouldBe(200);
        var (_, tenant) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}");
        tenant!["config"]!["goals"]!["co2_month"]!["targets"]!.AsArray().Count.ShouldBe(3);
        tenant["config"]!["goals"]!["streak"].ShouldNotBeNull();

        (await Post(t.IngestKey, Batch(Co2("eve", "e2", "2025-11-06T09:00:00Z", 1)))).Status.ShouldBe(200);
        var (_, goals) = await Get(t.ReadKey, "/v1/users/eve/goals");
        goals!["entries"]!.AsArray().Select(e => ((int)e!["level"]!, (string)e["completed_at"]!, (decimal)e["value"]!))
            .ShouldBe([(1, "2025-11-06T10:00:00+01:00", 71m), (2, "2025-11-06T10:00:00+01:00", 71m)]);

        // Removed: its completions stay; unknown to /v1/goals.
        var remove = await Fixture.Send(HttpMethod.Patch, $"/v1/tenants/{t.Id}", t.AdminKey, new JsonObject { ["goals"] = new JsonObject { ["co2_month"] = null } });
        ((int)remove.StatusCode).ShouldBe(200);
        (await Get(t.ReadKey, "/v1/users/eve/goals")).Body!["total"]!.GetValue<long>().ShouldBe(2);
        (await Get(t.ReadKey, "/v1/goals/co2_month")).Status.ShouldBe(404);
    }

    [Theory]
    [InlineData("""{"co2_month": {"measure": "co2_saved_kg", "window": "month", "targets": [50, 10]}}""", "goals.co2_month.targets")]
    [InlineData("""{"co2_month": {"measure": "co2_saved_kg", "window": "month", "targets": []}}""", "goals.co2_month.targets")]
    [InlineData("""{"co2_month": {"measure": "nope", "targets": [1]}}""", "goals.co2_month.measure")]
    [InlineData("""{"co2_month": {"measure": "co2_saved_kg", "window": "checkpoint", "targets": [1]}}""", "goals.co2_month.window")]
    [InlineData("""{"co2_month": {"measure": "co2_saved_kg", "targets": [1], "colour": "red"}}""", "goals.co2_month.colour")]
    [InlineData("""{"Bad Id": {"measure": "co2_saved_kg", "targets": [1]}}""", "goals.Bad Id")]
    [InlineData("""{"s": {"streak": true, "window": "day", "targets": [1]}}""", "goals.s.window")]
    [InlineData("""{"r": {"ratio": "accuracy", "targets": [0.5], "min_denominator": 0}}""", "goals.r.min_denominator")]
    [InlineData("""{"m": {"measure": "co2_saved_kg", "ratio": "accuracy", "targets": [1]}}""", "goals.m")]
    public async Task a_bad_goal_is_a_400_naming_the_field_and_changes_nothing(string goals, string field)
    {
        var t = await Fixture.CreateTenantAsync(Config());
        var before = (await Get(t.AdminKey, $"/v1/tenants/{t.Id}")).Body!["version"]!.GetValue<long>();
        var response = await Fixture.SendRaw(HttpMethod.Patch, $"/v1/tenants/{t.Id}", t.AdminKey, $$"""{"goals": {{goals}}}""");
        ((int)response.StatusCode).ShouldBe(400);
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
        var (_, tenant) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}");
        tenant!["version"]!.GetValue<long>().ShouldBe(before);
    }

    [Theory]
    [InlineData("/v1/goals/unknown", 404, null)]
    [InlineData("/v1/goals/co2_month?key=2025-13", 400, "key")]
    [InlineData("/v1/goals/co2_month?key=2025-W47", 400, "key")]
    [InlineData("/v1/goals/active_week?key=2025-11", 400, "key")]
    [InlineData("/v1/goals/streak?key=2025", 400, "key")]
    [InlineData("/v1/users/ann/goals?limit=0", 400, "limit")]
    [InlineData("/v1/users/ann/goals?offset=-1", 400, "offset")]
    public async Task bad_goal_reads_are_400_naming_the_parameter_and_unknown_goals_404(string path, int status, string? field)
    {
        var t = await Fixture.CreateTenantAsync(Config());
        (await Post(t.IngestKey, Batch(Co2("ann", "a1", "2025-11-02T09:00:00Z", 6)))).Status.ShouldBe(200);
        var (actual, body) = await Get(t.ReadKey, path);
        actual.ShouldBe(status, path);
        if (field is not null) body!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
    }

    [Fact]
    public async Task a_past_instance_counts_its_users_and_keys_follow_the_goal_window()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        (await Post(t.IngestKey, Batch(Co2("fay", "f1", "2025-10-12T09:00:00Z", 55)))).Status.ShouldBe(200); // October, levels 1-2
        var october = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/goals/co2_month?key=2025-10"),
            r => r.Status == 200 && r.Body!["levels"]![1]!["users"]!.GetValue<long>() == 1, TimeSpan.FromSeconds(5), "October's levels");
        october.Body!["window_key"]!.GetValue<string>().ShouldBe("2025-10");
        var (_, november) = await Get(t.ReadKey, "/v1/goals/co2_month?key=2025-11");
        november!["levels"]!.AsArray().Select(l => (long)l!["users"]!).ShouldBe([0L, 0L, 0L]);
        (await Get(t.ReadKey, "/v1/goals/streak?key=all_time")).Status.ShouldBe(200);
    }
}
