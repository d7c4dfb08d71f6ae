using System.Text.Json.Nodes;
using Npgsql;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// <c>Tally:Postgres:ReadConnectionString</c> with a real streaming replica (started by deploy/local/test): reads that may
/// lag go to it, <c>/health/ready</c> reports both pools, and with the replica unreachable the same reads are answered by
/// the primary while readiness says it is degraded.
/// </summary>
[Collection(ApiCollection.Name)]
public class ReadReplicaTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static string ReplicaOf(string database, int? port = null)
    {
        var replica = Environment.GetEnvironmentVariable("TALLY_TEST_PG_REPLICA")
            ?? throw new InvalidOperationException("TALLY_TEST_PG_REPLICA is not set: run the tests through deploy/local/test, which starts the replica.");
        var builder = new NpgsqlConnectionStringBuilder(replica) { Database = database, ApplicationName = "tally-read-test" };
        if (port is { } p) builder.Port = p;
        return builder.ConnectionString;
    }

    private static int ReplicaPort => new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("TALLY_TEST_PG_REPLICA")!).Port;

    private async Task<(TestTenant Tenant, JsonObject Usage)> TenantWithUsageAsync()
    {
        var t = await Fixture.CreateTenantAsync();
        (await Post(t.IngestKey, Batch(Event("u1", "r1"), Event("u2", "r2"), Event("u2", "r3")))).Status.ShouldBe(200);
        var (_, usage) = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/usage?month=2025-11"), r => (long?)r.Body?["events_accepted"] == 3,
            TimeSpan.FromSeconds(10), "usage on the primary");
        return (t, usage!);
    }

    private async Task WaitForReplicaAsync()
    {
        // The fixture's database was created on the primary; the replica has it once it replayed that far.
        await Eventually.WaitFor(async () =>
        {
            await using var conn = new NpgsqlConnection(ReplicaOf(Fixture.Db.Name));
            await conn.OpenAsync();
            return true;
        }, ok => ok, TimeSpan.FromSeconds(20), "the replica to have the test database");
    }

    [Fact]
    public async Task reads_that_may_lag_go_to_the_replica_and_readiness_reports_both_pools()
    {
        await WaitForReplicaAsync();
        var api = await Fixture.StartExtraApiAsync(new() { ["Tally:Postgres:ReadConnectionString"] = ReplicaOf(Fixture.Db.Name) });
        var (t, usage) = await TenantWithUsageAsync();

        var (_, fromReplica) = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/usage?month=2025-11", api),
            r => r.Body?.ToJsonString() == usage.ToJsonString(), TimeSpan.FromSeconds(10), "the replica's usage to match the primary's");
        fromReplica!["events_accepted"]!.GetValue<long>().ShouldBe(3);
        // The read was the replica's: its pool's connection is there, under the read pool's application name.
        await using (var replica = NpgsqlDataSource.Create(ReplicaOf("postgres")))
            (await replica.CreateCommand($"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tally-read-test' AND datname = '{Fixture.Db.Name}'")
                .ExecuteScalarAsync()).ShouldNotBe(0L);

        var (status, ready) = await Get(null, "/health/ready", api);
        status.ShouldBe(200);
        ready!["status"]!.GetValue<string>().ShouldBe("ready");
        var read = ready["checks"]!["postgres_read"]!;
        read["status"]!.GetValue<string>().ShouldBe("up");
        read["source"]!.GetValue<string>().ShouldBe("replica");
        foreach (var check in new[] { ready["checks"]!["postgres"]!, read })
            foreach (var field in new[] { "size", "idle", "busy", "waiting", "max" })
                check["pool"]![field].ShouldNotBeNull($"pool.{field}");
        read["pool"]!["size"]!.GetValue<long>().ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task with_the_replica_unreachable_the_primary_answers_and_readiness_says_degraded()
    {
        await WaitForReplicaAsync();
        await using var proxy = new TcpFaultProxy("127.0.0.1", ReplicaPort);
        var api = await Fixture.StartExtraApiAsync(new() { ["Tally:Postgres:ReadConnectionString"] = ReplicaOf(Fixture.Db.Name, proxy.Port) + ";Timeout=2" });
        var (t, usage) = await TenantWithUsageAsync();
        await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/usage?month=2025-11", api),
            r => r.Body?.ToJsonString() == usage.ToJsonString(), TimeSpan.FromSeconds(10), "usage through the replica");

        proxy.Cut(); // the replica stops answering: open connections drop, new ones are refused
        var (status, body) = await Get(t.ReadKey, "/v1/usage?month=2025-11", api);
        status.ShouldBe(200);
        body!.ToJsonString().ShouldBe(usage.ToJsonString());

        var (readyStatus, ready) = await Get(null, "/health/ready", api);
        readyStatus.ShouldBe(200);
        ready!["status"]!.GetValue<string>().ShouldBe("degraded");
        ready["checks"]!["postgres_read"]!["status"]!.GetValue<string>().ShouldBe("down");
        ready["checks"]!["postgres_read"]!["source"]!.GetValue<string>().ShouldBe("primary (replica down)");
        ready["checks"]!["postgres"]!["status"]!.GetValue<string>().ShouldBe("up");
    }
}
