using System.Globalization;
using System.Text;
using Tally.Postgres.Observability;
using Tally.Postgres.Snapshots;

namespace Tally.Api.Endpoints;

/// <summary>
/// <c>GET /metrics</c> in Prometheus text: this API instance's figures (ingest, cache, rate limits,
/// Redis failures), every live silo's figures (commit batches and latency, stream lag, drift) labelled
/// by silo, and the age of each snapshot job by the database clock.
/// </summary>
internal static class MetricsApi
{
    private static readonly TimeSpan SiloFreshness = TimeSpan.FromMinutes(1);

    // This instance's series, printed as zero until their first event.
    private static readonly string[] LocalSeries =
    [
        "tally_ingest_events_accepted", "tally_ingest_events_duplicate", "tally_ingest_events_rejected",
        "tally_page_cache_hits", "tally_page_cache_misses", "tally_rate_limited", "tally_redis_failures",
    ];

    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", Get).WithTags("Operations").WithName("Metrics").WithSummary("Prometheus text exposition.").AllowAnonymous();
        return app;
    }

    private static async Task<IResult> Get(MetricsCollector collector, SiloMetricsStore silos, SnapshotStore snapshots, ILogger<MetricsCollector> logger, CancellationToken ct)
    {
        var lines = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string name, string labels, double value) =>
            (lines.TryGetValue(name, out var list) ? list : lines[name] = new()).Add($"{name}{labels} {value.ToString("R", CultureInfo.InvariantCulture)}");

        var local = collector.Snapshot();
        foreach (var name in LocalSeries) local.TryAdd(name, 0);
        foreach (var (name, value) in local) Add(name, "", value);
        var hits = local.GetValueOrDefault("tally_page_cache_hits");
        var misses = local.GetValueOrDefault("tally_page_cache_misses");
        Add("tally_page_cache_hit_ratio", "", hits + misses == 0 ? 0 : hits / (hits + misses));

        try
        {
            foreach (var (silo, figures) in await silos.ReadRecentAsync(SiloFreshness, ct))
                foreach (var (name, value) in figures)
                    Add(name, $"{{silo=\"{silo}\"}}", value);
            foreach (var (job, age, rows) in await snapshots.ReadJobAgesAsync(ct))
            {
                Add("tally_snapshot_age_seconds", $"{{job=\"{job}\"}}", age);
                Add("tally_snapshot_rows", $"{{job=\"{job}\"}}", rows);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Cluster figures for /metrics could not be read from PostgreSQL.");
            Add("tally_metrics_cluster_figures_up", "", 0);
        }

        var text = new StringBuilder();
        foreach (var (name, samples) in lines)
        {
            text.Append("# TYPE ").Append(name).Append(" gauge\n");
            foreach (var sample in samples) text.Append(sample).Append('\n');
        }
        return Results.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
    }
}
