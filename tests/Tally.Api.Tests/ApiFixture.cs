using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tally.Api.Hosting;
using Tally.Domain.Time;
using Tally.Silo.Hosting;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// A real silo and a real API (each its own host, talking over Orleans' TCP gateway) on a fresh
/// database, reached over real HTTP. Business time is fixed at <see cref="Now"/> so period
/// assertions hold at any hour in any machine time zone.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2025-11-22T12:00:00Z");
    public const string AdminKey = "test-admin-key-0123456789";
    public const long MaxBodyBytes = 1024 * 1024;

    private WebApplication? _silo;
    private WebApplication? _api;

    public TestDatabase Db { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public FakeTimeProvider Clock { get; } = new(Now);

    public async Task InitializeAsync()
    {
        Db = await TestDatabase.CreateAsync("api");
        var clusterId = "api-tests-" + Guid.NewGuid().ToString("N")[..8];
        var settings = new Dictionary<string, string?>
        {
            ["Tally:Postgres:ConnectionString"] = Db.ConnectionString,
            ["Tally:Silo:ClusterId"] = clusterId,
            ["Tally:Silo:SiloPort"] = FreePort().ToString(),
            ["Tally:Silo:GatewayPort"] = FreePort().ToString(),
            ["Tally:Api:ClusterId"] = clusterId,
            ["Tally:Api:AdminKey"] = AdminKey,
            ["Tally:Api:MaxBodyBytes"] = MaxBodyBytes.ToString(),
        };

        var siloBuilder = WebApplication.CreateBuilder();
        siloBuilder.Configuration.AddInMemoryCollection(settings);
        siloBuilder.WebHost.UseUrls($"http://127.0.0.1:{FreePort()}");
        siloBuilder.Services.AddSingleton(new TallyClock(Clock));
        siloBuilder.AddTallySilo();
        _silo = siloBuilder.Build();
        _silo.MapTallySiloEndpoints();
        await _silo.StartAsync();

        var apiPort = FreePort();
        var apiBuilder = WebApplication.CreateBuilder();
        apiBuilder.Configuration.AddInMemoryCollection(settings);
        apiBuilder.WebHost.UseUrls($"http://127.0.0.1:{apiPort}");
        apiBuilder.Services.AddSingleton(new TallyClock(Clock));
        apiBuilder.AddTallyApi();
        _api = apiBuilder.Build();
        _api.MapTallyApi();
        await _api.StartAsync();

        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
        await Eventually.WaitFor(() => Http.GetAsync("/health/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(60), "API ready");
    }

    /// <summary>A new tenant with its own keys, so tests never see each other's data.</summary>
    public async Task<TestTenant> CreateTenantAsync(string timeZone = "Europe/Berlin")
    {
        var id = "t" + Guid.NewGuid().ToString("N")[..12];
        var config = new JsonObject
        {
            ["time_zone"] = timeZone,
            ["measures"] = new JsonObject { ["co2_saved_kg"] = new JsonObject { ["min"] = 0, ["max"] = 100000 }, ["sales"] = new JsonObject() },
            ["dimensions"] = new JsonArray("country", "org"),
        };
        var put = await Send(HttpMethod.Put, $"/v1/tenants/{id}", AdminKey, config);
        put.EnsureSuccessStatusCode();
        return new TestTenant(id, await Key(id, "ingest"), await Key(id, "read"), await Key(id, "admin"));
    }

    private async Task<string> Key(string tenant, string role)
    {
        var response = await Send(HttpMethod.Post, $"/v1/tenants/{tenant}/keys", AdminKey, new JsonObject { ["role"] = role });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return (string)body!["key"]!;
    }

    public Task<HttpResponseMessage> Send(HttpMethod method, string path, string? key, JsonNode? body = null) =>
        SendRaw(method, path, key, body?.ToJsonString());

    public Task<HttpResponseMessage> SendRaw(HttpMethod method, string path, string? key, string? body)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        return Http.SendAsync(request);
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_api is not null) { await _api.StopAsync(); await _api.DisposeAsync(); }
        if (_silo is not null) { await _silo.StopAsync(); await _silo.DisposeAsync(); }
        await Db.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed record TestTenant(string Id, string IngestKey, string ReadKey, string AdminKey);

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}
