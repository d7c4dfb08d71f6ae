using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tally.Contracts;
using Tally.Grains.Boards;
using Tally.Grains.Webhooks;
using Tally.Postgres.Boards;
using Tally.Postgres.Checkpoints;
using Tally.Postgres.EventLog;
using Tally.Postgres.Goals;
using Tally.Postgres.Hosting;
using Tally.Postgres.Snapshots;
using Tally.Postgres.UserState;
using Tally.Redis.Hosting;

namespace Tally.Grains.Hosting;

public static class TallySiloBuilderExtensions
{
    /// <summary>
    /// Everything a Tally silo needs besides clustering: PostgreSQL access, the event-log writer,
    /// user-state writer, board publisher, board versions in Redis (when configured) and the
    /// cluster-wide maintenance runner.
    /// </summary>
    public static ISiloBuilder AddTally(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddTallyPostgres(configuration);
        services.AddTallyEventLog(configuration);
        // Log commits hold this silo's membership row (ADO.NET clustering on the same database is required).
        services.AddSingleton<IWriteFence, SiloWriteFence>();
        silo.AddPlacementDirector<ShardSpreadPlacement, ShardSpreadPlacementDirector>();
        services.AddOptions<UserGrainOptions>().Bind(configuration.GetSection(UserGrainOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UserGrainOptions>, UserGrainOptionsValidator>();
        services.AddOptions<IngestOptions>().Bind(configuration.GetSection(IngestOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IngestOptions>, IngestOptionsValidator>();
        services.AddOptions<BoardOptions>().Bind(configuration.GetSection(BoardOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BoardOptions>, BoardOptionsValidator>();
        services.AddOptions<GrainCollectionOptions>().Configure<IOptions<BoardOptions>, IOptions<UserGrainOptions>>((o, boards, users) =>
        {
            o.ActivationTimeout = TimeSpan.FromSeconds(boards.Value.ActivationTimeoutSeconds);
            o.ClassSpecificCollectionAge[typeof(UserGrain).FullName!] = TimeSpan.FromMinutes(users.Value.IdleMinutes);
            o.CollectionQuantum = UserGrainOptions.CollectionQuantum(users.Value.IdleMinutes);
            o.EnableActivationSheddingOnMemoryPressure = users.Value.MemoryLimitPercent > 0;
            if (users.Value.MemoryLimitPercent > 0)
            {
                o.MemoryUsageLimitPercentage = users.Value.MemoryLimitPercent;
                o.MemoryUsageTargetPercentage = users.Value.MemoryLimitPercent - 5;
            }
        });

        services.AddSingleton<UserStateWriter>();
        services.AddSingleton<UserErasureStore>();
        services.AddSingleton<TierHistoryWriter>();
        services.AddSingleton<GoalCompletionWriter>();
        services.AddSingleton<GoalStore>();
        services.AddSingleton<Tally.Postgres.Changes.ChangeStore>();
        services.AddTallyWebhooks(configuration);
        services.AddWebhookHttp();
        services.AddSingleton<RecoveryStore>();
        services.AddSingleton<ShardPlacementStore>();
        services.AddSingleton<SnapshotWriter>();
        services.AddSingleton<SnapshotReader>();
        services.AddSingleton<DailyStatsRefresh>();
        services.AddSingleton<ChangeScan>();
        services.AddSingleton<Tally.Postgres.Jobs.JobLedger>();
        services.AddSingleton<BoardPublisher>();
        services.AddMetrics();
        services.AddSingleton<BoardMetrics>();
        services.AddSingleton<ShardRebuildGate>();
        services.AddSingleton<JobMetrics>();
        services.AddSingleton<ExportMetrics>();
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<Webhooks.WebhookMetrics>();
        services.AddSingleton<RankBatcher>();
        services.AddTallyRedis(configuration);
        services.AddSingleton<BoardVersionPublisher>();
        // Migrations run first in the silo's lifecycle (before it joins the cluster); the writers start
        // before grains can be called and stop only after every grain has deactivated and saved.
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, TallySiloLifecycle>();

        silo.AddIncomingGrainCallFilter<DependencyFailureFilter>();

        silo.AddStartupTask(async (sp, ct) =>
        {
            if (!sp.GetRequiredService<IOptions<BoardOptions>>().Value.RunMaintenance) return;
            await sp.GetRequiredService<IGrainFactory>().GetGrain<IMaintenanceGrain>(0).Start();
        });
        return silo;
    }
}
