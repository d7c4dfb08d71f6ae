using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Tally.Domain.Time;
using Tally.Grains.Hosting;
using Tally.Postgres.Tenants;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>A two-silo TestingHost cluster on a fresh PostgreSQL database, business time fixed at <see cref="Now"/>.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2025-11-22T12:00:00Z");

    // Silos are in-process: the configurator reads the database of the fixture being deployed.
    private static string _connectionString = "";

    public TestCluster Cluster { get; private set; } = null!;
    public TestDatabase Db { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Db = await TestDatabase.CreateAsync("cluster");
        _connectionString = Db.ConnectionString;
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task<string> CreateTenantAsync(string timeZone = "UTC")
    {
        var tenantId = "t" + Guid.NewGuid().ToString("N")[..12];
        var config = $$$"""{"time_zone":"{{{timeZone}}}","measures":{"co2":{"min":0}},"dimensions":["country"]}""";
        await new TenantStore(Db.DataSource).PutAsync(tenantId, config);
        return tenantId;
    }

    public async Task DisposeAsync()
    {
        try { await Cluster.StopAllSilosAsync(); } catch { /* best effort */ }
        await Cluster.DisposeAsync();
        await Db.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Tally:Postgres:ConnectionString"] = _connectionString,
                ["Tally:UserGrain:PersistEveryEvents"] = "20",
                ["Tally:UserGrain:PersistIntervalSeconds"] = "1",
            }).Build();
            silo.Services.AddSingleton(new TallyClock(new FakeTimeProvider(Now)));
            silo.AddTally(config);
        }
    }
}
