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
using Orleans;
using Tally.Api.Hosting;
using Tally.Domain.Time;
using Tally.Silo.Hosting;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// A real silo and two real API instances (each its own host, talking over Orleans' TCP gateway)
/// on a fresh database and the test Redis, reached over real HTTP. Business time is fixed at <see cref="Now"/> so period
/// assertions hold at any hour in any machine time zone.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2025-11-22T12:00:00Z");
    public const string AdminKey = "test-admin-key-0123456789";
    public const long MaxBodyBytes = 1024 * 1024;

    /// <summary>A tenant id whose rate limit is tiny (configured below), for the 429 test.</summary>
    public static readonly string LimitedTenant = "limited" + Guid.NewGuid().ToString("N")[..8];
    public const int LimitedTenantRequestsPerSecond = 5;

    private WebApplication? _silo;
    private WebApplication? _api;
    private WebApplication? _api2;
    private readonly List<WebApplication> _extraApis = new();
    private Dictionary<string, string?> _settings = new();

    /// <summary>How long an API instance trusts a resolved key here (revocation tests wait on it).</summary>
    public const int KeyCacheSeconds = 2;

    /// <summary>The second API instance: shares Redis (limits, cache) and the cluster with the first.</summary>
    public HttpClient Http2 { get; private set; } = null!;

    /// <summary>An Orleans client (the first API's) for running maintenance jobs on demand.</summary>
    public IClusterClient Cluster => _api!.Services.GetRequiredService<IClusterClient>();

    public TestDatabase Db { get; private set; } = null!;

    public const string S3CredentialsName = "local";

    /// <summary>The loopback S3 server's credential set (s3rver's fixed keys).</summary>
    internal Tally.Postgres.Lifecycle.S3CredentialSet S3 { get; } = new()
    {
        ServiceUrl = Environment.GetEnvironmentVariable("TALLY_TEST_S3") ?? "http://127.0.0.1:54568",
        AccessKey = "S3RVER", SecretKey = "S3RVER", Tenants = ["*"],
    };

    /// <summary>The silo's export directory (Tally:Export:Directory): a removed tenant's raw events go there.</summary>
    public string ExportDirectory { get; } = Path.Combine(Path.GetTempPath(), "tally-api-exports-" + Guid.NewGuid().ToString("N")[..8]);
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The silo's own <c>/metrics</c>, as Prometheus scrapes it: its meters come from its host's
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/>, as in production where each silo is a process.</summary>
    public async Task<string> SiloMetricsAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_silo!.Urls.First()) };
        return await http.GetStringAsync("/metrics");
    }
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
            ["Tally:Redis:ConnectionString"] = Environment.GetEnvironmentVariable("TALLY_TEST_REDIS")
                ?? throw new InvalidOperationException("TALLY_TEST_REDIS is not set: run the tests through deploy/local/test, which starts Redis."),
            // Cached pages live long here: every test that waits for a board to change shows that a
            // change reaches readers through the board's version, not through expiry.
            ["Tally:Redis:PageCacheMs"] = "60000",
            ["Tally:Redis:VersionedPageCacheMs"] = "60000",
            [$"Tally:Redis:TenantRequestsPerSecond:{LimitedTenant}"] = LimitedTenantRequestsPerSecond.ToString(),
            // The longest reuse allowed: a test that reads a user's ranks right after the user's own event shows that
            // the event is never hidden by ranks an earlier read probed.
            ["Tally:Boards:StatsRankReuseMs"] = "1000",
            ["Tally:Boards:ReconcileIntervalSeconds"] = "3600",
            ["Tally:Boards:SnapshotIntervalSeconds"] = "3600",
            ["Tally:Boards:ReconcileLagSeconds"] = "0",
            ["Tally:Api:KeyCacheSeconds"] = KeyCacheSeconds.ToString(),
            ["Tally:Api:UsageFlushSeconds"] = "0.2",
            // Receivers run on loopback here; deliveries look for new changes often.
            ["Tally:Webhooks:AllowPrivateTargets"] = "true",
            ["Tally:Webhooks:PollIntervalMs"] = "100",
            ["Tally:Export:Directory"] = ExportDirectory,
            // The S3 server deploy/local/test starts on loopback (s3rver): tenants' S3 sinks name this credential set.
            [$"Tally:Export:Credentials:{S3CredentialsName}:ServiceUrl"] = S3.ServiceUrl,
            [$"Tally:Export:Credentials:{S3CredentialsName}:AccessKey"] = S3.AccessKey,
            [$"Tally:Export:Credentials:{S3CredentialsName}:SecretKey"] = S3.SecretKey,
            [$"Tally:Export:Credentials:{S3CredentialsName}:Tenants:0"] = "*",
            // A set open to one other tenant only: the tests' tenants may not use it.
            ["Tally:Export:Credentials:reserved:ServiceUrl"] = S3.ServiceUrl,
            ["Tally:Export:Credentials:reserved:AccessKey"] = S3.AccessKey,
            ["Tally:Export:Credentials:reserved:SecretKey"] = S3.SecretKey,
            ["Tally:Export:Credentials:reserved:Tenants:0"] = "someone-else",
        };
        _settings = settings;

        _silo = await StartSiloAsync(settings);

        (_api, Http) = await StartApiAsync(settings);
        (_api2, Http2) = await StartApiAsync(settings);
    }

    private async Task<WebApplication> StartSiloAsync(Dictionary<string, string?> settings)
    {
        var siloBuilder = WebApplication.CreateBuilder();
        siloBuilder.Configuration.AddInMemoryCollection(settings);
        siloBuilder.WebHost.UseUrls($"http://127.0.0.1:{FreePort()}");
        siloBuilder.Services.AddSingleton(new TallyClock(Clock)).UseTestMeters();
        siloBuilder.AddTallySilo();
        var silo = siloBuilder.Build();
        silo.MapTallySiloEndpoints();
        await silo.StartAsync();
        return silo;
    }

    /// <summary>Stops the silo gracefully and starts it again (same ports and database); the API instances reconnect.</summary>
    public async Task RestartSiloAsync()
    {
        await _silo!.StopAsync();
        await _silo.DisposeAsync();
        _silo = await StartSiloAsync(_settings);
        await Eventually.WaitFor(() => Http.GetAsync("/health/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(60), "API ready after the silo restart");
    }

    private async Task<(WebApplication, HttpClient)> StartApiAsync(Dictionary<string, string?> settings, Action<WebApplication>? map = null)
    {
        var apiPort = FreePort();
        var apiBuilder = WebApplication.CreateBuilder();
        apiBuilder.Configuration.AddInMemoryCollection(settings);
        apiBuilder.WebHost.UseUrls($"http://127.0.0.1:{apiPort}");
        apiBuilder.Services.AddSingleton(new TallyClock(Clock)).UseTestMeters();
        apiBuilder.AddTallyApi();
        var api = apiBuilder.Build();
        api.MapTallyApi();
        map?.Invoke(api);
        await api.StartAsync();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
        await Eventually.WaitFor(() => http.GetAsync("/health/live"), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(60), "API live");
        await Eventually.WaitFor(() => http.GetAsync("/health/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(60), "API ready");
        return (api, http);
    }

    /// <summary>
    /// Another API instance in the same cluster with some settings changed and, optionally, extra endpoints
    /// mapped; stopped with the fixture. For tests of a setting or a fault that must not touch the shared ones.
    /// </summary>
    public async Task<HttpClient> StartExtraApiAsync(Dictionary<string, string?> overrides, Action<WebApplication>? map = null)
    {
        var settings = new Dictionary<string, string?>(_settings);
        foreach (var (key, value) in overrides) settings[key] = value;
        var (api, http) = await StartApiAsync(settings, map);
        lock (_extraApis) _extraApis.Add(api);
        return http;
    }

    /// <summary>The API served by the fixture's silo in its own process (Tally:Silo:ApiUrls, decision 024), with the fixture's
    /// settings and clock; stopped with the fixture.</summary>
    public async Task<HttpClient> StartSiloHostedApiAsync()
    {
        var port = FreePort();
        var api = await SiloHostedApi.StartAsync(_silo!, $"http://127.0.0.1:{port}", [], builder =>
        {
            builder.Configuration.AddInMemoryCollection(_settings);
            // Its own meter factory, as in production: the silo's meter provider reports this host's meters too.
            builder.Services.AddSingleton(new TallyClock(Clock));
        });
        lock (_extraApis) _extraApis.Add(api);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await Eventually.WaitFor(() => http.GetAsync("/health/ready"), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(60), "silo-hosted API ready");
        return http;
    }

    /// <summary>The test PostgreSQL's connection string with another host and port (e.g. a <see cref="TcpFaultProxy"/>).</summary>
    public string DatabaseVia(int port) => new Npgsql.NpgsqlConnectionStringBuilder(Db.ConnectionString) { Host = "127.0.0.1", Port = port, Timeout = 3, CommandTimeout = 5 }.ConnectionString;

    /// <summary>A new tenant with the given config and its own keys.</summary>
    public async Task<TestTenant> CreateTenantAsync(JsonObject config)
    {
        var id = "t" + Guid.NewGuid().ToString("N")[..12];
        var put = await Send(HttpMethod.Put, $"/v1/tenants/{id}", AdminKey, config);
        if (!put.IsSuccessStatusCode) throw new InvalidOperationException($"PUT tenant: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        return new TestTenant(id, await Key(id, "ingest"), await Key(id, "read"), await Key(id, "admin"));
    }

    /// <summary>A new tenant with its own keys, so tests never see each other's data.</summary>
    public async Task<TestTenant> CreateTenantAsync(string timeZone = "Europe/Berlin", string? id = null)
    {
        id ??= "t" + Guid.NewGuid().ToString("N")[..12];
        var config = new JsonObject
        {
            ["time_zone"] = timeZone,
            ["measures"] = new JsonObject { ["co2_saved_kg"] = new JsonObject { ["min"] = 0, ["max"] = 100000 }, ["sales"] = new JsonObject() },
            ["dimensions"] = new JsonArray("country", "org"),
            ["leaderboards"] = new JsonObject
            {
                ["measures"] = new JsonArray("co2_saved_kg"),
                ["scopes"] = new JsonArray("global", "country"),
                ["periods"] = new JsonArray("all_time", "year", "month", "week"),
            },
            ["rollups"] = new JsonObject
            {
                ["scopes"] = new JsonArray("global", "country"),
                ["periods"] = new JsonArray("all_time", "year", "month"),
            },
            ["board_shards"] = 2,
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

    /// <summary>A request to the first API instance, or to <paramref name="via"/>.</summary>
    public Task<HttpResponseMessage> Send(HttpMethod method, string path, string? key, JsonNode? body = null, HttpClient? via = null) =>
        SendRaw(method, path, key, body?.ToJsonString(), via);

    public Task<HttpResponseMessage> SendRaw(HttpMethod method, string path, string? key, string? body, HttpClient? via = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        return (via ?? Http).SendAsync(request);
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        Http2?.Dispose();
        foreach (var extra in _extraApis) { await extra.StopAsync(); await extra.DisposeAsync(); }
        if (_api2 is not null) { await _api2.StopAsync(); await _api2.DisposeAsync(); }
        if (_api is not null) { await _api.StopAsync(); await _api.DisposeAsync(); }
        if (_silo is not null) { await _silo.StopAsync(); await _silo.DisposeAsync(); }
        await Db.DisposeAsync();
        if (Directory.Exists(ExportDirectory)) Directory.Delete(ExportDirectory, recursive: true);
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
