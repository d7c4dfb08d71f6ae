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
            var builder = new NpgsqlDataSourceBuilder(sp.GetRequiredService<IOptions<PostgresOptions>>().Value.ConnectionString);
            // Our sessions leave no state behind except the event-log writer's temp stage table, which
            // should outlive pool returns: resetting (DISCARD ALL) would drop it and every prepared statement.
            builder.ConnectionStringBuilder.NoResetOnClose = true;
            return builder.Build();
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(Tally.Domain.Time.TallyClock.System);
        services.AddSingleton<TenantConfigCache>();
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<PartitionMaintainer>();
        services.AddSingleton<TenantStore>();
        services.AddSingleton<PostgresHealth>();
        services.AddHostedService<StartupMigrations>();
        return services;
    }

    /// <summary>The silo's event-log writer (group commit) and reader (replay).</summary>
    public static IServiceCollection AddTallyEventLog(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EventLogOptions>().Bind(configuration.GetSection(EventLogOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EventLogOptions>, EventLogOptionsValidator>();
        services.AddSingleton<EventLogWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<EventLogWriter>());
        services.AddSingleton<EventLogReader>();
        services.AddHostedService(sp => sp.GetRequiredService<EventLogReader>());
        return services;
    }
}

/// <summary>Runs migrations and creates the partition window before anything else starts.</summary>
internal sealed class StartupMigrations(MigrationRunner runner, PartitionMaintainer partitions, IOptions<PostgresOptions> options, Tally.Domain.Time.TallyClock clock) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        var o = options.Value;
        if (o.MigrateOnStart) await runner.MigrateAsync(ct);
        var today = DateOnly.FromDateTime(clock.UtcNow.UtcDateTime);
        await partitions.EnsureWindowAsync(today, o.PartitionsBehindMonths, o.PartitionsAheadMonths, ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
