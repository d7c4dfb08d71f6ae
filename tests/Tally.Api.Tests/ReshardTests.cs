using System.Text.Json.Nodes;
using Orleans;
using Shouldly;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Postgres.Tenants;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// <c>POST /v1/tenants/{id}/reshard</c> (decision 042): a tenant's boards move to another shard count without losing a
/// rank, the saved states name their new shards (so a crash rebuilds the same boards), and events after it land right.
/// </summary>
[Collection(ApiCollection.Name)]
public class ReshardTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private const string Global = "/v1/leaderboards/co2_saved_kg?scope=global&period=all_time&limit=1000";
    private const string Us = "/v1/leaderboards/co2_saved_kg?scope=country:US&period=month&limit=1000";

    private static JsonObject Ride(string user, string key, decimal co2, string country, string at = "2025-11-21T10:00:00Z")
    {
        var e = Event(user, key, co2, at);
        e["dims"] = new JsonObject { ["country"] = country };
        return e;
    }

    private async Task SendAsync(TestTenant t, IEnumerable<JsonObject> events)
    {
        foreach (var chunk in events.Chunk(100))
        {
            var (status, body) = await Post(t.IngestKey, Batch(chunk));
            status.ShouldBe(200, body.ToJsonString());
        }
    }

    private async Task<string[]> PageAsync(TestTenant t, string url, long members)
    {
        var (_, body) = await Eventually.WaitFor(() => Get(t.ReadKey, url), r => r.Status == 200 && (long?)r.Body!["members"] == members,
            TimeSpan.FromSeconds(20), $"{members} members on {url}");
        return body!["entries"]!.AsArray().Select(e => $"{(long)e!["rank"]!} {(string)e["user_id"]!} {(decimal)e["score"]!}").ToArray();
    }

    private async Task<Dictionary<string, int>> StoredShardsAsync(string tenantId)
    {
        var shards = new Dictionary<string, int>();
        await using var cmd = Fixture.Db.DataSource.CreateCommand("SELECT user_id, shard FROM user_state WHERE tenant_id = $1");
        cmd.Parameters.Add(new() { Value = tenantId });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) shards[reader.GetString(0)] = reader.GetInt32(1);
        return shards;
    }

    private async Task<JsonObject> ReshardAsync(string tenantId, int shards)
    {
        var response = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{tenantId}/reshard", ApiFixture.AdminKey, new JsonObject { ["board_shards"] = shards });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        ((int)response.StatusCode).ShouldBe(200, body.ToJsonString());
        return body;
    }

    [Fact]
    public async Task a_tenant_resharded_from_2_to_5_keeps_every_rank_and_rebuilds_the_same_boards_after_its_shards_are_lost()
    {
        var t = await Fixture.CreateTenantAsync();
        // 120 users, scores with ties; the first 90 are saved before the resharding, the last 30 only in the log.
        var users = Enumerable.Range(0, 120).Select(n => $"r{n:D3}").ToArray();
        await SendAsync(t, users.Take(90).Select((u, n) => Ride(u, $"{u}-a", n % 17 + 0.25m, n % 3 == 0 ? "DE" : "US")));
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ReconcileNow(); // their states are saved now, not in 20 s
        await Eventually.WaitFor(() => StoredShardsAsync(t.Id), s => s.Count == 90, TimeSpan.FromSeconds(20), "90 saved states");
        await SendAsync(t, users.Skip(90).Select((u, n) => Ride(u, $"{u}-a", n % 13 + 0.5m, n % 3 == 0 ? "DE" : "US")));
        var global = await PageAsync(t, Global, 120);
        var us = await PageAsync(t, Us, 80);
        var (_, stats) = await Get(t.ReadKey, "/v1/users/r007/stats");
        var rank = (long)stats!["ranks"]!["co2_saved_kg"]!["global"]!["all_time"]!;

        var report = await ReshardAsync(t.Id, 5);
        ((int)report["board_shards"]!).ShouldBe(5);
        ((int)report["previous_board_shards"]!).ShouldBe(2);
        // The log-only users may have saved their state meanwhile (20 s after their event).
        ((long)report["users"]!).ShouldBeInRange(90, 120);
        ((long)report["users_moved"]!).ShouldBeGreaterThanOrEqualTo(users.Take(90).Count(u => BoardShards.Of(u, 5) != BoardShards.Of(u, 2)));
        ((long)report["users_moved_late"]!).ShouldBe(0); // no save was in flight when the count changed
        ((int)report["shards_rebuilt"]!).ShouldBe(5);
        var (_, tenant) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}");
        ((int)tenant!["config"]!["board_shards"]!).ShouldBe(5);

        (await PageAsync(t, Global, 120)).ShouldBe(global);
        (await PageAsync(t, Us, 80)).ShouldBe(us);
        (_, stats) = await Get(t.ReadKey, "/v1/users/r007/stats");
        ((long)stats!["ranks"]!["co2_saved_kg"]!["global"]!["all_time"]!).ShouldBe(rank);

        // Events after it: one more for each of ten users, and a new user; they go to the shards of the new count.
        await SendAsync(t, users.Take(10).Select(u => Ride(u, $"{u}-b", 100m, "US")).Append(Ride("r999", "r999-a", 1000m, "US")));
        var after = await PageAsync(t, Global, 121);
        after[0].ShouldBe("1 r999 1000");
        after.Skip(1).Take(10).Select(e => e.Split(' ')[1]).Order().ShouldBe(users.Take(10));

        // Every saved state names its new shard; with every shard lost, the rebuild gives the same boards.
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ReconcileNow();
        await Eventually.WaitFor(() => StoredShardsAsync(t.Id), s => s.Count == 121, TimeSpan.FromSeconds(20), "121 saved states");
        (await StoredShardsAsync(t.Id)).Where(s => s.Value != BoardShards.Of(s.Key, 5)).ShouldBeEmpty();
        for (var s = 0; s < 5; s++)
            await Fixture.Cluster.GetGrain<IBoardShardGrain>(BoardShards.Key(t.Id, s)).Retire();
        // A rank asks every shard (a page could come from the API's cache): the shards rebuild, and agree with the page.
        var expected = Array.FindIndex(after, e => e.Split(' ')[1] == "r050") + 1;
        await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/users/r050/stats"),
            r => (long?)r.Body?["ranks"]?["co2_saved_kg"]?["global"]?["all_time"] == expected, TimeSpan.FromSeconds(20), "r050's rank from the rebuilt shards");
        (await PageAsync(t, Global, 121)).ShouldBe(after);

        // The placement view: five shards, each active on the one silo, holding the 121 users between them.
        var (status, placement) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}/shards");
        status.ShouldBe(200);
        ((int)placement!["board_shards"]!).ShouldBe(5);
        var listed = placement["shards"]!.AsArray();
        listed.Select(p => (int)p!["shard"]!).ShouldBe([0, 1, 2, 3, 4]);
        listed.ShouldAllBe(p => (bool)p!["active"]! && ((string)p["silo"]!).Length > 0);
        listed.Sum(p => (int)p!["members"]!).ShouldBe(121);
        (await Get(ApiFixture.AdminKey, "/v1/tenants/t-never-created/shards")).Status.ShouldBe(404);
    }

    [Fact]
    public async Task a_reshard_names_the_field_it_refuses_and_only_the_cluster_admin_may_ask()
    {
        var t = await Fixture.CreateTenantAsync();
        async Task<(int Status, string? Code, string? Field)> Ask(string? body, string key, string? tenant = null)
        {
            var response = await Fixture.SendRaw(HttpMethod.Post, $"/v1/tenants/{tenant ?? t.Id}/reshard", key, body);
            var text = await response.Content.ReadAsStringAsync();
            var error = text.Length == 0 ? null : JsonNode.Parse(text)?["error"];
            return ((int)response.StatusCode, (string?)error?["code"], (string?)error?["field"]);
        }

        (await Ask("{}", ApiFixture.AdminKey)).ShouldBe((400, "missing_field", "board_shards"));
        (await Ask("""{"board_shards": 0}""", ApiFixture.AdminKey)).ShouldBe((400, "out_of_range", "board_shards"));
        (await Ask("""{"board_shards": 257}""", ApiFixture.AdminKey)).ShouldBe((400, "out_of_range", "board_shards"));
        (await Ask("""{"board_shards": "4"}""", ApiFixture.AdminKey)).ShouldBe((400, "invalid_type", "board_shards"));
        (await Ask("""{"board_shards": 2.5}""", ApiFixture.AdminKey)).ShouldBe((400, "invalid_type", "board_shards"));
        (await Ask("""{"board_shards": 4, "now": true}""", ApiFixture.AdminKey)).ShouldBe((400, "unknown_field", "now"));
        (await Ask("""{"board_shards": 4}""", ApiFixture.AdminKey, tenant: "t-never-created")).Item1.ShouldBe(404);
        (await Ask("""{"board_shards": 4}""", t.AdminKey)).Item1.ShouldBe(403);
        var (_, tenant) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}");
        ((int)tenant!["config"]!["board_shards"]!).ShouldBe(2);

        // A config change still may not name another count; it points at the resharding instead.
        var put = await Fixture.Send(HttpMethod.Patch, $"/v1/tenants/{t.Id}", t.AdminKey, new JsonObject { ["board_shards"] = 3 });
        ((int)put.StatusCode).ShouldBe(409);
        (await put.Content.ReadAsStringAsync()).ShouldContain("/reshard");
    }

    [Fact]
    public async Task a_config_written_from_an_older_read_keeps_the_shard_count_a_resharding_set()
    {
        var t = await Fixture.CreateTenantAsync();
        var store = new TenantStore(Fixture.Db.DataSource);
        var read = await store.GetAsync(t.Id); // board_shards 2, as a cached config up to 5 s old may still say
        (await store.SetBoardShardsAsync(t.Id, 7)).ShouldNotBeNull();
        var written = await store.PutAsync(t.Id, read!.ConfigJson);
        TenantConfigCache.TryParseStored(written.ConfigJson)!.BoardShards.ShouldBe(7);
        written.Version.ShouldBe(read.Version + 2);
    }
}
