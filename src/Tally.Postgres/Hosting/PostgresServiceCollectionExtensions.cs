using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Tally.Postgres.EventLog;
using Tally.Postgres.Tenants;

namespace Tally.Postgres.Hosting;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>PostgreSQL access shared by silo and API: data source, migrations, tenants, health.</summary>
    public static IServiceCollection AddTallyPostgres(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PostgresOptions>().Bind(configuration.GetSection(PostgresOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PostgresOptions>, PostgresOptionsValidator>();
        services.AddSingleton(sp =>
        {
            var connectionString = sp.GetRequiredService<IOptions<PostgresOptions>>().Value.ConnectionString;
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            // The pool's name on /metrics (db_client_connection_* series), instead of the connection string.
            builder.Name = ReadDataSource.PrimaryPoolName;
            // Our sessions leave no state behind except the event-log writer's temp stage table, which
            // should outlive pool returns: resetting (DISCARD ALL) would drop it and every prepared statement.
            builder.ConnectionStringBuilder.NoResetOnClose = true;
            // No JIT: our statements are short, and a job's plan over the partitioned log can cost enough to be
            // JIT-compiled (inlined, optimised), which took 1.8 s for a run that executes in 10 ms (decision 018).
            // A connection string that sets jit itself wins.
            var options = builder.ConnectionStringBuilder.Options ?? "";
            if (!options.Contains("jit", StringComparison.OrdinalIgnoreCase))
                builder.ConnectionStringBuilder.Options = (options + " -c jit=off").Trim();
            // Statements run often are prepared on each connection after a few uses, so PostgreSQL parses and plans them
            // once per connection, not per commit (decision 025). A connection string that sets it wins.
            if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
            {
                builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
                builder.ConnectionStringBuilder.AutoPrepareMinUsages = 3;
            }
            // The pool never shrinks: a connection opened under load stays open until the process ends. A new backend
            // starts cold (catalog caches for the partitioned log, prepared statements, the writer's stage table); a pool
            // pruned 5 minutes after a burst stalled ingest for most of a second when load came back, and one pruned after
            // 30 minutes stalled ingest and reads for 2 s (decision 032). A connection string that sets either wins.
            if (!SetsAny(connectionString, "ConnectionIdleLifetime", "MinimumPoolSize", "MinPoolSize"))
                builder.ConnectionStringBuilder.MinPoolSize = builder.ConnectionStringBuilder.MaxPoolSize;
            return builder.Build();
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PostgresOptions>>().Value;
            NpgsqlDataSource? replica = null;
            if (!string.IsNullOrWhiteSpace(options.ReadConnectionString))
            {
                var builder = new NpgsqlDataSourceBuilder(options.ReadConnectionString) { Name = ReadDataSource.ReplicaPoolName };
                builder.ConnectionStringBuilder.ApplicationName ??= "tally-read";
                var settings = builder.ConnectionStringBuilder.Options ?? "";
                if (!settings.Contains("jit", StringComparison.OrdinalIgnoreCase))
                    builder.ConnectionStringBuilder.Options = (settings + " -c jit=off").Trim();
                replica = builder.Build();
            }
            return new ReadDataSource(sp.GetRequiredService<NpgsqlDataSource>(), replica, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ReadDataSource>>());
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(Tally.Domain.Time.TallyClock.System);
        services.AddSingleton<TenantConfigCache>();
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<PartitionMaintainer>();
        services.AddSingleton<TenantStore>();
        services.AddSingleton<TenantRemovalStore>();
        services.AddSingleton<Compat.ActionIds>();
        services.AddSingleton<Lifecycle.RetentionRunner>();
        services.AddSingleton<Lifecycle.ContinuousExport>();
        services.AddOptions<Lifecycle.ExportOptions>().Bind(configuration.GetSection(Lifecycle.ExportOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<Lifecycle.ExportOptions>, Lifecycle.ExportOptionsValidator>();
        services.AddSingleton<PostgresHealth>();
        services.AddSingleton<StartupMigrations>();
        return services;
    }

    private static bool SetsAny(string? connectionString, params string[] keys)
    {
        var compact = (connectionString ?? "").Replace(" ", "", StringComparison.Ordinal);
        return keys.Any(key => compact.Contains(key + "=", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Webhooks' options (validated at start-up) and store: the API registers them, the silo delivers.</summary>
    public static IServiceCollection AddTallyWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Webhooks.WebhookOptions>().Bind(configuration.GetSection(Webhooks.WebhookOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<Webhooks.WebhookOptions>, Webhooks.WebhookOptionsValidator>();
        services.AddSingleton<Webhooks.WebhookStore>();
        return services;
    }

    /// <summary>For hosts without a silo lifecycle (the API): migrations and partitions before anything else starts.</summary>
    public static IServiceCollection AddTallyStartupMigrations(this IServiceCollection services)
    {
        services.AddHostedService(sp => sp.GetRequiredService<StartupMigrations>());
        return services;
    }

    /// <summary>The silo's event-log writer (group commit) and reader (replay). The silo starts and stops them
    /// in its lifecycle (after grains deactivate), not as hosted services.</summary>
    public static IServiceCollection AddTallyEventLog(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EventLogOptions>().Bind(configuration.GetSection(EventLogOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EventLogOptions>, EventLogOptionsValidator>();
        services.AddSingleton<EventLogWriter>();
        services.AddSingleton<EventLogReader>();
        return services;
    }
}

/// <summary>Runs migrations, then creates the event-log partitions of every tenant's retention range and the months ahead.</summary>
internal sealed class StartupMigrations(MigrationRunner runner, PartitionMaintainer partitions, TenantStore tenants,
    IOptions<PostgresOptions> options, Tally.Domain.Time.TallyClock clock) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        var o = options.Value;
        if (o.MigrateOnStart) await runner.MigrateAsync(ct);
        var retentions = (await tenants.ListAsync(ct)).Select(t => TenantConfigCache.TryParseStored(t.ConfigJson)?.Retention).OfType<Tally.Domain.Config.RetentionConfig>();
        await partitions.EnsureForTenantsAsync(retentions, clock.UtcNow, o.PartitionsAheadMonths, ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
