using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using Tally.Domain.Config;
using Tally.Postgres.Lifecycle;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench lifecycle</c>: a tenant of its own gets --rows raw events in one month past its retention (inserted
/// with one statement), then: export (gzip NDJSON), verify (re-read every file), and the retention removal that
/// <c>tally maintain --drop-old-partitions</c> runs for it (export, verify, delete by key). The tenant, its rows and
/// the exports are removed afterwards.
/// </summary>
internal static class LifecycleBench
{
    internal sealed record Settings(int Rows, bool WriteDocs);

    private const string Config = """{"time_zone":"UTC","measures":{"co2":{"min":0}}}""";

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        await using var dataSource = NpgsqlDataSource.Create(context.Postgres);
        var tenant = $"bench-lifecycle-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        var now = DateTimeOffset.UtcNow;
        var month = new DateOnly(now.Year, now.Month, 1).AddMonths(-30); // past the default 24 months
        var root = Path.Combine(Path.GetTempPath(), tenant);
        Console.WriteLine($"tally bench lifecycle: {s.Rows:N0} events of tenant {tenant} in {month:yyyy-MM}");
        try
        {
            await ExecAsync(dataSource, $$$"""
                INSERT INTO tenants (tenant_id, config) VALUES ('{{{tenant}}}', '{{{Config}}}');
                SELECT tally_ensure_event_partitions('{{{month:yyyy-MM-dd}}}', '{{{month:yyyy-MM-dd}}}');
                INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures, dims, arrived_at)
                SELECT '{{{tenant}}}', DATE '{{{month:yyyy-MM-dd}}}' + (i % 28), 'u' || (i % 20000), 'bike',
                       TIMESTAMPTZ '{{{month:yyyy-MM-dd}}} 08:00+00' + make_interval(days => i % 28, secs => i % 36000), 'k' || i,
                       jsonb_build_object('co2', round((i % 1000) * 0.37, 2)), jsonb_build_object('country', 'DE'), now()
                  FROM generate_series(1, {{{s.Rows}}}) i;
                ANALYZE user_action_events;
                """);

            var export = new EventExport(dataSource);
            var watch = Stopwatch.StartNew();
            var manifest = await export.ExportAsync(tenant, month, Path.Combine(root, "on-demand"));
            var exportSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            await EventExport.VerifyAsync(Path.Combine(root, "on-demand"));
            var verifySeconds = watch.Elapsed.TotalSeconds;
            var bytes = manifest.Files.Sum(f => f.Bytes);

            watch.Restart();
            var steps = await new RetentionRunner(dataSource).RemoveExpiredAsync(tenant, new RetentionConfig(), now, Path.Combine(root, "retention"), dryRun: false);
            var removeSeconds = watch.Elapsed.TotalSeconds;
            var removed = steps.Sum(x => x.Rows);
            if (removed != s.Rows) throw new CliException($"retention removed {removed} rows, expected {s.Rows}: {string.Join("; ", steps.Select(x => x.Result))}");

            var inv = CultureInfo.InvariantCulture;
            var body = new StringBuilder()
                .AppendLine("## Data lifecycle")
                .AppendLine()
                .AppendLine(inv, $"Command: `tally bench lifecycle --rows {s.Rows} --write-docs` against `deploy/local/up`.  ")
                .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. PostgreSQL on the same machine.")
                .AppendLine()
                .AppendLine(inv, $"One tenant's month of {s.Rows:N0} raw events (20,000 users) past its retention, in a log shared with the other tenants' rows.")
                .AppendLine()
                .AppendLine("| step | seconds | rows/s |")
                .AppendLine("| --- | ---: | ---: |")
                .AppendLine(inv, $"| `tally export` (gzip NDJSON, {bytes / 1048576.0:0.0} MiB in {manifest.Files.Length} file(s), {bytes / (double)s.Rows:0.0} B/row) | {exportSeconds:0.0} | {s.Rows / exportSeconds:N0} |")
                .AppendLine(inv, $"| `tally verify-export` (re-read, SHA-256, every row) | {verifySeconds:0.0} | {s.Rows / verifySeconds:N0} |")
                .AppendLine(inv, $"| retention removal as `tally maintain --drop-old-partitions` runs it (export, verify, delete by key) | {removeSeconds:0.0} | {s.Rows / removeSeconds:N0} |");
            BenchReport.Publish(context.RepoRoot, "lifecycle", body.ToString(), s.WriteDocs);
            return TallyCli.Success;
        }
        finally
        {
            await ExecAsync(dataSource, $"DELETE FROM user_action_events WHERE tenant_id = '{tenant}'; DELETE FROM tenants WHERE tenant_id = '{tenant}'");
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static async Task ExecAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        cmd.CommandTimeout = 0;
        await cmd.ExecuteNonQueryAsync();
    }
}
