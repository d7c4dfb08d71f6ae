using Shouldly;
using Tally.Contracts;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>The maintenance runner keeps the log's partitions ready ahead of time (PartitionsAheadMonths, default 6),
/// so the first event of a month never waits for DDL.</summary>
[Collection(SharedClusterCollection.Name)]
public class PartitionsAheadTests(ClusterFixture fixture)
{
    [Fact]
    public async Task the_maintenance_job_creates_the_partitions_ahead()
    {
        // Business time is 2025-11-22: six months ahead is May 2026. Remove it (start-up made it) and let the job bring it back.
        await fixture.Db.ExecuteAsync("DROP TABLE user_action_events_y2026m05");
        (await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname = 'user_action_events_y2026m05'")).ShouldBe(0);

        await fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0).SnapshotNow();

        (await fixture.Db.ScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname = 'user_action_events_y2026m05'")).ShouldBe(1);
    }
}
