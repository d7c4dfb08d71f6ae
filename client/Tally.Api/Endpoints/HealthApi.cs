using Orleans.Runtime;
using Tally.Postgres;
using Tally.Redis;

namespace Tally.Api.Endpoints;

/// <summary>
/// Liveness (the process answers) and readiness, each check named. PostgreSQL and the cluster are
/// required; Redis is not: without it the API serves uncached and unthrottled, so readiness stays
/// 200 and names Redis as degraded.
/// </summary>
internal static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Operations").AllowAnonymous();
        group.MapGet("/live", () => Results.Json(new { status = "live" })).WithName("Live")
             .Produces<System.Text.Json.Nodes.JsonObject>(200).WithSummary("200 {\"status\": \"live\"} while the process answers");
        group.MapGet("/ready", Ready).WithName("Ready")
             .Produces<System.Text.Json.Nodes.JsonObject>(200).Produces<System.Text.Json.Nodes.JsonObject>(503)
             .WithDescription("{\"status\": \"ready\"|\"degraded\"|\"not_ready\", \"checks\": {\"postgres\", \"postgres_read\", \"cluster\", \"redis\"}}: each check's status, latency and pool.")
             .WithSummary("200 when PostgreSQL and the cluster answer (Redis or the read replica down: 200, degraded); 503 naming what does not.");
        return app;
    }

    private static async Task<IResult> Ready(PostgresHealth postgres, IClusterClient cluster, RedisConnection redis, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var pg = await postgres.ProbeAsync(timeout.Token);
        var replica = await postgres.ProbeReplicaAsync(timeout.Token);
        object clusterCheck;
        var clusterOk = false;
        try
        {
            var hosts = await cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(timeout.Token);
            clusterOk = hosts.Count > 0;
            clusterCheck = new { status = clusterOk ? "up" : "down", active_silos = hosts.Count };
        }
        catch (Exception ex)
        {
            clusterCheck = new { status = "down", error = ex.Message };
        }
        var ready = pg.Ok && clusterOk;
        var cache = await redis.PingAsync().WaitAsync(TimeSpan.FromSeconds(2), ct).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : (false, null, "timed out"));
        var body = new
        {
            status = !ready ? "not_ready" : cache.Ok && replica is not { Ok: false } ? "ready" : "degraded",
            checks = new
            {
                postgres = new
                {
                    status = pg.Ok ? "up" : "down",
                    latency_ms = Math.Round(pg.LatencyMs, 2),
                    pool = Pool(pg),
                    error = pg.Error,
                },
                // The read pool: a streaming replica (Tally:Postgres:ReadConnectionString), or the primary's pool when none.
                postgres_read = replica is null
                    ? new { status = pg.Ok ? "up" : "down", source = "primary", latency_ms = Math.Round(pg.LatencyMs, 2), pool = Pool(pg), error = (string?)null }
                    : new
                    {
                        status = replica.Ok ? "up" : "down",
                        source = replica.Ok && replica.Serving ? "replica" : "primary (replica down)",
                        latency_ms = Math.Round(replica.LatencyMs, 2),
                        pool = Pool(replica),
                        error = replica.Error,
                    },
                cluster = clusterCheck,
                redis = new
                {
                    status = cache.Ok ? "up" : "degraded",
                    latency_ms = cache.LatencyMs is { } ms ? Math.Round(ms, 2) : (double?)null,
                    error = cache.Error,
                    effect = cache.Ok ? null : "serving without page cache and shared rate limits",
                },
            },
        };
        return Results.Json(body, statusCode: ready ? 200 : 503);
    }

    private static object Pool(PostgresProbe p) =>
        new { size = p.IdleConnections + p.UsedConnections, idle = p.IdleConnections, busy = p.UsedConnections, waiting = p.WaitingRequests, max = p.MaxPoolSize };
}
