using Orleans.Core.Internal;
using Shouldly;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// After the maintenance grain and board shards start over (what a silo restart does), the first snapshot run
/// writes what changed since the last completed run, found in the log, and leaves unchanged tenants alone:
/// a restart costs what changed, not every board of every tenant.
/// </summary>
[Collection(ClusterOfItsOwnCollection.Name)]
public class SnapshotCatchUpTests : ClusterOfItsOwn
{
    private const string Config = """
        {"time_zone":"UTC","measures":{"co2":{"min":0}},"dimensions":["country"],
         "leaderboards":{"measures":["co2"],"scopes":["global"],"periods":["all_time"]},
         "rollups":{"scopes":["global"],"periods":["all_time"]},"board_shards":2}
        """;

    [Fact]
    public async Task the_first_run_after_a_restart_writes_the_tenants_that_changed_and_only_those()
    {
        var quiet = await Fixture.CreateTenantWithConfigAsync(Config);
        var busy = await Fixture.CreateTenantWithConfigAsync(Config);
        await IngestAsync(quiet, "first-", 30);
        await IngestAsync(busy, "first-", 30);
        var maintenance = Fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0);
        await Eventually.WaitFor(async () => { await maintenance.SnapshotNow(); return (await Actions(quiet), await Actions(busy)); },
            a => a == (30, 30), TimeSpan.FromSeconds(60), "both tenants' rollups snapshotted");
        var quietComputedAt = await ComputedAt(quiet);

        // More events for one tenant, saved to its users' states; then its shards and the maintenance grain start
        // over, so what the shards had noted as changed is gone: only the log knows.
        await IngestAsync(busy, "more-", 12);
        await Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>($"""
                SELECT count(*) FROM user_state s WHERE s.tenant_id = '{busy}'
                   AND s.last_event_id < (SELECT max(event_id) FROM user_action_events e WHERE e.tenant_id = s.tenant_id AND e.user_id = s.user_id)
                """), n => n == 0, TimeSpan.FromSeconds(60), "the busy tenant's states saved");
        await Eventually.WaitFor(() => LiveActions(busy), n => n == 42, TimeSpan.FromSeconds(60), "the busy tenant's shards to hold every event");
        for (var s = 0; s < 2; s++)
            await Fixture.Cluster.Client.GetGrain<IBoardShardGrain>(BoardShards.Key(busy, s)).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await maintenance.Cast<IGrainManagementExtension>().DeactivateOnIdle();

        var report = await maintenance.SnapshotNow();
        (await Actions(busy)).ShouldBe(42);
        report.RollupRows.ShouldBe(1, "one rollup written: the busy tenant's");
        report.UserSummaryRows.ShouldBe(6, "the busy tenant's six users, found in the log");
        (await ComputedAt(quiet)).ShouldBe(quietComputedAt, "the quiet tenant's rollup was not written again");
    }

    private async Task IngestAsync(string tenant, string prefix, int events)
    {
        var batch = Enumerable.Range(0, events)
            .Select(i => TestEvents.Make($"u{i % 6}", $"{prefix}{i}", ClusterFixture.Now.AddHours(-1), [("co2", 1 + i % 5)]))
            .ToArray();
        (await Fixture.Cluster.Client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, batch)).Durable.ShouldBeTrue();
    }

    private async Task<long> LiveActions(string tenant)
    {
        long actions = 0;
        for (var s = 0; s < 2; s++)
        {
            var shard = Fixture.Cluster.Client.GetGrain<IBoardShardGrain>(BoardShards.Key(tenant, s));
            var keys = (await shard.Boards()).Where(k => k.RollupKey == "global_all_time").ToArray();
            actions += (await shard.Totals(keys)).Sum(t => t.Actions);
        }
        return actions;
    }

    private Task<long> Actions(string tenant) => Fixture.Db.ScalarAsync<long>(
        $"SELECT COALESCE(max(actions), 0) FROM global_stats_rollup WHERE tenant_id = '{tenant}' AND rollup_key = 'global_all_time'");

    private Task<DateTime> ComputedAt(string tenant) => Fixture.Db.ScalarAsync<DateTime>(
        $"SELECT max(computed_at) FROM global_stats_rollup WHERE tenant_id = '{tenant}'");
}
