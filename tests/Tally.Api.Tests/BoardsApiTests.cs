using System.Text.Json.Nodes;
using Shouldly;
using Tally.Contracts;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

[Collection(ApiCollection.Name)]
public class BoardsApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject Ride(string user, string key, decimal co2, string? country, string at = "2025-11-21T10:00:00Z")
    {
        var e = Event(user, key, co2, at);
        if (country is not null) e["dims"] = new JsonObject { ["country"] = country };
        return e;
    }

    /// <summary>u1..u5 with 10, 40, 20, 40, 5 kg (u2 reached 40 before u4); u1, u2, u3 in the US.</summary>
    private async Task<TestTenant> SeedAsync()
    {
        var tenant = await Fixture.CreateTenantAsync();
        var (status, _) = await Post(tenant.IngestKey, Batch(
            Ride("u1", "a", 10m, "US"), Ride("u2", "b", 40m, "US"), Ride("u3", "c", 20m, "US")));
        status.ShouldBe(200);
        (status, _) = await Post(tenant.IngestKey, Batch(Ride("u4", "d", 40m, "DE"), Ride("u5", "e", 5m, null, "2025-10-15T10:00:00Z")));
        status.ShouldBe(200);
        await Eventually.WaitFor(() => Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg"), r => (long?)r.Body?["members"] == 5,
            TimeSpan.FromSeconds(15), "all five users on the all-time board");
        return tenant;
    }

    [Fact]
    public async Task a_leaderboard_page_ranks_higher_scores_first_and_ties_by_who_got_there_first()
    {
        var tenant = await SeedAsync();
        var (status, body) = await Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg?scope=global&period=all_time&offset=0&limit=100");
        status.ShouldBe(200);
        ((string)body!["measure"]!).ShouldBe("co2_saved_kg");
        ((string)body["scope"]!).ShouldBe("global");
        ((string)body["period"]!).ShouldBe("all_time");
        ((string)body["key"]!).ShouldBe("all_time");
        ((long)body["members"]!).ShouldBe(5);
        var entries = body["entries"]!.AsArray();
        entries.Select(e => (string)e!["user_id"]!).ShouldBe(["u2", "u4", "u3", "u1", "u5"]);
        entries.Select(e => (long)e!["rank"]!).ShouldBe([1L, 2, 3, 4, 5]);
        entries.Select(e => (decimal)e!["score"]!).ShouldBe([40m, 40m, 20m, 10m, 5m]);

        // The month defaults to the current one in the tenant's zone; October's user is not in it.
        (status, body) = await Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg?period=month&limit=2&offset=1");
        status.ShouldBe(200);
        ((string)body!["key"]!).ShouldBe("2025-11");
        ((long)body["members"]!).ShouldBe(4);
        body["entries"]!.AsArray().Select(e => (string)e!["user_id"]!).ShouldBe(["u4", "u3"]);

        (status, body) = await Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg?scope=country:US&period=week&key=2025-W47");
        status.ShouldBe(200);
        body!["entries"]!.AsArray().Select(e => (string)e!["user_id"]!).ShouldBe(["u2", "u3", "u1"]);

        // The same page through the second API instance (and its shared cache) is identical.
        var again = await Fixture.Http2.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/leaderboards/co2_saved_kg?scope=country:US&period=week&key=2025-W47")
        { Headers = { Authorization = new("Bearer", tenant.ReadKey) } });
        JsonNode.Parse(await again.Content.ReadAsStringAsync())!["entries"]!.ToJsonString().ShouldBe(body["entries"]!.ToJsonString());
    }

    [Fact]
    public async Task a_cached_page_gives_way_as_soon_as_its_board_changes_on_every_api_instance()
    {
        var tenant = await SeedAsync();
        const string url = "/v1/leaderboards/co2_saved_kg?scope=global&period=all_time&limit=3";
        var (_, page) = await Get(tenant.ReadKey, url);
        ((string)page!["entries"]![0]!["user_id"]!).ShouldBe("u2");

        // Pages are cached for 60 s in these tests; a new leader shows well before that, on both instances.
        var (status, _) = await Post(tenant.IngestKey, Batch(Ride("u6", "f", 99m, null)));
        status.ShouldBe(200);
        await Eventually.WaitFor(() => Get(tenant.ReadKey, url), r => (string?)r.Body?["entries"]?[0]?["user_id"] == "u6",
            TimeSpan.FromSeconds(10), "the new leader on the first instance's page");
        var second = await Fixture.Http2.SendAsync(new HttpRequestMessage(HttpMethod.Get, url) { Headers = { Authorization = new("Bearer", tenant.ReadKey) } });
        var body = JsonNode.Parse(await second.Content.ReadAsStringAsync())!;
        ((string)body["entries"]![0]!["user_id"]!).ShouldBe("u6");
        ((long)body["members"]!).ShouldBe(6);
    }

    [Fact]
    public async Task around_me_shows_the_user_with_neighbours_and_ranks_appear_in_stats()
    {
        var tenant = await SeedAsync();
        var (status, body) = await Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg/users/u3?around=1");
        status.ShouldBe(200);
        ((long)body!["rank"]!).ShouldBe(3);
        ((decimal)body["score"]!).ShouldBe(20m);
        ((long)body["members"]!).ShouldBe(5);
        body["entries"]!.AsArray().Select(e => (string)e!["user_id"]!).ShouldBe(["u4", "u3", "u1"]);

        (status, body) = await Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg/users/u2?around=5");
        ((long)body!["rank"]!).ShouldBe(1);
        body["entries"]!.AsArray().Count.ShouldBe(5);

        (status, body) = await Get(tenant.ReadKey, "/v1/users/u3/stats");
        status.ShouldBe(200);
        var ranks = body!["ranks"]!["co2_saved_kg"]!;
        ((long)ranks["global"]!["all_time"]!).ShouldBe(3);
        ((long)ranks["global"]!["month"]!).ShouldBe(3);
        ((long)ranks["country"]!["all_time"]!).ShouldBe(2);

        (status, body) = await Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg/users/nobody");
        status.ShouldBe(404);
        ((string)body!["error"]!["code"]!).ShouldBe("user_not_found");
    }

    [Theory]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=planet:mars", "scope")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=country", "scope")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=org:o1", "scope")]
    [InlineData("/v1/leaderboards/co2_saved_kg?period=fortnight", "period")]
    [InlineData("/v1/leaderboards/co2_saved_kg?period=day", "period")]
    [InlineData("/v1/leaderboards/co2_saved_kg?period=month&key=2025-13", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg?period=week&key=2025-11", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg?limit=0", "limit")]
    [InlineData("/v1/leaderboards/co2_saved_kg?limit=1001", "limit")]
    [InlineData("/v1/leaderboards/co2_saved_kg?limit=ten", "limit")]
    [InlineData("/v1/leaderboards/co2_saved_kg?offset=-1", "offset")]
    [InlineData("/v1/leaderboards/co2_saved_kg/users/u1?around=-2", "around")]
    [InlineData("/v1/rollups/co2_saved_kg?scope=country&period=year", "scope")]
    [InlineData("/v1/rollups/co2_saved_kg?period=week", "period")]
    [InlineData("/v1/rollups/co2_saved_kg?period=year&key=20x5", "key")]
    [InlineData("/v1/rollups/by-key/nonsense", "rollup_key")]
    [InlineData("/v1/rollups/by-key/planet_mars_2025", "rollup_key")]
    [InlineData("/v1/rollups/by-key/global_all_time?measure=nope", "measure")]
    public async Task bad_board_and_rollup_parameters_are_400_naming_the_parameter(string path, string field)
    {
        var tenant = await Fixture.CreateTenantAsync();
        var (status, body) = await Get(tenant.ReadKey, path);
        status.ShouldBe(400);
        ((string)body!["error"]!["field"]!).ShouldBe(field);
    }

    [Theory]
    [InlineData("/v1/leaderboards/sales")]
    [InlineData("/v1/leaderboards/unknown_measure")]
    [InlineData("/v1/rollups/unknown_measure")]
    [InlineData("/v1/rollups/by-key/global_2025-11-22")]
    public async Task boards_and_rollups_that_do_not_exist_are_404(string path)
    {
        var tenant = await Fixture.CreateTenantAsync();
        var (status, _) = await Get(tenant.ReadKey, path);
        status.ShouldBe(404);
    }

    [Fact]
    public async Task rollups_sum_users_and_actions_by_parameters_and_by_seed_key()
    {
        var tenant = await SeedAsync();
        await Eventually.WaitFor(() => Get(tenant.ReadKey, "/v1/rollups/co2_saved_kg"), r => (long?)r.Body?["actions"] == 5,
            TimeSpan.FromSeconds(15), "the all-time rollup");
        var (status, body) = await Get(tenant.ReadKey, "/v1/rollups/by-key/global_all_time");
        status.ShouldBe(200);
        ((decimal)body!["total"]!).ShouldBe(115m);
        ((long)body["users"]!).ShouldBe(5);
        ((long)body["actions"]!).ShouldBe(5);
        ((string)body["measure"]!).ShouldBe("co2_saved_kg");
        DateTimeOffset.Parse((string)body["computed_at"]!).ShouldBeGreaterThan(DateTimeOffset.MinValue);

        (status, body) = await Get(tenant.ReadKey, "/v1/rollups/by-key/country_US_2025");
        status.ShouldBe(200);
        ((decimal)body!["total"]!).ShouldBe(70m);
        ((long)body["users"]!).ShouldBe(3);

        (status, body) = await Get(tenant.ReadKey, "/v1/rollups/co2_saved_kg?scope=country:US&period=year&key=2025");
        ((decimal)body!["total"]!).ShouldBe(70m);
        ((string)body["key"]!).ShouldBe("2025");

        (status, body) = await Get(tenant.ReadKey, "/v1/rollups/co2_saved_kg?period=month&key=2025-10");
        ((decimal)body!["total"]!).ShouldBe(5m);
        ((long)body["users"]!).ShouldBe(1);

        // Snapshot tables and their ages on /metrics.
        var report = await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).SnapshotNow();
        report.UserSummaryRows.ShouldBeGreaterThan(0, report.ToString());
        (await Fixture.Db.ScalarAsync<decimal>("SELECT total FROM global_stats_rollup WHERE tenant_id = @t AND rollup_key = 'country_US_2025'", ("t", tenant.Id)))
            .ShouldBe(70m);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM leaderboard_snapshots WHERE tenant_id = @t AND scope = 'global' AND period = 'all_time'", ("t", tenant.Id)))
            .ShouldBe(5);
        (await Fixture.Db.ScalarAsync<long>("SELECT global_rank FROM user_stats_summary WHERE tenant_id = @t AND user_id = 'u3' AND measure = 'co2_saved_kg'", ("t", tenant.Id)))
            .ShouldBe(3);
        PrometheusText.Parse(await Fixture.SiloMetricsAsync())["tally_snapshot_age_seconds"].Samples
            .ShouldContain(x => x.Labels.GetValueOrDefault("job") == "leaderboard_snapshots");
        (await Fixture.Http.GetStringAsync("/metrics")).ShouldContain("tally_ingest_events_accepted");
    }

    [Fact]
    public async Task a_tenant_over_its_rate_is_refused_with_429_and_retry_after_across_api_instances()
    {
        var tenant = await Fixture.CreateTenantAsync(id: ApiFixture.LimitedTenant);
        // Both instances count against one limit in Redis; a burst well over it within a second must be refused.
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
        {
            var http = i % 2 == 0 ? Fixture.Http : Fixture.Http2;
            return http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/leaderboards/co2_saved_kg")
            { Headers = { Authorization = new("Bearer", tenant.ReadKey) } });
        }));
        var limited = responses.Where(r => (int)r.StatusCode == 429).ToList();
        limited.Count.ShouldBeGreaterThan(0);
        responses.Count(r => r.IsSuccessStatusCode).ShouldBeLessThanOrEqualTo(ApiFixture.LimitedTenantRequestsPerSecond * 2);
        limited[0].Headers.RetryAfter.ShouldNotBeNull();
        (await limited[0].Content.ReadAsStringAsync()).ShouldContain("rate_limited");
    }

    [Fact]
    public async Task a_users_own_event_moves_their_ranks_at_once_and_others_ranks_follow()
    {
        var tenant = await SeedAsync();
        async Task<long> GlobalRank(string user) =>
            (await Get(tenant.ReadKey, $"/v1/users/{user}/stats")).Body!["ranks"]!["co2_saved_kg"]!["global"]!["all_time"]!.GetValue<long>();
        (await GlobalRank("u1")).ShouldBe(4);
        (await GlobalRank("u3")).ShouldBe(3);

        // Within the reuse window of those reads (1 s here): u1's own event is not hidden by the ranks probed before it.
        (await Post(tenant.IngestKey, Batch(Ride("u1", "f", 50m, "US")))).Status.ShouldBe(200);
        (await GlobalRank("u1")).ShouldBe(1);

        // Others' ranks may trail by the reuse window on top of the board's freshness, never longer.
        await Eventually.WaitFor(() => GlobalRank("u3"), rank => rank == 4, TimeSpan.FromSeconds(15), "u3 moves down behind u1");
    }

    [Fact]
    public async Task concurrent_stats_reads_share_rank_batches_and_each_gets_its_own_ranks()
    {
        var t = await Fixture.CreateTenantAsync();
        var events = Enumerable.Range(0, 40).Select(u => (JsonNode)Ride($"r{u:D2}", $"k{u}", 10 + u * 1.25m, u % 2 == 0 ? "US" : "DE")).ToArray();
        (await Post(t.IngestKey, Batch(events))).Status.ShouldBe(200);
        // Higher score first: r39 ranks 1 globally; within a country, every other user.
        long Global(int u) => 40 - u;
        long Country(int u) => (39 - u) / 2 + 1;
        await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/users/r00/stats"),
            r => r.Body?["ranks"]?["co2_saved_kg"]?["global"]?["all_time"]?.GetValue<long>() == 40, TimeSpan.FromSeconds(30), "the board holds every user");
        for (var round = 0; round < 3; round++)
        {
            var reads = await Task.WhenAll(Enumerable.Range(0, 40).Select(u => Get(t.ReadKey, $"/v1/users/r{u:D2}/stats")));
            for (var u = 0; u < 40; u++)
            {
                var ranks = reads[u].Body!["ranks"]!["co2_saved_kg"]!;
                (ranks["global"]!["all_time"]!.GetValue<long>(), ranks["country"]!["all_time"]!.GetValue<long>()).ShouldBe((Global(u), Country(u)), $"r{u:D2}");
            }
        }
    }
}
