using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using Tally.Postgres;
using Tally.Postgres.EventLog;
using Tally.Postgres.Tenants;

namespace Tally.Cli.Maintain;

/// <summary>
/// <c>tally migrate</c> applies the schema migrations (the Kubernetes migrations Job runs it before silos roll);
/// <c>tally maintain</c> is the periodic database work (the maintenance CronJob and the systemd timer run it):
/// the log's monthly partitions for every tenant's retention range plus months ahead, then ANALYZE. One runner
/// at a time (a PostgreSQL advisory lock); --dry-run says what it would do and changes nothing.
/// </summary>
internal static class MaintainCommands
{
    private const long MaintainLock = 0x7A11_3A17;

    public static IEnumerable<Command> Build()
    {
        var migrate = new Command("migrate", "Apply the schema migrations (what a silo does at start-up) and exit.");
        migrate.SetAction(async (parse, ct) =>
        {
            await using var dataSource = NpgsqlDataSource.Create(new CliContext(parse).Postgres);
            var applied = await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(ct);
            AnsiConsole.MarkupLineInterpolated($"[green]{applied}[/] migration(s) applied; the schema is current.");
            return TallyCli.Success;
        });

        var noPartitions = new Option<bool>("--no-create-partitions") { Description = "Do not create the log's monthly partitions." };
        var noAnalyze = new Option<bool>("--no-analyze") { Description = "Do not ANALYZE the log and the derived tables." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be done; change nothing." };
        var ahead = new Option<int>("--months-ahead") { Description = "Partitions to keep ready after the current month (0-36).", DefaultValueFactory = _ => 6 };
        TallyCli.Require(ahead, v => v is >= 0 and <= 36, "--months-ahead must be 0-36.");
        var maintain = new Command("maintain", "Periodic database work: the log's partitions for every tenant's retention range and months ahead, then ANALYZE.")
        {
            noPartitions, noAnalyze, dryRun, ahead,
        };
        maintain.SetAction((parse, ct) => MaintainAsync(new CliContext(parse), !parse.GetValue(noPartitions), !parse.GetValue(noAnalyze),
            parse.GetValue(dryRun), parse.GetValue(ahead), ct));
        return [migrate, maintain];
    }

    private static readonly string[] AnalyzedTables = ["user_action_events", "user_state", "user_daily_stats", "user_stats_summary", "leaderboard_snapshots", "global_stats_rollup"];

    private static async Task<int> MaintainAsync(CliContext context, bool partitions, bool analyze, bool dryRun, int aheadMonths, CancellationToken ct)
    {
        await using var dataSource = NpgsqlDataSource.Create(context.Postgres);
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using (var lockCmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", conn) { Parameters = { new() { Value = MaintainLock } } })
            if (!(bool)(await lockCmd.ExecuteScalarAsync(ct))!)
                throw new CliException("Another 'tally maintain' holds the maintenance lock; nothing was done.");
        var now = DateTimeOffset.UtcNow;
        var prefix = dryRun ? "[yellow]would[/] " : "";
        if (partitions)
        {
            var maintainer = new PartitionMaintainer(dataSource);
            var tenants = await new TenantStore(dataSource).ListAsync(ct);
            var created = 0;
            foreach (var tenant in tenants)
            {
                var retention = TenantConfigCache.TryParseStored(tenant.ConfigJson)?.Retention ?? new Tally.Domain.Config.RetentionConfig();
                var (from, to) = PartitionMaintainer.RangeFor(retention, now, aheadMonths);
                AnsiConsole.MarkupLine($"{prefix}ensure partitions {from:yyyy-MM} to {to:yyyy-MM} for tenant {Markup.Escape(tenant.TenantId)}");
                if (!dryRun) created += await maintainer.EnsureRangeAsync(from, to, ct);
            }
            if (!dryRun) AnsiConsole.MarkupLineInterpolated($"partitions: [green]{created}[/] created for {tenants.Count} tenant(s)");
        }
        if (analyze)
            foreach (var table in AnalyzedTables)
            {
                AnsiConsole.MarkupLine($"{prefix}ANALYZE {table}");
                if (dryRun) continue;
                await using var cmd = new NpgsqlCommand($"ANALYZE {table}", conn) { CommandTimeout = 0 };
                await cmd.ExecuteNonQueryAsync(ct);
            }
        return TallyCli.Success;
    }
}
