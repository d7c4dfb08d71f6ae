using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Tally.Observability;

/// <summary>
/// Metrics and logs the standard way, the same in silos and API instances: OpenTelemetry over the
/// process's own meters (Tally's, Orleans', Npgsql's connection pool, ASP.NET Core, the runtime), scraped
/// by Prometheus at <c>/metrics</c> of each process (counters end in <c>_total</c>, histograms have buckets);
/// console logs as JSON when <c>Tally:Logging:Json</c> is true, else as text lines; both start with the UTC instant.
/// </summary>
public static class TallyObservability
{
    /// <summary>Meters every Tally process exports.</summary>
    internal static readonly string[] Meters = ["Tally.*", "Microsoft.Orleans", "Npgsql"];

    // Milliseconds from a fraction of a millisecond (a cached commit) to a minute (a shard rebuild).
    private static readonly double[] MillisecondBuckets = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000];

    // Rows per batch, up to the largest group commit.
    private static readonly double[] RowBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];

    /// <param name="processMetrics">The meter provider of another host in this process (a silo serving the API): it serves
    /// this host's <c>/metrics</c> too, since meters are per process and a second provider would record every
    /// measurement twice.</param>
    public static IHostApplicationBuilder AddTallyObservability(this IHostApplicationBuilder builder, string serviceName, MeterProvider? processMetrics = null)
    {
        if (builder.Configuration.GetValue<bool>("Tally:Logging:Json"))
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        }
        else
            // Plain text lines carry their instant too: what a fault did is read by lining logs up with each other.
            builder.Logging.AddSimpleConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        if (processMetrics is not null)
        {
            builder.Services.AddSingleton(processMetrics);
            return builder;
        }
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(metrics => metrics
                .AddMeter(Meters)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddView(instrument => instrument.Meter.Name.StartsWith("Tally.", StringComparison.Ordinal) && IsHistogram(instrument)
                    ? new ExplicitBucketHistogramConfiguration { Boundaries = instrument.Unit == "ms" ? MillisecondBuckets : RowBuckets }
                    : null)
                .AddPrometheusExporter());
        return builder;
    }

    /// <summary>Prometheus text at <c>GET /metrics</c>, anonymous (scrapers carry no key; put it behind the network policy).</summary>
    /// <summary><c>GET /metrics</c> (and HEAD); any other method is 405. The exporter maps its path for every method,
    /// so the method metadata is added here for routing to answer the rest.</summary>
    public static IEndpointConventionBuilder MapTallyMetrics(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new HttpMethodMetadata(["GET", "HEAD"]));

    private static bool IsHistogram(System.Diagnostics.Metrics.Instrument instrument) =>
        instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal);
}
