using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using Tally.Domain.Config;
using Tally.Postgres;
using Tally.Postgres.EventLog;
using Tally.Postgres.Lifecycle;
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
        var noViews = new Option<bool>("--no-refresh-views") { Description = "Do not refresh views (Tally's summary views are plain views: there is nothing to refresh)." };
        var noAnalyze = new Option<bool>("--no-analyze") { Description = "Do not ANALYZE the log and the derived tables." };
        var dropOld = new Option<bool>("--drop-old-partitions") { Description = "Export, verify, then remove each tenant's months past its retention; drop partitions left empty." };
        var vacuum = new Option<bool>("--vacuum") { Description = "VACUUM the log and the key table (after removals)." };
        var export = new Option<bool>("--export")
        {
            Description = "Run every tenant's continuous export now (a batch even before every_minutes), then remove what is past keep_hours. "
                + "Sinks go under --export-dir; S3 credential sets come from Tally__Export__Credentials__NAME__* in the environment, as on the silos.",
        };
        var only = new Option<string?>("--tenant") { Description = "Only this tenant's steps (default: every tenant)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be done; change nothing." };
        var ahead = new Option<int>("--months-ahead") { Description = "Partitions to keep ready after the current month (0-36).", DefaultValueFactory = _ => 6 };
        TallyCli.Require(ahead, v => v is >= 0 and <= 36, "--months-ahead must be 0-36.");
        var exportDir = new Option<string>("--export-dir") { Description = "Where removals are exported first (DIR/tenant/YYYY-MM/).", DefaultValueFactory = _ => Path.Combine(".tally", "exports") };
        var maintain = new Command("maintain", "Periodic database work: partitions ahead, retention (export first), old keys, ANALYZE, VACUUM.")
        {
            noPartitions, noViews, noAnalyze, dropOld, export, vacuum, dryRun, ahead, exportDir, only,
        };
        maintain.SetAction((parse, ct) => MaintainAsync(new CliContext(parse), new Settings(!parse.GetValue(noPartitions), !parse.GetValue(noViews),
            !parse.GetValue(noAnalyze), parse.GetValue(dropOld), parse.GetValue(export), parse.GetValue(vacuum), parse.GetValue(dryRun), parse.GetValue(ahead),
            parse.GetValue(exportDir)!, parse.GetValue(only)), ct));
        return [migrate, maintain];
    }

    private sealed record Settings(bool Partitions, bool RefreshViews, bool Analyze, bool DropOld, bool Export, bool Vacuum, bool DryRun, int AheadMonths, string ExportDir, string? Tenant = null);

    private static async Task<int> MaintainAsync(CliContext context, Settings s, CancellationToken ct)
    {
        await using var dataSource = NpgsqlDataSource.Create(context.Postgres);
        var database = new DatabaseMaintenance(dataSource);
        await using var held = await database.TryLockAsync(ct)
            ?? throw new CliException("Another 'tally maintain' holds the maintenance lock; nothing was done.");
        var now = DateTimeOffset.UtcNow;
        var summary = new List<RetentionStep>();
        var failed = false;
        void Say(string markup) => AnsiConsole.MarkupLine((s.DryRun ? "[yellow]would[/] " : "") + markup);
        var stored = (await new TenantStore(dataSource).ListAsync(ct)).Where(t => s.Tenant is null || t.TenantId == s.Tenant).ToList();
        if (s.Tenant is not null && stored.Count == 0) throw new CliException($"no tenant {s.Tenant}.");
        var tenants = stored.Select(t => (t.TenantId, Retention: TenantConfigCache.TryParseStored(t.ConfigJson)?.Retention ?? new RetentionConfig())).ToList();

        if (s.Partitions)
        {
            var maintainer = new PartitionMaintainer(dataSource);
            var created = 0;
            foreach (var (tenant, retention) in tenants)
            {
                var (from, to) = PartitionMaintainer.RangeFor(retention, now, s.AheadMonths);
                Say($"ensure partitions {from:yyyy-MM} to {to:yyyy-MM} for tenant {Markup.Escape(tenant)}");
                if (!s.DryRun) created += await maintainer.EnsureRangeAsync(from, to, ct);
            }
            summary.Add(new RetentionStep("", $"partitions {s.AheadMonths} months ahead", created, s.DryRun ? "would ensure" : $"{created} created"));
        }
        var runner = new RetentionRunner(dataSource);
        if (s.DropOld)
        {
            foreach (var (tenant, retention) in tenants)
            {
                Say($"export, verify and remove the months of {Markup.Escape(tenant)} past {Markup.Escape(retention.Description)}");
                foreach (var step in await runner.RemoveExpiredAsync(tenant, retention, now, s.ExportDir, s.DryRun, ct))
                {
                    summary.Add(step);
                    failed |= step.Result.StartsWith("kept", StringComparison.Ordinal);
                }
            }
            // Partitions older than every tenant's range (one month of slack, as partitions are made) and left empty.
            // Partitions are shared by every tenant: with --tenant, their bound would be that tenant's alone, so none is dropped.
            if (s.Tenant is null)
                summary.AddRange(await runner.DropEmptyPartitionsAsync(RetentionRunner.PartitionsBefore(tenants.Select(t => t.Retention), now), s.DryRun, ct));
        }
        if (s.Export)
        {
            var steps = await ExportAsync(dataSource, stored, s, Say, ct);
            summary.AddRange(steps);
            failed |= steps.Any(step => step.Result.StartsWith("failed", StringComparison.Ordinal));
        }
        foreach (var (tenant, retention) in tenants)
            summary.Add(await runner.PruneKeysAsync(tenant, retention, s.DryRun, ct));
        if (s.RefreshViews)
            summary.Add(new RetentionStep("", "views", 0, "nothing to refresh (daily_analytics_summary is a plain view over incrementally kept user_daily_stats)"));
        if (s.Vacuum)
            foreach (var table in DatabaseMaintenance.VacuumedTables)
            {
                Say($"VACUUM {table}");
                if (s.DryRun) continue;
                await database.VacuumAsync(table, ct);
                summary.Add(new RetentionStep("", $"VACUUM {table}", 0, "done"));
            }
        if (s.Analyze)
            foreach (var table in DatabaseMaintenance.AnalyzedTables)
            {
                Say($"ANALYZE {table}");
                if (s.DryRun) continue;
                await database.AnalyzeAsync(table, ct);
            }

        var report = new Table().AddColumns("tenant", "step", "rows", "result");
        foreach (var step in summary) report.AddRow(Markup.Escape(step.Tenant), Markup.Escape(step.What), step.Rows.ToString("N0"), Markup.Escape(step.Result));
        AnsiConsole.Write(report);
        if (failed) AnsiConsole.MarkupLine("[red]Some exports failed (see above). Nothing unexported was removed.[/]");
        return failed ? TallyCli.Failed : TallyCli.Success;
    }

    /// <summary>Every tenant's continuous export, now: the pending or a new batch up to (database now − the tenant's delay,
    /// at least <c>Tally:Boards:ReconcileLagSeconds</c>, 30 s, so no commit in flight is passed over), then the batches past
    /// keep_hours leave the log.</summary>
    private static async Task<List<RetentionStep>> ExportAsync(NpgsqlDataSource dataSource, IEnumerable<StoredTenant> stored, Settings s, Action<string> say,
        CancellationToken ct)
    {
        var options = new ExportOptions { Directory = s.ExportDir, Credentials = OperatorSettings.ExportCredentials() };
        // As on the silos: events younger than the reconciliation lag may belong to commits still in flight.
        var lagSeconds = OperatorSettings.ReconcileLagSeconds();
        var exports = new ContinuousExport(dataSource);
        var steps = new List<RetentionStep>();
        foreach (var t in stored)
        {
            if (t.RemovingSince is not null || TenantConfigCache.TryParseStored(t.ConfigJson)?.Export is not { } config) continue;
            var backlog = await exports.ReadBacklogAsync(t.TenantId, ct);
            say($"export the {backlog.PendingEvents:N0} pending events of {Markup.Escape(t.TenantId)} (received at least {config.DelayMinutes} min ago)");
            if (s.DryRun)
            {
                steps.Add(new RetentionStep(t.TenantId, "continuous export", backlog.PendingEvents, "would export"));
                continue;
            }
            var cutoff = await new DatabaseMaintenance(dataSource).DatabaseTimeAgoAsync(TimeSpan.FromSeconds(Math.Max(config.DelayMinutes * 60, lagSeconds)), ct);
            try
            {
                var batch = await exports.RunAsync(t.TenantId, config, options, DateTimeOffset.UtcNow, cutoff, force: true, ct);
                steps.Add(batch is null
                    ? new RetentionStep(t.TenantId, "continuous export", 0, "nothing to export (or a silo is exporting it now)")
                    : new RetentionStep(t.TenantId, $"continuous export, batch {batch.Id}", batch.Rows,
                        batch.Rows == 0 ? "no new events" : $"exported to {string.Join(", ", batch.Sinks)}"));
                var removed = await exports.RemoveExportedAsync(t.TenantId, config.KeepHours, DateTimeOffset.UtcNow, ct);
                steps.Add(new RetentionStep(t.TenantId, $"exported events past keep_hours {config.KeepHours}", removed, "removed"));
            }
            catch (Exception ex) when (ContinuousExport.IsSinkFailure(ex))
            {
                steps.Add(new RetentionStep(t.TenantId, "continuous export", 0, $"failed: {ex.Message} (retried at the next run, nothing removed)"));
            }
        }
        return steps;
    }
}
