using Shouldly;
using Tally.Contracts;
using Tally.Postgres;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// The Orleans ADO.NET providers run on tables and queries that are this project's own migrations
/// (decision 002). These tests run the real clustering and reminder providers against them, so an Orleans
/// upgrade that changes a query or a column fails the test command: silos join and publish gateways, a
/// killed silo is declared dead and its work moves, a reminder is stored, and an applied migration that
/// changes stops start-up.
/// </summary>
[Collection(ClusterOfItsOwnCollection.Name)]
public class OrleansProviderTests : ClusterOfItsOwn
{
    private const int Active = 3;
    private const int Dead = 6;

    private Task<long> SilosAsync(int status) => Fixture.Db.ScalarAsync<long>(
        "SELECT count(*) FROM orleansmembershiptable WHERE status = @s AND proxyport > 0", ("s", status));

    [Fact]
    public async Task silos_join_publish_gateways_and_a_killed_silo_is_declared_dead()
    {
        (await SilosAsync(Active)).ShouldBe(2, "both silos joined with a gateway port");
        // The client found the gateways through the provider's gateway-list query, or no call would answer.
        var tenant = await Fixture.CreateTenantAsync();
        var ack = await Fixture.Cluster.Client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, [TestEvents.Make("u1", "k1", ClusterFixture.Now, [("co2", 1)])]);
        ack.Durable.ShouldBeTrue();

        await Fixture.Cluster.KillSiloAsync(Fixture.Cluster.SecondarySilos[0]);

        await Eventually.WaitFor(() => SilosAsync(Dead), n => n == 1, TimeSpan.FromSeconds(120), "the killed silo to be declared dead in the membership table");
        (await SilosAsync(Active)).ShouldBe(1);
        var again = await Fixture.Cluster.Client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, [TestEvents.Make("u2", "k2", ClusterFixture.Now, [("co2", 1)])]);
        again.Durable.ShouldBeTrue("the surviving silo answers");
    }

    [Fact]
    public async Task the_maintenance_runner_keeps_its_reminder_in_the_reminder_table()
    {
        await Fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0).SnapshotNow();
        await Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>(
                "SELECT count(*) FROM orleansreminderstable WHERE grainid LIKE '%maintenance%' AND period = 60000"),
            n => n == 1, TimeSpan.FromSeconds(30), "the maintenance grain's keep-alive reminder to be stored");
    }

    [Fact]
    public async Task an_applied_migration_that_changed_stops_start_up()
    {
        var runner = new MigrationRunner(Fixture.Db.DataSource, Microsoft.Extensions.Logging.Abstractions.NullLogger<MigrationRunner>.Instance);
        (await runner.MigrateAsync()).ShouldBe(0, "everything is applied already");
        await Fixture.Db.ExecuteAsync("UPDATE schema_migrations SET checksum = 'DEADBEEFDEADBEEF' WHERE version = '0006_event_log'");

        var ex = await Should.ThrowAsync<MigrationChangedException>(() => runner.MigrateAsync());
        ex.Version.ShouldBe("0006_event_log");
        ex.Message.ShouldContain("changed after it was applied");
    }
}
