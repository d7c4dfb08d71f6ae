using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Tally.Domain.Time;
using Tally.Grains.Hosting;
using Tally.Postgres.Hosting;
using Tally.Postgres.Tenants;
using Tally.Silo.Hosting;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>A two-silo TestingHost cluster on a fresh PostgreSQL database, business time starting at <see cref="Now"/>
/// (tests may move it with <see cref="Time"/>). Membership is Orleans' ADO.NET table in that database, as in
/// production: log commits are fenced by it (decision 011). Reminders are the ADO.NET provider too, on the
/// project's own migrations. One fixture may serve a whole collection (<see cref="SharedClusterCollection"/>):
/// each test makes its own tenant. Fixtures of different collections may run side by side.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2025-11-22T12:00:00Z");

    /// <summary>The silos' export directory (Tally:Export:Directory), one per test process; tests clean what they make.</summary>
    public static readonly string ExportDirectory = Path.Combine(Path.GetTempPath(), $"tally-cluster-exports-{Environment.ProcessId}");

    // Silos are in-process: their configurator finds its fixture (database, clock) by the id in the host configuration.
    private const string FixtureKey = "TallyTests:Fixture";
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ClusterFixture> Deployed = new();
    private readonly string _id = Guid.NewGuid().ToString("N");

    public FakeTimeProvider Time { get; } = new(Now);

    public TestCluster Cluster { get; private set; } = null!;
    public TestDatabase Db { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Db = await TestDatabase.CreateAsync("cluster");
        Deployed[_id] = this;
        var builder = new TestClusterBuilder(2);
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?> { [FixtureKey] = _id }));
        builder.Options.UseTestClusterMembership = false;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task<string> CreateTenantAsync(string timeZone = "UTC")
    {
        var config = $$$"""{"time_zone":"{{{timeZone}}}","measures":{"co2":{"min":0}},"dimensions":["country"]}""";
        return await CreateTenantWithConfigAsync(config);
    }

    public async Task<string> CreateTenantWithConfigAsync(string configJson)
    {
        var tenantId = "t" + Guid.NewGuid().ToString("N")[..12];
        await new TenantStore(Db.DataSource).PutAsync(tenantId, configJson);
        return tenantId;
    }

    public async Task DisposeAsync()
    {
        try { await Cluster.StopAllSilosAsync(); } catch { /* best effort */ }
        await Cluster.DisposeAsync();
        Deployed.TryRemove(_id, out _);
        await Db.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var fixture = Deployed[silo.Configuration[FixtureKey]!];
            var connectionString = fixture.Db.ConnectionString;
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Tally:Postgres:ConnectionString"] = connectionString,
                ["Tally:UserGrain:PersistEveryEvents"] = "20",
                ["Tally:UserGrain:PersistIntervalSeconds"] = "1",
                // Jobs run when a test asks (ReconcileNow, SnapshotNow), and reconciliation looks at every event.
                ["Tally:Boards:ReconcileIntervalSeconds"] = "3600",
                ["Tally:Boards:SnapshotIntervalSeconds"] = "3600",
                ["Tally:Boards:ReconcileLagSeconds"] = "0",
                ["Tally:Boards:ClosedBoardGraceDays"] = "40",
                ["Tally:Boards:CheckpointScanSeconds"] = "1",
                // Webhook receivers run on loopback here.
                ["Tally:Webhooks:AllowPrivateTargets"] = "true",
                ["Tally:Webhooks:PollIntervalMs"] = "100",
                ["Tally:Export:Directory"] = ExportDirectory,
            }).Build();
            silo.Services.AddSingleton(new TallyClock(fixture.Time)).UseTestMeters();
            silo.UseTallyAdoNet(connectionString);
            silo.AddTally(config);
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder client) =>
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresOptions.AdoNetInvariant;
                o.ConnectionString = Deployed[configuration[FixtureKey]!].Db.ConnectionString;
            });
    }
}

/// <summary>Test classes that share one two-silo cluster: they neither stop silos nor move business time, and each
/// works in a tenant of its own. Classes that do either derive from <see cref="ClusterOfItsOwn"/> instead.</summary>
[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "shared cluster";
}

/// <summary>Tests that stop or kill silos, move business time or measure the database's work: each test deploys a
/// cluster of its own, and the collection runs alone, after the others, so no other cluster shares the two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterOfItsOwnCollection
{
    public const string Name = "cluster of its own";
}

/// <summary>A test class whose every test deploys a cluster of its own (<see cref="ClusterOfItsOwnCollection"/>).</summary>
public abstract class ClusterOfItsOwn : IAsyncLifetime
{
    protected ClusterFixture Fixture { get; } = new();

    public Task InitializeAsync() => Fixture.InitializeAsync();

    public Task DisposeAsync() => Fixture.DisposeAsync();
}
