using Shouldly;
using Tally.Contracts;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

[Collection(ApiCollection.Name)]
public class StatsAndOperationsTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    // Business time is 2025-11-22T12:00Z = 13:00 in Berlin (a Saturday, ISO week 47).
    [Fact]
    public async Task stats_sum_periods_in_the_tenant_time_zone()
    {
        var t = await Fixture.CreateTenantAsync("Europe/Berlin");
        await Post(t.IngestKey, Batch(
            Event("u", "a", 1.5m, "2025-11-22T10:00:00Z"),      // today
            Event("u", "b", 2.25m, "2025-11-21T23:30:00Z"),     // 00:30 on the 22nd in Berlin: today, not yesterday
            Event("u", "c", 4m, "2025-11-17T08:00:00+01:00"),   // Monday of this week
            Event("u", "d", 8m, "2025-11-02T12:00:00Z"),        // this month, earlier week
            Event("u", "e", 16m, "2025-01-15T12:00:00Z"),       // this year
            Event("u", "f", 32m, "2024-12-31T23:30:00Z")));     // 00:30 on 2025-01-01 in Berlin: this year
        var (status, stats) = await Get(t.ReadKey, "/v1/users/u/stats");
        status.ShouldBe(200);
        var co2 = stats!["measures"]!["co2_saved_kg"]!;
        co2["day"]!.GetValue<decimal>().ShouldBe(3.75m);
        co2["week"]!.GetValue<decimal>().ShouldBe(7.75m);
        co2["month"]!.GetValue<decimal>().ShouldBe(15.75m);
        co2["year"]!.GetValue<decimal>().ShouldBe(63.75m);
        co2["all_time"]!.GetValue<decimal>().ShouldBe(63.75m);
        co2["actions"]!.GetValue<long>().ShouldBe(6);
        stats["actions"]!.GetValue<long>().ShouldBe(6);
        stats["user_id"]!.GetValue<string>().ShouldBe("u");
        stats["last_action_date"]!.GetValue<string>().ShouldBe("2025-11-22");
    }

    [Fact]
    public async Task streaks_count_consecutive_days_and_a_late_event_fills_the_gap()
    {
        var t = await Fixture.CreateTenantAsync("UTC");
        await Post(t.IngestKey, Batch(
            Event("s", "1", at: "2025-11-18T10:00:00Z"), Event("s", "2", at: "2025-11-19T10:00:00Z"),
            Event("s", "3", at: "2025-11-21T10:00:00Z"), Event("s", "4", at: "2025-11-22T10:00:00Z")));
        var (_, before) = await Get(t.ReadKey, "/v1/users/s/stats");
        before!["streak"]!["current"]!.GetValue<int>().ShouldBe(2);
        before["streak"]!["longest"]!.GetValue<int>().ShouldBe(2);

        await Post(t.IngestKey, Batch(Event("s", "late", at: "2025-11-20T10:00:00Z")));
        var (_, after) = await Get(t.ReadKey, "/v1/users/s/stats");
        after!["streak"]!["current"]!.GetValue<int>().ShouldBe(5);
        after["streak"]!["longest"]!.GetValue<int>().ShouldBe(5);
    }

    [Fact]
    public async Task at_reads_another_days_periods()
    {
        var t = await Fixture.CreateTenantAsync("UTC");
        await Post(t.IngestKey, Batch(Event("h", "1", 5m, "2025-10-01T10:00:00Z"), Event("h", "2", 7m, "2025-11-22T10:00:00Z")));
        var (_, stats) = await Get(t.ReadKey, "/v1/users/h/stats?at=2025-10-01");
        var co2 = stats!["measures"]!["co2_saved_kg"]!;
        co2["day"]!.GetValue<decimal>().ShouldBe(5m);
        co2["month"]!.GetValue<decimal>().ShouldBe(5m);
        co2["year"]!.GetValue<decimal>().ShouldBe(12m);
        (await Get(t.ReadKey, "/v1/users/h/stats?at=october")).Status.ShouldBe(400);
        (await Get(t.ReadKey, "/v1/users/h/stats?at=2030-01-01")).Status.ShouldBe(400);
    }

    [Fact]
    public async Task an_unknown_user_is_404()
    {
        var t = await Fixture.CreateTenantAsync();
        var (status, body) = await Get(t.ReadKey, "/v1/users/ghost/stats");
        status.ShouldBe(404);
        body!["error"]!["code"]!.GetValue<string>().ShouldBe("user_not_found");
    }

    [Fact]
    public async Task readiness_names_each_check_and_openapi_is_served()
    {
        var ready = await Fixture.Http.GetStringAsync("/health/ready");
        ready.ShouldContain("\"postgres\"");
        ready.ShouldContain("\"cluster\"");
        ready.ShouldContain("\"pool\"");
        (await Fixture.Http.GetAsync("/health/live")).IsSuccessStatusCode.ShouldBeTrue();
        (await Fixture.Http.GetStringAsync("/openapi/v1.json")).ShouldContain("/v1/events");
    }
    [Fact]
    public async Task metrics_show_ingest_commits_cache_board_update_lag_snapshot_ages_and_drift()
    {
        var t = await Fixture.CreateTenantAsync();
        (await Post(t.IngestKey, Batch(Event("m1", "metrics-1", 3m)))).Status.ShouldBe(200);
        await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/leaderboards/co2_saved_kg"), r => (long?)r.Body?["members"] == 1,
            TimeSpan.FromSeconds(15), "the event on the board");
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ReconcileNow();
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).SnapshotNow();

        // The API's scrape and the silo's, as Prometheus scrapes each process. The text must parse strictly: counters end in
        // _total, histograms have buckets.
        var families = PrometheusText.Parse(await Fixture.SiloMetricsAsync());
        foreach (var (name, family) in PrometheusText.Parse(await Fixture.Http.GetStringAsync("/metrics"))) families.TryAdd(name, family);
        string[] counters = ["tally_ingest_events_accepted_total", "tally_ingest_events_rejected_total", "tally_page_cache_misses_total", "tally_eventlog_rows_total"];
        foreach (var name in counters) families[name].Type.ShouldBe("counter", name);
        string[] histograms = ["tally_eventlog_batch_rows", "tally_eventlog_commit_milliseconds", "tally_board_update_lag_milliseconds", "http_server_request_duration_seconds"];
        foreach (var name in histograms) families[name].Type.ShouldBe("histogram", name);
        families.Keys.ShouldNotContain("tally_stream_lag_milliseconds", "renamed: the updates no longer go on a stream");
        families["tally_eventlog_commit_milliseconds"].Samples.ShouldContain(s => s.Labels.GetValueOrDefault("le") == "1000", "explicit millisecond buckets");
        var ages = families.Where(f => f.Key.StartsWith("tally_snapshot_age_seconds", StringComparison.Ordinal)).SelectMany(f => f.Value.Samples).Select(s => s.Labels["job"]).ToList();
        ages.ShouldBe(["global_stats_rollup", "leaderboard_snapshots", "partitions", "reconcile", "user_daily_stats", "user_stats_summary"], ignoreOrder: true);
        families.Keys.ShouldContain(k => k.StartsWith("tally_rollup_drift_cells", StringComparison.Ordinal));
        families["db_client_connection_count"].Samples.ShouldContain(s => s.Labels.GetValueOrDefault("db_client_connection_pool_name") == "tally", "Npgsql's pool figures");
    }
}
