using Npgsql;
using NpgsqlTypes;
using Tally.Domain.Config;

namespace Tally.Postgres.Lifecycle;

/// <summary>One continuous-export batch: the events of a tenant received in [<see cref="From"/>, <see cref="Until"/>).</summary>
internal sealed record ExportBatch(
    long Id, DateTimeOffset From, DateTimeOffset Until, long? FirstEventId, long? LastEventId, long Rows, int Files, string[] Sinks,
    DateTimeOffset StartedAt, DateTimeOffset? ExportedAt, DateTimeOffset? RemovedAt, string? Error, string? Location, long Bytes = 0);

/// <summary>What a tenant's continuous export has left: events not exported yet and the oldest of them.</summary>
internal sealed record ExportBacklog(long PendingEvents, DateTimeOffset? OldestPendingReceivedAt);

/// <summary>
/// Continuous export (API.md, Raw event collection; decision 036): every <c>every_minutes</c>, the tenant's events received
/// at least <c>delay_minutes</c> ago and not exported yet go, in the Data lifecycle format, to
/// <c>{sink path}/{tenant}/{yyyy}/{mm}/{dd}/{first event id}-{last event id}/</c> under the operator's export directory, or
/// under <c>{prefix}/</c> in an S3 bucket (<see cref="S3ExportStore"/>); the files are read back and checked against the manifest before the batch counts as exported; <c>keep_hours</c> after
/// that its rows leave the log. A batch's range is fixed when it starts, so a retried batch writes the same names.
/// </summary>
internal sealed class ContinuousExport(NpgsqlDataSource dataSource, ReadDataSource? reads = null)
{
    private const int DeleteBatch = 10_000;

    /// <summary>Called after a batch is stored and verified in every sink, before it is marked exported: a test stops the
    /// run there as a crash would.</summary>
    public Func<ExportBatch, Task>? AfterStored { get; init; }

    /// <summary>Exports the tenant's next batch if one is due (none pending and the last started <c>every_minutes</c> ago,
    /// or a pending one to finish). <paramref name="cutoff"/>: the latest arrival time a batch may take (now − the delay).
    /// Returns the batch handled, or null when none was due (or another runner holds the tenant's export).</summary>
    public async Task<ExportBatch?> RunAsync(string tenantId, ExportConfig config, ExportOptions options, DateTimeOffset now, DateTimeOffset cutoff, bool force,
        CancellationToken ct = default)
    {
        // One runner per tenant at a time (a silo's maintenance job, `tally maintain --export`): two would open two batches.
        await using var lockConn = await dataSource.OpenConnectionAsync(ct);
        if (!await TryLockAsync(lockConn, tenantId, ct)) return null;
        try
        {
            return await RunLockedAsync(tenantId, config, options, now, cutoff, force, ct);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1, hashtext($2))", lockConn);
            unlock.Parameters.Add(new() { Value = ExportLockClass });
            unlock.Parameters.Add(new() { Value = tenantId });
            await unlock.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    private async Task<ExportBatch?> RunLockedAsync(string tenantId, ExportConfig config, ExportOptions options, DateTimeOffset now, DateTimeOffset cutoff,
        bool force, CancellationToken ct)
    {
        var batch = await PendingAsync(tenantId, ct);
        if (batch is null)
        {
            var last = (await ListAsync(tenantId, 1, ct)).FirstOrDefault();
            if (!force && last is not null && last.StartedAt > now.AddMinutes(-config.EveryMinutes)) return null;
            batch = await StartAsync(tenantId, cutoff, ct);
            if (batch is null) return null;
        }
        string? staging = null;
        try
        {
            var (first, last, rows, firstArrival) = await RangeAsync(tenantId, batch.From, batch.Until, ct);
            var sinks = new List<string>();
            string? location = null, local = null;
            long bytes = 0;
            var files = 0;
            if (rows > 0)
            {
                // {path or prefix}/{tenant}/{yyyy}/{mm}/{dd}/{first}-{last}: the UTC day of the batch's first arrival.
                var relative = string.Join('/', tenantId, firstArrival.UtcDateTime.ToString("yyyy"), firstArrival.UtcDateTime.ToString("MM"),
                    firstArrival.UtcDateTime.ToString("dd"), $"{first}-{last}");
                foreach (var sink in new[] { config.Sink, config.BackupSink }.OfType<ExportSink>())
                {
                    ExportManifest manifest;
                    if (sink.Type == ExportSink.S3)
                    {
                        if (local is null)
                        {
                            // Written once to a staging folder, then uploaded: a retry finds it and uploads the same bytes.
                            staging = Path.Combine(options.Directory, ".staging", tenantId, batch.Id.ToString());
                            await new EventExport(dataSource).ExportReceivedAsync(tenantId, batch.From, batch.Until, staging, ct, rows);
                            local = staging;
                        }
                        manifest = await EventExport.VerifyAsync(local, ct);
                        if (!options.Credentials.TryGetValue(sink.Credentials!, out var credentials))
                            throw new ExportInvalidException(
                                $"the credential set '{sink.Credentials}' is not in the operator's configuration ({ExportOptions.Section}:Credentials:{sink.Credentials}).");
                        if (!credentials.Allows(sink.Credentials!, tenantId))
                            throw new ExportInvalidException(
                                $"the credential set '{sink.Credentials}' is not open to tenant {tenantId} ({ExportOptions.Section}:Credentials:{sink.Credentials}:Tenants).");
                        var key = string.IsNullOrEmpty(sink.Prefix) ? relative : $"{sink.Prefix.TrimEnd('/')}/{relative}";
                        using var store = new S3ExportStore(credentials);
                        await store.PutAsync(local, manifest, sink.Bucket!, key, ct);
                        sinks.Add(string.IsNullOrEmpty(sink.Prefix) ? $"s3:{sink.Bucket}" : $"s3:{sink.Bucket}/{sink.Prefix}");
                        location ??= $"s3://{sink.Bucket}/{key}";
                    }
                    else
                    {
                        var dir = Path.Combine(options.Directory, sink.Path!, relative);
                        await new EventExport(dataSource).ExportReceivedAsync(tenantId, batch.From, batch.Until, dir, ct, rows);
                        manifest = await EventExport.VerifyAsync(dir, ct);
                        local ??= dir;
                        sinks.Add($"{sink.Type}:{sink.Path}");
                        location ??= dir;
                    }
                    if (manifest.Rows != rows)
                        throw new ExportInvalidException($"the export of {relative} holds {manifest.Rows} rows, the range has {rows}.");
                    files = manifest.Files.Length;
                    bytes = manifest.Files.Sum(f => f.Bytes);
                }
            }
            if (AfterStored is { } hook) await hook(batch);
            var marked = await MarkExportedAsync(tenantId, batch.Id, batch.Until, first, last, rows, files, bytes, sinks.ToArray(), location, ct);
            RemoveStaging(staging);
            return marked;
        }
        catch (Exception ex) when (IsSinkFailure(ex) && !ct.IsCancellationRequested)
        {
            await MarkFailedAsync(tenantId, batch.Id, ex.Message, ct);
            throw;
        }
    }

    /// <summary>What a sink can fail with (the batch is recorded as failed and tried again at the next scan). A
    /// cancellation counts only when the caller did not cancel: the store's own timeout.</summary>
    public static bool IsSinkFailure(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or ExportInvalidException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException
            or HttpRequestException or TimeoutException or OperationCanceledException;

    /// <summary>The staging copy of an exported batch goes; failing to remove it does not make the export a failure.</summary>
    private static void RemoveStaging(string? staging)
    {
        if (staging is null) return;
        try
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // left for the operator; the batch is exported and its objects verified
        }
    }

    private const int ExportLockClass = 0x7461_6c78; // "talx": the tenant's continuous export

    private static async Task<bool> TryLockAsync(NpgsqlConnection conn, string tenantId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, hashtext($2))", conn);
        cmd.Parameters.Add(new() { Value = ExportLockClass });
        cmd.Parameters.Add(new() { Value = tenantId });
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Removes from the log the rows of batches exported more than <paramref name="keepHours"/> ago (only the exported
    /// event ids of each batch's range). Returns the rows removed.</summary>
    public async Task<long> RemoveExportedAsync(string tenantId, int keepHours, DateTimeOffset now, CancellationToken ct = default)
    {
        var due = new List<ExportBatch>();
        foreach (var b in await ListAsync(tenantId, 1000, ct))
            if (b is { ExportedAt: { } at, RemovedAt: null } && at <= now.AddHours(-keepHours)) due.Add(b);
        long removed = 0;
        foreach (var b in due.OrderBy(b => b.Id))
        {
            if (b.Rows > 0)
                while (true)
                {
                    await using var cmd = dataSource.CreateCommand("""
                        DELETE FROM user_action_events e
                         USING (SELECT tenant_id, action_date, event_id FROM user_action_events
                                 WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3 AND event_id BETWEEN $4 AND $5 LIMIT $6) d
                         WHERE e.tenant_id = d.tenant_id AND e.action_date = d.action_date AND e.event_id = d.event_id
                        """);
                    cmd.Parameters.Add(new() { Value = tenantId });
                    cmd.Parameters.Add(new() { Value = b.From.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                    cmd.Parameters.Add(new() { Value = b.Until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                    cmd.Parameters.Add(new() { Value = b.FirstEventId ?? 0 });
                    cmd.Parameters.Add(new() { Value = b.LastEventId ?? 0 });
                    cmd.Parameters.Add(new() { Value = DeleteBatch });
                    cmd.CommandTimeout = 0;
                    var n = await cmd.ExecuteNonQueryAsync(ct);
                    removed += n;
                    if (n < DeleteBatch) break;
                }
            await using var mark = dataSource.CreateCommand("UPDATE export_batches SET removed_at = now() WHERE tenant_id = $1 AND batch_id = $2");
            mark.Parameters.Add(new() { Value = tenantId });
            mark.Parameters.Add(new() { Value = b.Id });
            await mark.ExecuteNonQueryAsync(ct);
        }
        return removed;
    }

    /// <summary>The tenant's most recent batches, newest first, for readers (GET /v1/exports): from the read replica when there is one.</summary>
    public Task<List<ExportBatch>> ReadBatchesAsync(string tenantId, int limit, CancellationToken ct = default) =>
        reads is null ? ListAsync(dataSource, tenantId, limit, ct) : reads.ReadAsync(db => ListAsync(db, tenantId, limit, ct), ct);

    /// <summary>The tenant's events not exported yet, for readers: from the read replica when there is one.</summary>
    public Task<ExportBacklog> ReadBacklogAsync(string tenantId, CancellationToken ct = default) =>
        reads is null ? BacklogAsync(dataSource, tenantId, ct) : reads.ReadAsync(db => BacklogAsync(db, tenantId, ct), ct);

    /// <summary>The tenant's most recent batches, newest first (the primary: the runner acts on them).</summary>
    public Task<List<ExportBatch>> ListAsync(string tenantId, int limit, CancellationToken ct = default) => ListAsync(dataSource, tenantId, limit, ct);

    private static async Task<List<ExportBatch>> ListAsync(NpgsqlDataSource dataSource, string tenantId, int limit, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT batch_id, received_from, received_until, first_event_id, last_event_id, rows, files, sinks, started_at, exported_at, removed_at, error, location,
                   bytes
              FROM export_batches WHERE tenant_id = $1 ORDER BY batch_id DESC LIMIT $2
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = limit });
        var batches = new List<ExportBatch>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            batches.Add(new ExportBatch(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.GetInt64(5), reader.GetInt32(6),
                reader.GetFieldValue<string[]>(7), reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9), reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
                reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12), reader.GetInt64(13)));
        return batches;
    }

    /// <summary>The tenant's events not exported yet (received since the head), by the received_at index.</summary>
    private static async Task<ExportBacklog> BacklogAsync(NpgsqlDataSource dataSource, string tenantId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT count(*), min(received_at) FROM user_action_events
             WHERE tenant_id = $1 AND received_at >= coalesce((SELECT exported_until FROM export_heads WHERE tenant_id = $1), '-infinity')
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.CommandTimeout = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new ExportBacklog(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }

    private async Task<ExportBatch?> PendingAsync(string tenantId, CancellationToken ct) =>
        (await ListAsync(tenantId, 1, ct)).FirstOrDefault(b => b.ExportedAt is null);

    /// <summary>Opens the next batch: from the head (or the tenant's first event) up to <paramref name="cutoff"/>; null when
    /// nothing new could be in it.</summary>
    private async Task<ExportBatch?> StartAsync(string tenantId, DateTimeOffset cutoff, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO export_batches (tenant_id, received_from, received_until)
            SELECT $1, f.start, $2 FROM (SELECT coalesce((SELECT exported_until FROM export_heads WHERE tenant_id = $1), '-infinity'::timestamptz) AS start) f
             WHERE f.start < $2
            RETURNING batch_id, received_from, received_until, started_at
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = cutoff.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new ExportBatch(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2), null, null, 0, 0, [],
            reader.GetFieldValue<DateTimeOffset>(3), null, null, null, null);
    }

    private async Task<(long First, long Last, long Rows, DateTimeOffset FirstArrival)> RangeAsync(string tenantId, DateTimeOffset from, DateTimeOffset until,
        CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT coalesce(min(event_id), 0), coalesce(max(event_id), 0), count(*), coalesce(min(received_at), $3) FROM user_action_events
             WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = from.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.CommandTimeout = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3));
    }

    private async Task<ExportBatch> MarkExportedAsync(string tenantId, long batchId, DateTimeOffset until, long first, long last, long rows, int files, long bytes,
        string[] sinks, string? location, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var batch = new NpgsqlCommand("""
            UPDATE export_batches SET exported_at = now(), first_event_id = nullif($3, 0), last_event_id = nullif($4, 0), rows = $5, files = $6, bytes = $7,
                   sinks = $8, location = $9, error = NULL
             WHERE tenant_id = $1 AND batch_id = $2
            """, conn, tx))
        {
            foreach (var v in new object[] { tenantId, batchId, first, last, rows, files, bytes, sinks, (object?)location ?? DBNull.Value })
                batch.Parameters.Add(new() { Value = v });
            batch.Parameters[8].NpgsqlDbType = NpgsqlDbType.Text;
            await batch.ExecuteNonQueryAsync(ct);
        }
        await using (var head = new NpgsqlCommand("""
            INSERT INTO export_heads (tenant_id, exported_until) VALUES ($1, $2)
            ON CONFLICT (tenant_id) DO UPDATE SET exported_until = greatest(export_heads.exported_until, excluded.exported_until)
            """, conn, tx))
        {
            head.Parameters.Add(new() { Value = tenantId });
            head.Parameters.Add(new() { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await head.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return (await ListAsync(tenantId, 1, ct)).First(b => b.Id == batchId);
    }

    private async Task MarkFailedAsync(string tenantId, long batchId, string error, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("UPDATE export_batches SET error = $3 WHERE tenant_id = $1 AND batch_id = $2");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = batchId });
        cmd.Parameters.Add(new() { Value = error.Length > 500 ? error[..500] : error });
        await cmd.ExecuteNonQueryAsync(CancellationToken.None);
    }
}
