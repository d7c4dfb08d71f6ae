using Orleans.Runtime;
using Tally.Postgres;

namespace Tally.Api.Endpoints;

/// <summary>Liveness (the process answers) and readiness (PostgreSQL and the cluster answer), each check named.</summary>
internal static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Operations");
        group.MapGet("/live", () => Results.Json(new { status = "live" })).WithName("Live");
        group.MapGet("/ready", Ready).WithName("Ready").WithSummary("200 when PostgreSQL and the cluster answer; 503 naming what does not.");
        return app;
    }

    private static async Task<IResult> Ready(PostgresHealth postgres, IClusterClient cluster, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var pg = await postgres.ProbeAsync(timeout.Token);
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
        var body = new
        {
            status = ready ? "ready" : "not_ready",
            checks = new
            {
                postgres = new
                {
                    status = pg.Ok ? "up" : "down",
                    latency_ms = Math.Round(pg.LatencyMs, 2),
                    pool = new { idle = pg.IdleConnections, busy = pg.UsedConnections, max = pg.MaxPoolSize },
                    error = pg.Error,
                },
                cluster = clusterCheck,
            },
        };
        return Results.Json(body, statusCode: ready ? 200 : 503);
    }
}
