using Shouldly;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>A removed user stays removed when everything reloads from PostgreSQL (the user grain from its saved
/// state, the board shards from saved states and the log), and the snapshot tables drop the user too (decision 012).</summary>
[Collection(SharedClusterCollection.Name)]
public class UserErasureTests(ClusterFixture fixture)
{
    private const string Config = """
        {"time_zone":"Europe/Berlin","measures":{"co2":{"min":0}},"dimensions":["country"],
         "leaderboards":{"measures":["co2"],"scopes":["global"],"periods":["all_time"]},
         "rollups":{"scopes":["global"],"periods":["all_time"]}}
        """;

    private static readonly BoardKey AllTime = new("co2", "global", "", PeriodKind.AllTime, 0);

    [Fact]
    public async Task a_removed_user_stays_off_boards_rollups_and_snapshots_after_every_grain_reloads()
    {
        var tenant = await fixture.CreateTenantWithConfigAsync(Config);
        var client = fixture.Cluster.Client;
        var events = Enumerable.Range(0, 30).Select(i => TestEvents.Make($"u{i % 3}", $"k{i}", ClusterFixture.Now.AddHours(-i), [("co2", 1 + i % 3)])).ToArray();
        (await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, events)).Durable.ShouldBeTrue();
        var maintenance = client.GetGrain<IMaintenanceGrain>(0);
        await maintenance.SnapshotNow();
        (await fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM user_daily_stats WHERE tenant_id = '{tenant}' AND user_id = 'u1'")).ShouldBeGreaterThan(0);

        (await client.GetGrain<IUserGrain>(UserKey.Format(tenant, "u1")).Erase()).ShouldBe(EraseOutcome.Erased);
        await maintenance.SnapshotNow();
        await AssertRemovedAsync(tenant);

        // Every idle grain is deactivated: the user grain reloads its saved state, the shard rebuilds.
        await client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await AssertRemovedAsync(tenant);
        await maintenance.ReconcileNow();
        await maintenance.SnapshotNow();
        await AssertRemovedAsync(tenant);
    }

    private async Task AssertRemovedAsync(string tenant)
    {
        var client = fixture.Cluster.Client;
        (await client.GetGrain<IUserGrain>(UserKey.Format(tenant, "u1")).GetStats(0, null)).ShouldBeNull();
        var page = await client.GetGrain<IBoardQueryGrain>(0).Page(tenant, 0, AllTime, 0, 10);
        page.Members.ShouldBe(2);
        page.Entries.Select(e => e.UserId).ShouldBe(["u2", "u0"]);
        var rollup = await client.GetGrain<IBoardQueryGrain>(0).Rollup(tenant, 0, AllTime);
        rollup.Users.ShouldBe(2);
        rollup.Total.ShouldBe(10 * 1 + 10 * 3);
        (await fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM user_daily_stats WHERE tenant_id = '{tenant}' AND user_id = 'u1'")).ShouldBe(0);
        (await fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM user_stats_summary WHERE tenant_id = '{tenant}' AND user_id = 'u1'")).ShouldBe(0);
        (await fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM leaderboard_snapshots WHERE tenant_id = '{tenant}' AND user_id = 'u1'")).ShouldBe(0);
        (await fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM user_action_events WHERE tenant_id = '{tenant}' AND user_id = 'u1'")).ShouldBe(10, "the log keeps the events");
    }
}
