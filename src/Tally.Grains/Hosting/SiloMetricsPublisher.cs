using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Tally.Postgres.Observability;

namespace Tally.Grains.Hosting;

/// <summary>Every few seconds, writes this silo's figures to <c>silo_metrics</c> for the API's <c>/metrics</c>.</summary>
internal sealed class SiloMetricsPublisher(MetricsCollector collector, SiloMetricsStore store, ILocalSiloDetails silo, ILogger<SiloMetricsPublisher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await store.PublishAsync(silo.SiloAddress.ToParsableString(), collector.Snapshot(), stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogDebug(ex, "Publishing silo metrics failed; next try in {Interval}.", Interval);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}
