using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Tally.Postgres.EventLog;

namespace Tally.Postgres.Lifecycle;

/// <summary>One exported file: name relative to the manifest, rows, bytes and SHA-256 (hex, lower case).</summary>
internal sealed record ExportFile(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("rows")] long Rows,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary><c>manifest.json</c> of one tenant's month (API.md, "Data lifecycle"). <c>before</c>, when present, says the
/// export holds only the month's days before that day (retention by days: the month's earlier days, exported as they
/// pass it).</summary>
internal sealed record ExportManifest(
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("month")] string Month,
    [property: JsonPropertyName("rows")] long Rows,
    [property: JsonPropertyName("files")] ExportFile[] Files,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("exported_at")] DateTimeOffset ExportedAt,
    [property: JsonPropertyName("max_event_id")] long MaxEventId = 0,
    [property: JsonPropertyName("before"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Before = null,
    [property: JsonPropertyName("received_from"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ReceivedFrom = null,
    [property: JsonPropertyName("received_until"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ReceivedUntil = null);

/// <summary>
/// Exports one tenant's month of the event log (by the tenant-local action date, the log's partition key) as gzip
/// NDJSON, one log row per line with every column (decision 014), into <c>DIR/tenant/YYYY-MM/</c> with a manifest;
/// verifies an export by re-reading every file; restores an export into the log (rows and their idempotency keys,
/// original event ids, nothing applied twice: user state already holds those events).
/// </summary>
internal sealed class EventExport(NpgsqlDataSource dataSource, TimeProvider? time = null)
{
    public const string ManifestName = "manifest.json";
    public const string Format = "ndjson.gz";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Rows per file: files stay a size a tool can open.</summary>
    public int RowsPerFile { get; init; } = 1_000_000;

    public static string MonthDirectory(string root, string tenantId, DateOnly month) => Path.Combine(root, tenantId, month.ToString("yyyy-MM"));

    /// <summary>The month's directory, or <c>YYYY-MM.2</c>, <c>.3</c>, … when earlier exports of it are there (never overwritten).</summary>
    public static string FreeMonthDirectory(string root, string tenantId, DateOnly month)
    {
        var dir = MonthDirectory(root, tenantId, month);
        for (var n = 2; File.Exists(Path.Combine(dir, ManifestName)); n++) dir = MonthDirectory(root, tenantId, month) + "." + n;
        return dir;
    }

    /// <summary>The directory of an export of some days of a month (retention in days): <c>YYYY-MM.dDD-DD</c> (first and
    /// last day held), or with <c>.2</c>, <c>.3</c>, … when an earlier export has that name (never overwritten).</summary>
    public static string FreeDaysDirectory(string root, string tenantId, DateOnly first, DateOnly last)
    {
        var dir = Path.Combine(root, tenantId, $"{first:yyyy-MM}.d{first:dd}-{last:dd}");
        var free = dir;
        for (var n = 2; File.Exists(Path.Combine(free, ManifestName)); n++) free = dir + "." + n;
        return free;
    }

    /// <summary>Exports into <paramref name="dir"/>; an export already there (a manifest) is never overwritten: it may be the only
    /// copy of rows that were removed. Files of a failed attempt (no manifest) are replaced.</summary>
    public async Task<ExportManifest> ExportAsync(string tenantId, DateOnly month, string dir, IProgress<long>? progress = null, CancellationToken ct = default,
        DateOnly? before = null)
    {
        var end = before is { } b && b < month.AddMonths(1) ? b : month.AddMonths(1);
        if (File.Exists(Path.Combine(dir, ManifestName)))
            throw new ExportInvalidException($"{dir} already holds an export; it is never overwritten (move it, or export elsewhere).");
        ClearFailedAttempt(dir);
        await using var cmd = dataSource.CreateCommand("""
            SELECT row_to_json(e)::text, e.event_id FROM user_action_events e
             WHERE e.tenant_id = $1 AND e.action_date >= $2 AND e.action_date < $3
             ORDER BY e.event_id
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = month, NpgsqlDbType = NpgsqlDbType.Date });
        cmd.Parameters.Add(new() { Value = end, NpgsqlDbType = NpgsqlDbType.Date });
        cmd.CommandTimeout = 0;
        var (files, total, maxEventId) = await WriteFilesAsync(cmd, dir, progress, ct);
        var manifest = new ExportManifest(tenantId, month.ToString("yyyy-MM"), total, files.ToArray(), Format, (time ?? TimeProvider.System).GetUtcNow(), maxEventId,
            end < month.AddMonths(1) ? end.ToString("yyyy-MM-dd") : null);
        await File.WriteAllTextAsync(Path.Combine(dir, ManifestName), JsonSerializer.Serialize(manifest, Json), ct);
        progress?.Report(total);
        return manifest;
    }

    /// <summary>Makes the directory, or empties what a failed attempt (one without a manifest) left in it.</summary>
    private static void ClearFailedAttempt(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var stale in Directory.GetFiles(dir)) File.Delete(stale);
    }

    /// <summary>Writes the rows a command reads (the row as JSON, then its event id) into gzip NDJSON files in
    /// <paramref name="dir"/>, <see cref="RowsPerFile"/> at most each. Returns the files, the rows and the last event id.</summary>
    private async Task<(List<ExportFile> Files, long Rows, long MaxEventId)> WriteFilesAsync(NpgsqlCommand cmd, string dir, IProgress<long>? progress, CancellationToken ct)
    {
        var files = new List<ExportFile>();
        long total = 0, inFile = 0, maxEventId = 0;
        FileStream? file = null;
        GZipStream? gzip = null;
        StreamWriter? writer = null;
        string? name = null;
        async Task CloseAsync()
        {
            if (writer is null) return;
            await writer.DisposeAsync();
            await gzip!.DisposeAsync();
            await file!.DisposeAsync();
            var path = Path.Combine(dir, name!);
            files.Add(new ExportFile(name!, inFile, new FileInfo(path).Length, await HashAsync(path, ct)));
            writer = null;
        }
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                if (writer is null)
                {
                    name = $"events-{files.Count + 1:D4}.{Format}";
                    file = new FileStream(Path.Combine(dir, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                    gzip = new GZipStream(file, CompressionLevel.Fastest);
                    writer = new StreamWriter(gzip, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
                    inFile = 0;
                }
                await writer.WriteLineAsync(reader.GetString(0));
                maxEventId = reader.GetInt64(1);
                inFile++;
                if (++total % 100_000 == 0) progress?.Report(total);
                if (inFile == RowsPerFile) await CloseAsync();
            }
        await CloseAsync();
        return (files, total, maxEventId);
    }

    /// <summary>
    /// Exports the tenant's events received in [<paramref name="from"/>, <paramref name="until"/>) (continuous export, API.md)
    /// into <paramref name="dir"/> with a manifest naming that range. An export already there that verifies and holds
    /// <paramref name="expectedRows"/> is returned, not written again: a batch retried after a crash between writing and
    /// marking keeps its files and names.
    /// </summary>
    public async Task<ExportManifest> ExportReceivedAsync(string tenantId, DateTimeOffset from, DateTimeOffset until, string dir, CancellationToken ct = default,
        long? expectedRows = null)
    {
        if (File.Exists(Path.Combine(dir, ManifestName)))
        {
            // An earlier attempt's files are kept when they still hold the range; if rows came or went since (a restore,
            // retention), they were never counted as exported, so they are written again.
            try
            {
                var earlier = await VerifyAsync(dir, ct);
                if (expectedRows is null || earlier.Rows == expectedRows) return earlier;
            }
            catch (ExportInvalidException)
            {
                // a torn earlier attempt: written again below
            }
            File.Delete(Path.Combine(dir, ManifestName));
        }
        ClearFailedAttempt(dir);
        await using var cmd = dataSource.CreateCommand("""
            SELECT row_to_json(e)::text, e.event_id FROM user_action_events e
             WHERE e.tenant_id = $1 AND e.received_at >= $2 AND e.received_at < $3
             ORDER BY e.event_id
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = from.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.CommandTimeout = 0;
        var (files, total, maxEventId) = await WriteFilesAsync(cmd, dir, null, ct);
        var manifest = new ExportManifest(tenantId, from.UtcDateTime.ToString("yyyy-MM"), total, files.ToArray(), Format, (time ?? TimeProvider.System).GetUtcNow(), maxEventId,
            ReceivedFrom: from, ReceivedUntil: until);
        await File.WriteAllTextAsync(Path.Combine(dir, ManifestName), JsonSerializer.Serialize(manifest, Json), ct);
        return manifest;
    }

    /// <summary>Re-reads an export: every file's size and SHA-256, every line a JSON row of the manifest's tenant and month,
    /// the row counts. Returns the manifest, or throws <see cref="ExportInvalidException"/> saying what is wrong.</summary>
    public static async Task<ExportManifest> VerifyAsync(string dir, CancellationToken ct = default)
    {
        var manifestPath = Path.Combine(dir, ManifestName);
        if (!File.Exists(manifestPath)) throw new ExportInvalidException($"{manifestPath} does not exist.");
        ExportManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ExportManifest>(await File.ReadAllTextAsync(manifestPath, ct))
                       ?? throw new ExportInvalidException($"{manifestPath} is empty.");
        }
        catch (JsonException ex)
        {
            throw new ExportInvalidException($"{manifestPath} is not a manifest: {ex.Message}");
        }
        if (manifest.Format != Format) throw new ExportInvalidException($"format '{manifest.Format}' is not {Format}.");
        var month = DateOnly.ParseExact(manifest.Month + "-01", "yyyy-MM-dd");
        var end = manifest.Before is { } before ? DateOnly.ParseExact(before, "yyyy-MM-dd") : month.AddMonths(1);
        long rows = 0;
        foreach (var f in manifest.Files)
        {
            var path = Path.Combine(dir, f.Name);
            if (Path.GetFileName(f.Name) != f.Name || !File.Exists(path)) throw new ExportInvalidException($"{f.Name} is missing.");
            if (new FileInfo(path).Length != f.Bytes) throw new ExportInvalidException($"{f.Name} has {new FileInfo(path).Length} bytes, the manifest says {f.Bytes}.");
            if (await HashAsync(path, ct) != f.Sha256) throw new ExportInvalidException($"{f.Name}: SHA-256 differs from the manifest.");
            long lines = 0;
            try
            {
                await foreach (var line in ReadLinesAsync(path, ct))
                {
                    using var row = JsonDocument.Parse(line);
                    var tenant = row.RootElement.GetProperty("tenant_id").GetString();
                    var day = DateOnly.ParseExact(row.RootElement.GetProperty("action_date").GetString()!, "yyyy-MM-dd");
                    // A continuous export's rows are those received in its range, of any day.
                    if (tenant != manifest.Tenant || manifest.ReceivedFrom is null && (day < month || day >= end))
                        throw new ExportInvalidException($"{f.Name} line {lines + 1}: a row of {tenant} on {day:yyyy-MM-dd} in the export of {manifest.Tenant} {manifest.Month}.");
                    lines++;
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException or KeyNotFoundException or FormatException)
            {
                throw new ExportInvalidException($"{f.Name} line {lines + 1} cannot be read: {ex.Message}");
            }
            if (lines != f.Rows) throw new ExportInvalidException($"{f.Name} has {lines} rows, the manifest says {f.Rows}.");
            rows += lines;
        }
        if (rows != manifest.Rows) throw new ExportInvalidException($"the files hold {rows} rows, the manifest says {manifest.Rows}.");
        return manifest;
    }

    /// <summary>Puts a verified export back into the log: missing rows are inserted with their event ids, their keys
    /// claimed; rows already there are left alone. Returns the rows inserted.</summary>
    public async Task<long> RestoreAsync(string dir, CancellationToken ct = default)
    {
        var manifest = await VerifyAsync(dir, ct);
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE restore_stage (line jsonb) ON COMMIT DROP", conn, tx))
            await create.ExecuteNonQueryAsync(ct);
        foreach (var f in manifest.Files)
        {
            await using var copy = await conn.BeginBinaryImportAsync("COPY restore_stage (line) FROM STDIN (FORMAT BINARY)", ct);
            await foreach (var line in ReadLinesAsync(Path.Combine(dir, f.Name), ct))
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(line, NpgsqlDbType.Jsonb, ct);
            }
            await copy.CompleteAsync(ct);
        }
        // The rows' months (one for a month's export; any for a continuous export's batch, which goes by arrival).
        await using (var range = new NpgsqlCommand("SELECT min((line ->> 'action_date')::date), max((line ->> 'action_date')::date) FROM restore_stage", conn, tx))
        await using (var reader = await range.ExecuteReaderAsync(ct))
            if (await reader.ReadAsync(ct) && !reader.IsDBNull(0))
            {
                var (first, last) = (reader.GetFieldValue<DateOnly>(0), reader.GetFieldValue<DateOnly>(1));
                await reader.CloseAsync();
                await new PartitionMaintainer(dataSource).EnsureRangeAsync(new DateOnly(first.Year, first.Month, 1), new DateOnly(last.Year, last.Month, 1), ct);
            }
        long inserted;
        await using (var insert = new NpgsqlCommand("""
            WITH rows AS (SELECT (jsonb_populate_record(NULL::user_action_events, line)).* FROM restore_stage),
            restored AS (INSERT INTO user_action_events SELECT * FROM rows ON CONFLICT DO NOTHING RETURNING tenant_id, idempotency_key, received_at),
            keys AS (INSERT INTO event_dedup (tenant_id, idempotency_key, first_seen_at) SELECT tenant_id, idempotency_key, received_at FROM restored
                     ON CONFLICT DO NOTHING RETURNING 1)
            SELECT count(*) FROM restored
            """, conn, tx) { CommandTimeout = 0 })
            inserted = (long)(await insert.ExecuteScalarAsync(ct))!;
        await tx.CommitAsync(ct);
        return inserted;
    }

    private static async IAsyncEnumerable<string> ReadLinesAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        while (await reader.ReadLineAsync(ct) is { } line)
            if (line.Length > 0) yield return line;
    }

    internal static async Task<string> HashAsync(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
    }
}

/// <summary>An export that does not match its manifest (or has none): nothing may be removed or restored from it.</summary>
internal sealed class ExportInvalidException(string message) : Exception(message);
