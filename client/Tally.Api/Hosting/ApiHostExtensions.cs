using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Scalar.AspNetCore;
using Tally.Api.Auth;
using Tally.Api.Console;
using Tally.Api.Endpoints;
using Tally.Api.Http;
using Tally.Api.Usage;
using Tally.Observability;
using Tally.Postgres.Hosting;
using Tally.Postgres.Snapshots;
using Tally.Postgres.Usage;
using Tally.Redis.Hosting;

namespace Tally.Api.Hosting;

public static class ApiHostExtensions
{
    /// <summary>The API's services: options, PostgreSQL (tenants and keys), Redis (cache, limits), the Orleans client,
    /// authentication and authorization, rate limits, error mapping, OpenAPI. With <paramref name="silo"/> (the services of
    /// a silo in this process) grain calls go to its client and stay in the process, no gateway connection is made, and
    /// the silo's meter provider serves <c>/metrics</c> (decision 024).</summary>
    public static WebApplicationBuilder AddTallyApi(this WebApplicationBuilder builder, IServiceProvider? silo = null)
    {
        var config = builder.Configuration;
        var services = builder.Services;
        builder.AddTallyObservability("tally-api", silo?.GetRequiredService<OpenTelemetry.Metrics.MeterProvider>());
        services.AddOptions<ApiOptions>().Bind(config.GetSection(ApiOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        var api = config.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        services.Configure<KestrelServerOptions>(k =>
        {
            k.Limits.MaxRequestBodySize = api.MaxBodyBytes;
            // Kestrel answers past its own limits with a bare status; with room above ours, the request
            // gate answers 414 and 431 with the contract's error body.
            k.Limits.MaxRequestLineSize = 2 * 64 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 2 * 64 * 1024;
        });

        services.AddTallyPostgres(config).AddTallyStartupMigrations();
        services.AddTallyRedis(config);
        services.AddMetrics();
        services.AddSingleton<ApiMetrics>();
        services.AddSingleton<ApiKeyResolver>();
        services.AddSingleton<IngestAdmission>();
        services.AddSingleton<UsageStore>();
        services.AddSingleton<UsageMeter>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageMeter>());
        // Pages this instance rendered lately: HybridCache's local tier only (the shared tier is PageCache).
        RecentPages.Add(services);
        services.AddSingleton<Tally.Postgres.Goals.GoalStore>();
        services.AddSingleton<Tally.Postgres.Changes.ChangeStore>();
        services.AddTallyWebhooks(config);
        services.AddSingleton<Tally.Postgres.Changes.ChangeNotifications>();
        services.AddHostedService(sp => sp.GetRequiredService<Tally.Postgres.Changes.ChangeNotifications>());

        // One JSON shape everywhere (snake_case, plain UTF-8); binding failures reach the error mapping.
        services.ConfigureHttpJsonOptions(o => ApiJson.Configure(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<ErrorMapping>();
        services.AddProblemDetails();

        services.AddAuthentication(TallyClaims.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(TallyClaims.Scheme, null);
        services.AddAuthorization(TallyPolicies.Add);
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<Tally.Redis.RateLimiter>((o, shared) =>
        {
            o.GlobalLimiter = SharedTenantRateLimiter.Create(shared);
            o.OnRejected = (context, ct) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : 1;
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, retryAfter).ToString(CultureInfo.InvariantCulture);
                return new ValueTask(ApiError.WriteAsync(context.HttpContext, 429, "rate_limited",
                    $"Tenant '{context.HttpContext.User.TenantOf()}' is over its request rate; retry after {retryAfter} s."));
            };
        });

        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer<BearerSecurityTransformer>();
            o.AddSchemaTransformer<ExactNumberSchemaTransformer>();
            o.AddOperationTransformer<ExampleOperationTransformer>();
        });

        if (silo is not null)
        {
            var client = silo.GetRequiredService<IClusterClient>();
            services.AddSingleton(client);
            services.AddSingleton<IGrainFactory>(client);
            return builder;
        }
        var connectionString = PostgresOptions.ConnectionStringFrom(config);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = api.ClusterId;
                o.ServiceId = api.ServiceId;
            });
            // Shorter than any HTTP client's patience and just above the requests' own deadlines (ApiOptions), so a call
            // abandoned by its request expires in the silo's queues soon after.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(api.GrainCallTimeoutSeconds));
            // A silo declared dead stops getting this instance's calls within this period (Orleans' default is a minute).
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(api.GatewayRefreshSeconds));
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresOptions.AdoNetInvariant;
                o.ConnectionString = connectionString;
            });
            client.UseConnectionRetryFilter<RetryUntilStopped>();
        });
        return builder;
    }

    /// <summary>The pipeline (errors, authentication, rate limits, authorization) and every endpoint.</summary>
    public static WebApplication MapTallyApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(ErrorMapping.WriteStatusBody);
        app.UseRequestGate(app.Services.GetRequiredService<IOptions<ApiOptions>>().Value);
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();

        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs", o => o.WithTitle("Tally API").WithOpenApiRoutePattern("/openapi/{documentName}.json")).AllowAnonymous();
        app.MapHealthApi();
        app.MapConsole();
        app.MapTenantsApi();
        app.MapEventsApi();
        app.MapCollectApi();
        app.MapExportsApi();
        app.MapUsersApi();
        app.MapBoardsApi();
        app.MapRollupsApi();
        app.MapRatiosApi();
        app.MapGoalsApi();
        app.MapChangesApi();
        app.MapWebhooksApi();
        app.MapUsageApi();
        app.MapTallyMetrics().WithTags("Operations").WithName("Metrics").WithSummary("Prometheus text exposition (OpenTelemetry).").AllowAnonymous();
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
