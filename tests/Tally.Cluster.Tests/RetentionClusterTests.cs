using Shouldly;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Postgres.Lifecycle;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>Retention removes raw events, not what was derived from them: after a tenant's old month is exported and
/// removed, and every grain reloads from PostgreSQL, totals, streaks and boards are what they were (decision 015).</summary>
[Collection(SharedClusterCollection.Name)]
public class RetentionClusterTests(ClusterFixture fixture)
{
    private const string Config = """
        {"time_zone":"UTC","measures":{"co2":{"min":0}},"dimensions":["country"],
         "leaderboards":{"measures":["co2"],"scopes":["global"],"periods":["all_time"]},
         "rollups":{"scopes":["global"],"periods":["all_time"]},
         "retention":{"raw_events_days":40}}
        """;

    [Fact]
    public async Task removing_expired_raw_events_leaves_stats_and_boards_as_they_were()
    {
        var tenant = await fixture.CreateTenantWithConfigAsync(Config);
        var client = fixture.Cluster.Client;
        // Business time 2025-11-22: events in October (within 40 days now), then time moves on to mid-January.
        var events = Enumerable.Range(0, 60).Select(i => TestEvents.Make($"u{i % 3}", $"k{i}", ClusterFixture.Now.AddDays(-(25 + i % 10)), [("co2", 1.25m + i % 3)])).ToArray();
        (await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, events)).Durable.ShouldBeTrue();
        var board = new BoardKey("co2", "global", "", PeriodKind.AllTime, 0);
        var before = await SnapshotAsync(tenant, board);
        await Eventually.WaitFor(() => fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM user_state WHERE tenant_id = '{tenant}' AND last_event_id > 0"),
            n => n == 3, TimeSpan.FromSeconds(30), "every user's state saved");

        var exports = Path.Combine(Path.GetTempPath(), "tally-retention-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var steps = await new RetentionRunner(fixture.Db.DataSource).RemoveExpiredAsync(tenant, new RetentionConfig { RawEventsDays = 40 },
                ClusterFixture.Now.AddDays(60), exports, dryRun: false);
            steps.Sum(s => s.Rows).ShouldBe(60, string.Join("; ", steps.Select(s => s.Result)));
            (await fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM user_action_events WHERE tenant_id = '{tenant}'")).ShouldBe(0);

            await client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
            (await SnapshotAsync(tenant, board)).ShouldBe(before);
        }
        finally
        {
            if (Directory.Exists(exports)) Directory.Delete(exports, recursive: true);
        }
    }

    [Fact]
    public async Task the_maintenance_runner_removes_raw_events_past_raw_events_days_to_the_day_by_itself()
    {
        var tenant = await fixture.CreateTenantWithConfigAsync("""{"time_zone":"UTC","measures":{"co2":{"min":0}},"retention":{"raw_events_days":10}}""");
        // Two events on each of the last 16 days (by the wall clock: retention is about the rows' real age).
        await fixture.Db.ExecuteAsync($"""
            SELECT tally_ensure_event_partitions(((now() AT TIME ZONE 'UTC') - interval '16 days')::date, (now() AT TIME ZONE 'UTC')::date);
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            SELECT '{tenant}', ((now() AT TIME ZONE 'UTC') - make_interval(days => d))::date, 'u' || i, 'a', now() - make_interval(days => d), 'k' || d || '-' || i, '{"{"}"co2": 1{"}"}'
              FROM generate_series(0, 15) d, generate_series(1, 2) i;
            """);
        var tenantExports = Path.Combine(ClusterFixture.ExportDirectory, tenant);
        try
        {
            var maintenance = fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0);
            // The count is over every tenant of the shared cluster; this tenant's rows are checked below.
            (await maintenance.RetentionNow()).ShouldBeGreaterThanOrEqualTo(10, "days 11 to 15 ago: older than 10 days");
            var oldestKept = await fixture.Db.ScalarAsync<string>($"SELECT min(action_date)::text FROM user_action_events WHERE tenant_id = '{tenant}'");
            oldestKept.ShouldBe(DateTime.UtcNow.AddDays(-10).ToString("yyyy-MM-dd"));
            (await fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM user_action_events WHERE tenant_id = '{tenant}'")).ShouldBe(22);
            long exported = 0;
            foreach (var dir in Directory.GetDirectories(tenantExports))
                exported += (await EventExport.VerifyAsync(dir)).Rows;
            exported.ShouldBe(10, "every removed row is in a verified export");
            (await maintenance.RetentionNow()).ShouldBe(0, "nothing more is past retention");
            Directory.GetDirectories(tenantExports).Length.ShouldBeLessThanOrEqualTo(2, "a second pass writes no export");
        }
        finally
        {
            if (Directory.Exists(tenantExports)) Directory.Delete(tenantExports, recursive: true);
        }
    }

    private async Task<string> SnapshotAsync(string tenant, BoardKey board)
    {
        var client = fixture.Cluster.Client;
        var parts = new List<string>();
        foreach (var user in new[] { "u0", "u1", "u2" })
        {
            var s = (await client.GetGrain<IUserGrain>(UserKey.Format(tenant, user)).GetStats(0, null))!;
            parts.Add($"{user}: {s.Actions} {s.Measures["co2"].AllTime} {s.LongestStreak}");
        }
        var page = await Eventually.WaitFor(() => client.GetGrain<IBoardQueryGrain>(0).Page(tenant, 0, board, 0, 10), p => p.Members == 3,
            TimeSpan.FromSeconds(15), "three users on the board");
        parts.Add(string.Join(",", page.Entries.Select(e => $"{e.Rank}:{e.UserId}:{e.Score}")));
        var rollup = await client.GetGrain<IBoardQueryGrain>(0).Rollup(tenant, 0, board);
        parts.Add($"{rollup.Total} {rollup.Users} {rollup.Actions}");
        return string.Join(" | ", parts);
    }
}
