using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Tally.Silo.Hosting;

/// <summary>
/// Reads Orleans' instruments for the dashboard every <see cref="SiloOptions.DashboardCounterIntervalSeconds"/> instead of
/// every second (decision 025).
/// <para>
/// Orleans.Dashboard 10.4.2 starts a meter provider of its own (<c>DashboardHost</c>) whose reader collects every second,
/// whatever <c>CounterUpdateIntervalMs</c> says. Each collection calls every observable Orleans instrument, and two of
/// them walk all activations (<c>orleans-messaging-processing-activation-data</c>) and the directory cache: with the
/// 60,000 user grains of three ingest runs, 17% of the silo's CPU during ingest went to them. Started after the dashboard,
/// this disposes the dashboard's provider and starts one at the configured interval that feeds the same exporter, so the
/// dashboard's charts still fill, less often.
/// </para>
/// </summary>
internal sealed class DashboardMetricsReader(IServiceProvider services, int intervalSeconds, ILogger<DashboardMetricsReader> logger)
    : IHostedService, IDisposable
{
    private const string DashboardHostType = "Orleans.Dashboard.DashboardHost";
    private const string ExporterType = "Orleans.Dashboard.Implementation.DashboardTelemetryExporter";

    private MeterProvider? _provider;

    /// <summary>Whether the dashboard's one-second reader was replaced; false if this Orleans.Dashboard is built differently.</summary>
    public bool Replaced => _provider is not null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var host = services.GetServices<IHostedService>().FirstOrDefault(s => s.GetType().FullName == DashboardHostType);
        var exporterType = host?.GetType().Assembly.GetType(ExporterType);
        if (host is not IDisposable dashboardHost || exporterType is null || services.GetService(exporterType) is not BaseExporter<Metric> exporter)
        {
            logger.LogWarning("The Orleans dashboard's metric reader was not found; it keeps its own interval (one second in Orleans.Dashboard 10.4.2).");
            return Task.CompletedTask;
        }
        // Disposes only the dashboard host's meter provider (its grains and endpoints stay); the exporter holds no state
        // that disposal ends, and takes the new reader's batches.
        dashboardHost.Dispose();
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter("Orleans")
            .AddReader(new PeriodicExportingMetricReader(exporter, intervalSeconds * 1000, 1000))
            .Build();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _provider?.Dispose();
}
