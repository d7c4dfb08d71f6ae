using System.Text.Json.Nodes;
using Orleans;
using Orleans.Runtime;
using Shouldly;
using StackExchange.Redis;
using Tally.Contracts;
using Tally.Postgres.Lifecycle;
using Tally.Postgres.Tenants;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// <c>DELETE /v1/tenants/{id}</c> (API.md, Tenant removal): the keys stop at once, the raw events are exported and
/// verified, then nothing of the tenant is left in any table, in Redis or in the cluster's memory, another tenant is
/// untouched, and the id created again starts empty.
/// </summary>
[Collection(ApiCollection.Name)]
public class TenantRemovalTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject Config() => new()
    {
        ["time_zone"] = "Europe/Berlin",
        ["measures"] = new JsonObject { ["sales"] = new JsonObject { ["min"] = -1000 }, ["units"] = new JsonObject { ["min"] = 0 } },
        ["dimensions"] = new JsonArray("country"),
        ["breakdowns"] = new JsonArray("country"),
        ["leaderboards"] = new JsonObject { ["measures"] = new JsonArray("sales"), ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time", "month") },
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time", "month", "day") },
        ["checkpoint"] = new JsonObject
        {
            ["measure"] = "sales", ["months"] = 4,
            ["tiers"] = new JsonArray(new JsonObject { ["name"] = "bronze", ["threshold"] = 0 }, new JsonObject { ["name"] = "silver", ["threshold"] = 100 }),
        },
        ["goals"] = new JsonObject { ["big"] = new JsonObject { ["measure"] = "sales", ["window"] = "month", ["targets"] = new JsonArray(50) } },
        ["board_shards"] = 2,
    };

    private static JsonObject Sale(string user, int n, decimal sales, string country) => new()
    {
        ["user_id"] = user, ["action"] = "sale", ["occurred_at"] = $"2025-11-{10 + n % 10:D2}T10:00:00Z", ["idempotency_key"] = $"{user}-{n}",
        ["measures"] = new JsonObject { ["sales"] = sales, ["units"] = 1 }, ["dims"] = new JsonObject { ["country"] = country },
        ["payload"] = new JsonObject { ["order"] = n },
    };

    private async Task LoadAsync(TestTenant t)
    {
        var events = Enumerable.Range(0, 30).Select(n => Sale($"u{n % 6}", n, 20 + n, n % 2 == 0 ? "DE" : "US")).ToArray();
        (await Post(t.IngestKey, Batch(events))).Status.ShouldBe(200);
        // Fill what reads, snapshots and webhooks write: page cache and board versions in Redis, snapshot tables, a webhook.
        (await Get(t.ReadKey, "/v1/leaderboards/sales?scope=global&period=all_time")).Status.ShouldBe(200);
        (await Get(t.ReadKey, "/v1/users/u1/stats")).Status.ShouldBe(200);
        var hook = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{t.Id}/webhooks", t.AdminKey, new JsonObject { ["url"] = "http://127.0.0.1:9/hook" });
        ((int)hook.StatusCode).ShouldBe(201);
    }

    [Fact]
    public async Task a_removed_tenant_leaves_nothing_behind_but_its_exported_events_and_another_tenant_is_untouched()
    {
        var doomed = await Fixture.CreateTenantAsync(Config());
        var kept = await Fixture.CreateTenantAsync(Config());
        await LoadAsync(doomed);
        await LoadAsync(kept);
        var maintenance = Fixture.Cluster.GetGrain<IMaintenanceGrain>(0);
        await maintenance.ReconcileNow(); // users save their state now rather than in 20 s
        await maintenance.SnapshotNow();
        var rows = new TenantRemovalStore(Fixture.Db.DataSource);
        await Eventually.WaitFor(() => rows.CountAsync(doomed.Id), c => c["user_state"] > 0, TimeSpan.FromSeconds(20), "user states to be saved");
        var before = await rows.CountAsync(doomed.Id);
        foreach (var table in new[] { "user_action_events", "event_dedup", "user_state", "leaderboard_snapshots", "global_stats_rollup", "user_stats_summary",
                     "tier_checkpoints", "goal_completions", "changes", "webhooks", "tenant_usage", "api_keys", "tenants" })
            before[table].ShouldBeGreaterThan(0, $"the test should fill {table}");
        // What no background work of the kept tenant changes meanwhile (its webhook's failed attempts do add deliveries).
        string[] settled = ["user_action_events", "event_dedup", "tier_checkpoints", "goal_completions", "changes", "webhooks", "api_keys", "tenants",
                            "leaderboard_snapshots", "global_stats_rollup"];
        var keptBefore = (await rows.CountAsync(kept.Id)).Where(c => settled.Contains(c.Key)).ToDictionary();
        var (_, keptStats) = await Get(kept.ReadKey, "/v1/users/u1/stats");
        var redis = await ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("TALLY_TEST_REDIS")!);
        async Task<int> RedisKeys(string tenant) =>
            await redis.GetServers()[0].KeysAsync(pattern: $"tally:{tenant}:*").CountAsync();
        (await RedisKeys(doomed.Id)).ShouldBeGreaterThan(0);

        (await Fixture.Send(HttpMethod.Delete, $"/v1/tenants/{doomed.Id}", doomed.AdminKey)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Forbidden);
        var delete = await Fixture.Send(HttpMethod.Delete, $"/v1/tenants/{doomed.Id}", ApiFixture.AdminKey);
        ((int)delete.StatusCode).ShouldBe(202);
        var accepted = JsonNode.Parse(await delete.Content.ReadAsStringAsync())!;
        accepted["tenant_id"]!.GetValue<string>().ShouldBe(doomed.Id);
        accepted["state"]!.GetValue<string>().ShouldBe("removing");

        // The keys stop at once.
        (await Get(doomed.ReadKey, "/v1/users/u1/stats")).Status.ShouldBe(401);
        (await Post(doomed.IngestKey, Batch(Sale("u1", 99, 5, "DE")))).Status.ShouldBe(401);
        (await Get(doomed.AdminKey, $"/v1/tenants/{doomed.Id}")).Status.ShouldBe(401);
        var (removingStatus, removing) = await Get(ApiFixture.AdminKey, $"/v1/tenants/{doomed.Id}");
        if (removingStatus == 200) removing!["state"]!.GetValue<string>().ShouldBe("removing");
        else removingStatus.ShouldBe(404);
        (await Fixture.Send(HttpMethod.Put, $"/v1/tenants/{doomed.Id}", ApiFixture.AdminKey, Config())).StatusCode
            .ShouldBeOneOf(System.Net.HttpStatusCode.Conflict, System.Net.HttpStatusCode.OK);

        await Eventually.WaitFor(() => Get(ApiFixture.AdminKey, $"/v1/tenants/{doomed.Id}"), r => r.Status == 404, TimeSpan.FromSeconds(60),
            "the removal to finish");

        // Nothing of the tenant in any table, in Redis, or active in the cluster.
        var after = await rows.CountAsync(doomed.Id);
        after.Where(t => t.Value != 0).ShouldBeEmpty();
        (await RedisKeys(doomed.Id)).ShouldBe(0);
        var management = Fixture.Cluster.GetGrain<IManagementGrain>(0);
        await Eventually.WaitFor(async () =>
            {
                var active = new List<string>();
                foreach (var type in new[] { "user", "boardshard", "webhook" })
                    active.AddRange((await management.GetActiveGrains(GrainType.Create(type))).Select(g => g.ToString()).Where(g => g.Contains($"/{doomed.Id}/")));
                return active;
            }, active => active.Count == 0, TimeSpan.FromSeconds(20), "the tenant's grains to deactivate");

        // The raw events were exported and the export verifies.
        var month = EventExport.MonthDirectory(Fixture.ExportDirectory, doomed.Id, new DateOnly(2025, 11, 1));
        var manifest = await EventExport.VerifyAsync(month);
        manifest.Rows.ShouldBe(30);

        // The other tenant is as it was.
        (await rows.CountAsync(kept.Id)).Where(c => settled.Contains(c.Key)).ToDictionary().ShouldBe(keptBefore);
        var (keptStatus, keptAfter) = await Get(kept.ReadKey, "/v1/users/u1/stats");
        keptStatus.ShouldBe(200);
        keptAfter!["measures"]!.ToJsonString().ShouldBe(keptStats!["measures"]!.ToJsonString());

        // The id created again starts empty.
        var put = await Fixture.Send(HttpMethod.Put, $"/v1/tenants/{doomed.Id}", ApiFixture.AdminKey, Config());
        put.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        var keyResponse = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{doomed.Id}/keys", ApiFixture.AdminKey, new JsonObject { ["role"] = "read" });
        var readKey = (string)JsonNode.Parse(await keyResponse.Content.ReadAsStringAsync())!["key"]!;
        (await Get(readKey, "/v1/users/u1/stats")).Status.ShouldBe(404);
        var (_, board) = await Get(readKey, "/v1/leaderboards/sales?scope=global&period=all_time");
        board!["members"]!.GetValue<long>().ShouldBe(0);
        board["entries"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task removing_an_unknown_tenant_is_a_404()
    {
        (await Fixture.Send(HttpMethod.Delete, "/v1/tenants/no-such-tenant", ApiFixture.AdminKey)).StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
    }
}
