using System.CommandLine;
using System.Globalization;
using Npgsql;
using Spectre.Console;
using Tally.Postgres.Lifecycle;

namespace Tally.Cli.Maintain;

/// <summary>
/// <c>tally export</c> writes one tenant's month of raw events as gzip NDJSON with a manifest (rows, bytes, SHA-256 per
/// file); <c>tally verify-export</c> re-reads an export against its manifest; <c>tally restore</c> puts a verified export
/// back into the log (event ids and keys kept; derived state is not touched: it already holds those events).
/// </summary>
internal static class ExportCommands
{
    public static IEnumerable<Command> Build()
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant whose events to export.", Required = true };
        var month = new Option<string>("--month") { Description = "The month of the events' tenant-local action dates, YYYY-MM.", Required = true };
        TallyCli.Require(month, m => ParseMonth(m) is not null, "--month must be a month like 2025-01.");
        var to = new Option<string>("--to") { Description = "Root directory; the export goes to DIR/tenant/YYYY-MM/.", Required = true };
        var export = new Command("export", "Export one tenant's month of raw events (gzip NDJSON and manifest.json), then verify it.") { tenant, month, to };
        export.SetAction(async (parse, ct) =>
        {
            await using var dataSource = NpgsqlDataSource.Create(new CliContext(parse).Postgres);
            var (t, m, root) = (parse.GetValue(tenant)!, ParseMonth(parse.GetValue(month)!)!.Value, parse.GetValue(to)!);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var dir = EventExport.MonthDirectory(root, t, m);
            ExportManifest manifest;
            try
            {
                manifest = await new EventExport(dataSource).ExportAsync(t, m, dir,
                    new Reported<long>(rows => AnsiConsole.MarkupLineInterpolated($"[grey]{rows:N0} rows[/]")), ct);
                await EventExport.VerifyAsync(dir, ct);
            }
            catch (ExportInvalidException ex)
            {
                throw new CliException(ex.Message);
            }
            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            Print(manifest, dir);
            AnsiConsole.MarkupLineInterpolated($"exported and verified [green]{manifest.Rows:N0}[/] rows in {seconds:0.0} s ({manifest.Rows / Math.Max(seconds, 0.001):N0} rows/s)");
            return TallyCli.Success;
        });

        var dirArgument = new Argument<string>("dir") { Description = "The export's directory (the one holding manifest.json)." };
        var verify = new Command("verify-export", "Re-read an export: each file's size, SHA-256 and rows against manifest.json. Exit 1 if anything differs.") { dirArgument };
        verify.SetAction(async (parse, ct) =>
        {
            var dir = parse.GetValue(dirArgument)!;
            try
            {
                Print(await EventExport.VerifyAsync(dir, ct), dir);
                AnsiConsole.MarkupLine("[green]verified[/]");
                return TallyCli.Success;
            }
            catch (ExportInvalidException ex)
            {
                throw new CliException($"the export in {dir} is not valid: {ex.Message}");
            }
        });

        var restoreDir = new Argument<string>("dir")
        {
            Description = "The export's directory (the one holding manifest.json), or a continuous export's batch in a bucket: s3://BUCKET/KEY/PREFIX.",
        };
        var credentials = new Option<string?>("--credentials")
        {
            Description = "For s3:// exports: the credential set, from Tally__Export__Credentials__NAME__* in the environment (as on the silos).",
        };
        var restore = new Command("restore", "Put a verified export back into the event log (rows already there are left alone).") { restoreDir, credentials };
        restore.SetAction(async (parse, ct) =>
        {
            await using var dataSource = NpgsqlDataSource.Create(new CliContext(parse).Postgres);
            var dir = parse.GetValue(restoreDir)!;
            if (dir.StartsWith("s3://", StringComparison.Ordinal)) dir = await DownloadAsync(dir, parse.GetValue(credentials), ct);
            try
            {
                var inserted = await new EventExport(dataSource).RestoreAsync(dir, ct);
                AnsiConsole.MarkupLineInterpolated($"restored [green]{inserted:N0}[/] rows into the log");
                return TallyCli.Success;
            }
            catch (ExportInvalidException ex)
            {
                throw new CliException($"nothing was restored: {ex.Message}");
            }
        });
        return [export, verify, restore];
    }

    /// <summary>Copies a batch's objects from a bucket into a fresh local folder (then restored like any export).</summary>
    private static async Task<string> DownloadAsync(string url, string? credentialSet, CancellationToken ct)
    {
        var path = url["s3://".Length..].TrimEnd('/');
        var slash = path.IndexOf('/');
        if (slash <= 0) throw new CliException($"{url}: give s3://BUCKET/PREFIX of one batch (the folder holding manifest.json).");
        if (string.IsNullOrEmpty(credentialSet)) throw new CliException("an s3:// export needs --credentials NAME (a credential set of the operator's configuration).");
        if (!OperatorSettings.ExportCredentials().TryGetValue(credentialSet, out var set))
            throw new CliException($"the credential set '{credentialSet}' is not in the environment (Tally__Export__Credentials__{credentialSet}__AccessKey, ...).");
        var local = Path.Combine(Path.GetTempPath(), "tally-restore-" + Guid.NewGuid().ToString("N")[..8]);
        using var store = new S3ExportStore(set);
        var objects = await store.GetAsync(path[..slash], path[(slash + 1)..], local, ct);
        if (objects == 0) throw new CliException($"{url} holds no objects.");
        AnsiConsole.MarkupLineInterpolated($"copied {objects} object(s) from {url} to {local}");
        return local;
    }

    private static DateOnly? ParseMonth(string text) =>
        text.Length == 7 && DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var m) ? m : null;

    private static void Print(ExportManifest manifest, string dir)
    {
        var table = new Table().AddColumns("file", "rows", "bytes", "sha256");
        foreach (var f in manifest.Files) table.AddRow(Markup.Escape(f.Name), f.Rows.ToString("N0"), f.Bytes.ToString("N0"), f.Sha256[..16] + "…");
        AnsiConsole.MarkupLineInterpolated($"{manifest.Tenant} {manifest.Month}: {manifest.Rows:N0} rows in {manifest.Files.Length} file(s), {dir}");
        AnsiConsole.Write(table);
    }
}

/// <summary>Progress reported on the caller's thread as it happens (<see cref="Progress{T}"/> posts it later, possibly after the command ended).</summary>
internal sealed class Reported<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
