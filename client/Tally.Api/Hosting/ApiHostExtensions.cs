using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tally.Api.Auth;
using Tally.Api.Endpoints;
using Tally.Api.Http;
using Tally.Postgres.Hosting;
using Tally.Postgres.Observability;
using Tally.Postgres.Snapshots;
using Tally.Redis.Hosting;

namespace Tally.Api.Hosting;

public static class ApiHostExtensions
{
    /// <summary>The API's services: options, PostgreSQL (tenants and keys), Redis (cache, limits), the Orleans client, OpenAPI.</summary>
    public static WebApplicationBuilder AddTallyApi(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        builder.Services.AddOptions<ApiOptions>().Bind(config.GetSection(ApiOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        var api = config.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        builder.Services.Configure<KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = api.MaxBodyBytes);

        builder.Services.AddTallyPostgres(config);
        builder.Services.AddTallyRedis(config);
        builder.Services.AddSingleton<ApiKeyAuthenticator>();
        builder.Services.AddSingleton<SingleFlight>();
        builder.Services.AddSingleton<MetricsCollector>();
        builder.Services.AddSingleton<SiloMetricsStore>();
        builder.Services.AddSingleton<SnapshotStore>();
        builder.Services.AddOpenApi();

        var connectionString = PostgresOptions.ConnectionStringFrom(config);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = api.ClusterId;
                o.ServiceId = api.ServiceId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresOptions.AdoNetInvariant;
                o.ConnectionString = connectionString;
            });
            client.UseConnectionRetryFilter<RetryUntilStopped>();
        });
        return builder;
    }

    public static WebApplication MapTallyApi(this WebApplication app)
    {
        // Listen from the start, so /metrics counts what happened before its first scrape.
        app.Services.GetRequiredService<MetricsCollector>();
        app.MapOpenApi();
        app.MapHealthApi();
        app.MapTenantsApi();
        app.MapEventsApi();
        app.MapUsersApi();
        app.MapBoardsApi();
        app.MapRollupsApi();
        app.MapMetricsApi();
        return app;
    }

    /// <summary>The API may start before any silo: keep trying to connect, with a pause, until shut down.</summary>
    private sealed class RetryUntilStopped(ILogger<RetryUntilStopped> logger) : IClientConnectionRetryFilter
    {
        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken ct)
        {
            logger.LogWarning("No silo reachable yet ({Message}); retrying in 1 s.", exception.Message);
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            return !ct.IsCancellationRequested;
        }
    }
}
