using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Tally.Cli.Bench;

namespace Tally.Cli.Loading;

/// <summary>
/// <c>tally import --tenant T --from FILE.csv</c>: old per-user action rows through the same validation and log as
/// the API (it posts them to <c>/v1/events</c>). Bad rows are reported by line and field and skipped; the rest is
/// imported. Exit code 1 when any row was skipped.
/// </summary>
internal static class ImportCommand
{
    internal sealed record Settings(string Tenant, string From, Dictionary<string, string> Map, string? Key, string? Errors, int Batch, int Concurrency);

    private sealed record BadRow(long Line, string? Column, string? Field, string? Code, string? Message);

    public static Command Build()
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant to import into (it must exist).", Required = true };
        var from = new Option<FileInfo>("--from") { Description = "The CSV file; its header names the columns (see docs/profiles.md).", Required = true };
        from.AcceptExistingOnly();
        var map = new Option<string[]>("--map") { Description = "COLUMN=FIELD: read a column as an event field, a measure or a dimension (repeatable).", AllowMultipleArgumentsPerToken = false };
        TallyCli.Require(map, pairs => pairs is null || pairs.All(p => p.IndexOf('=') is > 0 and var i && i < p.Length - 1), "--map takes COLUMN=FIELD.");
        var key = new Option<string?>("--key") { Description = "An ingest key of the tenant (default: one made for this import and revoked after it)." };
        var errors = new Option<string?>("--errors") { Description = "Write every skipped row (line, column, field, code, message) to this CSV file." };
        var (batch, concurrency) = EventUploader.Options("Rows");
        var command = new Command("import", "Import per-user action rows from a CSV file through the API; a rerun imports nothing twice.")
        {
            tenant, from, map, key, errors, batch, concurrency,
        };
        command.SetAction((parse, ct) => RunAsync(new CliContext(parse), new Settings(
            parse.GetValue(tenant)!, parse.GetValue(from)!.FullName,
            (parse.GetValue(map) ?? []).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal),
            parse.GetValue(key), parse.GetValue(errors), parse.GetValue(batch), parse.GetValue(concurrency)), ct));
        return command;
    }

    public static async Task<int> RunAsync(CliContext context, Settings s, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromMinutes(2) };
        var admin = new TenantAdmin(http, context.AdminKey);
        var config = await admin.GetConfigAsync(s.Tenant);
        var rows = Math.Max(File.ReadLines(s.From).LongCount() - 1, 0);
        Console.WriteLine($"tally import: {s.From} (about {rows:N0} rows) into tenant {s.Tenant}");

        var (keyId, ingestKey) = s.Key is { } given ? (null, given) : await admin.MintKeyAsync(s.Tenant, "ingest");
        var uploader = new EventUploader(http, ingestKey, s.Concurrency);
        var bad = new List<BadRow>();
        CsvEventReader? mapper = null;
        long unreadable = 0;
        try
        {
            var records = CsvEventReader.Read(s.From, config, s.Map, opened => mapper = opened).Where(r =>
            {
                if (r.Event is not null) return true;
                lock (bad) bad.Add(new BadRow(r.Line, r.Column, r.Field, r.Code, r.Error));
                Interlocked.Increment(ref unreadable);
                return false;
            });
            var work = uploader.UploadAsync(records.Chunk(s.Batch), b => b.Select(r => r.Event!).ToArray(), (batch, outcomes) =>
            {
                for (var i = 0; i < outcomes.Length; i++)
                    if (outcomes[i] is { Status: "rejected" } o)
                        lock (bad) bad.Add(new BadRow(batch[i].Line, mapper!.ColumnOf(o.Field), o.Field, o.Code, o.Message));
            }, ct);
            await Bench.Progress.Track("rows", () => uploader.Done + Interlocked.Read(ref unreadable), rows, work);
        }
        finally
        {
            if (keyId is not null) await admin.RevokeKeyAsync(s.Tenant, keyId);
        }

        bad.Sort((a, b) => a.Line.CompareTo(b.Line));
        foreach (var row in bad.Take(50))
            AnsiConsole.MarkupLineInterpolated($"[red]line {row.Line}[/]{(row.Column is null ? "" : $", column {row.Column}")}{(row.Field is null ? "" : $" ({row.Field})")}: {row.Code}: {row.Message}");
        if (bad.Count > 50) Console.WriteLine($"... and {bad.Count - 50:N0} more skipped rows{(s.Errors is null ? " (pass --errors FILE for all of them)" : "")}.");
        if (s.Errors is not null) WriteErrors(s.Errors, bad);

        var table = new Table().AddColumns("rows", "imported", "already there", "skipped");
        table.AddRow($"{uploader.Done + unreadable:N0}", $"{uploader.Accepted:N0}", $"{uploader.Duplicates:N0}", $"{bad.Count:N0}");
        AnsiConsole.Write(table);
        return bad.Count == 0 ? TallyCli.Success : TallyCli.Failed;
    }

    private static void WriteErrors(string path, List<BadRow> bad)
    {
        using var writer = new StreamWriter(path);
        using var csv = new CsvHelper.CsvWriter(writer, CultureInfo.InvariantCulture);
        csv.WriteRecords(bad.Select(b => new { line = b.Line, column = b.Column, field = b.Field, code = b.Code, message = b.Message }));
        Console.WriteLine($"every skipped row: {path}");
    }
}
