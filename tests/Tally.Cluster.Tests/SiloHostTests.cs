using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Tally.Silo.Hosting;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// The production silo host (the one <c>deploy/local/up</c> and the containers run), started in this process on a
/// fresh database: it joins through ADO.NET clustering, answers <c>/health/live</c>, and its <c>/metrics</c> is
/// Prometheus text that parses strictly, with Orleans' and the runtime's series, counters in <c>_total</c>.
/// </summary>
public class SiloHostTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private WebApplication _silo = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync("silohost");
        int http = FreePort(), siloPort = FreePort(), gateway = FreePort();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = $"http://127.0.0.1:{http}",
            ["Tally:Postgres:ConnectionString"] = _db.ConnectionString,
            ["Tally:Silo:ClusterId"] = "silohost-" + Guid.NewGuid().ToString("N")[..8],
            ["Tally:Silo:SiloPort"] = siloPort.ToString(),
            ["Tally:Silo:GatewayPort"] = gateway.ToString(),
            ["Tally:Silo:DashboardCounterIntervalSeconds"] = "1",
        });
        builder.Services.UseTestMeters();
        builder.AddTallySilo();
        _silo = builder.Build();
        _silo.MapTallySiloEndpoints();
        await _silo.StartAsync();
        _http.BaseAddress = new Uri($"http://127.0.0.1:{http}");
    }

    public async Task DisposeAsync()
    {
        await _silo.StopAsync();
        await _silo.DisposeAsync();
        _http.Dispose();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task the_silo_joins_and_serves_prometheus_metrics_that_parse()
    {
        (await _http.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Eventually.WaitFor(() => _db.ScalarAsync<long>("SELECT count(*) FROM orleansmembershiptable WHERE status = 3"), n => n == 1,
            TimeSpan.FromSeconds(30), "the silo to be active in the membership table");
        await Eventually.WaitFor(async () => (await _http.GetAsync("/health/ready")).StatusCode, s => s == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the silo's readiness");

        var families = await Eventually.WaitFor(async () => PrometheusText.Parse(await _http.GetStringAsync("/metrics")),
            f => f.ContainsKey("orleans_catalog_activations"), TimeSpan.FromSeconds(30), "Orleans' series on the silo's /metrics");
        families.Values.Where(f => f.Type == "counter").ShouldNotBeEmpty();
        families.Values.Where(f => f.Type == "counter").ShouldAllBe(f => f.Samples.All(s => s.Name.EndsWith("_total")));
        families.ShouldContainKey("dotnet_gc_collections_total");
        families["db_client_connection_max"].Samples.ShouldContain(s => s.Labels.GetValueOrDefault("db_client_connection_pool_name") == "tally");
        families.Values.ShouldContain(f => f.Type == "histogram" && f.Samples.Any(s => s.Name.EndsWith("_bucket")));
    }

    [Fact]
    public async Task the_dashboard_gets_the_silos_counters_from_the_reader_at_the_configured_interval()
    {
        // The dashboard's own one-second reader is replaced (decision 025), and its exporter still feeds the dashboard.
        _silo.Services.GetRequiredService<DashboardMetricsReader>().Replaced.ShouldBeTrue();
        var silo = await Eventually.WaitFor(async () => JsonNode.Parse(await _http.GetStringAsync("/dashboard/DashboardCounters"))!["hosts"]!.AsArray(),
            hosts => hosts.Count == 1, TimeSpan.FromSeconds(30), "the silo on the dashboard");
        var address = silo[0]!["siloAddress"]!.GetValue<string>();
        await Eventually.WaitFor(async () => JsonNode.Parse(await _http.GetStringAsync($"/dashboard/SiloCounters/{address}"))!.AsArray(),
            counters => counters.Any(c => c!["name"]!.GetValue<string>() == "orleans-catalog-activations"), TimeSpan.FromSeconds(30),
            "Orleans' counters on the dashboard");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
