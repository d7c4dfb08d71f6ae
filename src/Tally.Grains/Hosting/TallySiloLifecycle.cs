using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tally.Grains.Boards;
using Tally.Postgres.Checkpoints;
using Tally.Postgres.EventLog;
using Tally.Postgres.Goals;
using Tally.Postgres.Hosting;
using Tally.Postgres.UserState;

namespace Tally.Grains.Hosting;

/// <summary>
/// Ties Tally's background workers to the silo's lifecycle rather than the host's, because the order
/// matters both ways. Start: migrations before the silo joins the cluster; the log reader and writers
/// before any grain can be called. Stop (graceful shutdown): the silo stops taking calls and deactivates
/// every grain (each saves its state and publishes) at <see cref="ServiceLifecycleStage.GrainDeactivation"/>;
/// only then do the publishers flush and the writers drain and stop. As hosted services the writers
/// stopped first, so every grain's final save failed.
/// </summary>
internal sealed class TallySiloLifecycle(IServiceProvider services, ILogger<TallySiloLifecycle> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe("tally-migrations", ServiceLifecycleStage.RuntimeInitialize - 1,
            ct => services.GetRequiredService<StartupMigrations>().StartAsync(ct), _ => Task.CompletedTask);
        lifecycle.Subscribe("tally-workers", ServiceLifecycleStage.RuntimeGrainServices, StartAsync, StopAsync);
    }

    // Started in this order, stopped in the reverse: publishers flush before the writers they may use stop.
    private IEnumerable<BackgroundService> Workers() =>
    [
        services.GetRequiredService<EventLogReader>(),
        services.GetRequiredService<EventLogWriter>(),
        services.GetRequiredService<UserStateWriter>(),
        services.GetRequiredService<TierHistoryWriter>(),
        services.GetRequiredService<GoalCompletionWriter>(),
        services.GetRequiredService<BoardVersionPublisher>(),
        services.GetRequiredService<BoardPublisher>(),
    ];

    private async Task StartAsync(CancellationToken ct)
    {
        foreach (var worker in Workers()) await worker.StartAsync(ct);
    }

    private async Task StopAsync(CancellationToken ct)
    {
        foreach (var worker in Workers().Reverse())
        {
            try
            {
                await worker.StopAsync(ct);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "{Worker} did not stop cleanly.", worker.GetType().Name);
            }
        }
    }
}
