using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using Tally.Postgres.EventLog;

namespace Tally.Postgres.Boards;

/// <summary>
/// What board shards rebuild from and what reconciliation compares: saved user states by shard,
/// recent events by received time, and the reconciliation watermark. Invariant kept by the
/// reconciler: every event received before the watermark is in its user's saved state.
/// </summary>
internal sealed class RecoveryStore(NpgsqlDataSource dataSource)
{
    /// <summary>An event its user's saved state does not hold, and the shard that state was saved under (null: none saved).</summary>
    public sealed record UnsavedEvent(int? SavedShard, string UserId, LoggedEvent Event);

    public const string ReconcileJob = "reconcile";

    // Log scans in progress by tenant and watermark: the shards rebuilding meanwhile share one.
    private readonly Dictionary<(string, DateTimeOffset), Task<List<UnsavedEvent>>> _scans = new();

    /// <summary>A shard's saved user states, streamed: a rebuild holds one at a time, not the shard's whole table. The
    /// wait for rows is bounded as long as Orleans lets an activation take (<c>ActivationTimeoutSeconds</c>' default).</summary>
    public async IAsyncEnumerable<(string UserId, byte[] Stats)> ReadShardStatesAsync(string tenantId, int shard, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT user_id, stats FROM user_state WHERE tenant_id = $1 AND shard = $2");
        cmd.CommandTimeout = 300;
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = shard });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) yield return (reader.GetString(0), reader.GetFieldValue<byte[]>(1));
    }

    /// <summary>
    /// The events a shard's rebuild needs besides saved states: a tenant's events received at or after
    /// <paramref name="since"/> that their user's saved state does not hold, in commit order, each with the shard its
    /// user's state was saved under (null: never saved). What the states hold is filtered here, so the answer follows
    /// what is unsaved; the scan follows the window. One scan serves every shard of the tenant that rebuilds meanwhile
    /// (after a silo loss they all start at once). A shard that joins a scan started before its previous activation died
    /// may miss events committed in between and not yet saved; reconciliation republishes those users within a run or two.
    /// The scan may take minutes when the watermark is far behind; it is bounded at 10 minutes, not at the 30 s of a
    /// command (a rebuild cut short only starts over). No caller's token cancels it for the others.
    /// </summary>
    public Task<List<UnsavedEvent>> ReadUnsavedSinceAsync(string tenantId, DateTimeOffset since, CancellationToken ct)
    {
        lock (_scans)
        {
            if (_scans.TryGetValue((tenantId, since), out var running)) return running.WaitAsync(ct);
            var scan = ScanUnsavedAsync(tenantId, since, CancellationToken.None);
            _scans[(tenantId, since)] = scan;
            // Forgotten once done: a later rebuild reads what is unsaved then.
            _ = scan.ContinueWith(_ => { lock (_scans) _scans.Remove((tenantId, since)); }, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return scan.WaitAsync(ct);
        }
    }

    private async Task<List<UnsavedEvent>> ScanUnsavedAsync(string tenantId, DateTimeOffset since, CancellationToken ct)
    {
        var rows = new List<UnsavedEvent>();
        await using var cmd = dataSource.CreateCommand($"""
            SELECT s.shard, e.* FROM (SELECT tenant_id AS t, user_id AS u, {EventLogSql.EventColumns} FROM user_action_events
                                        WHERE tenant_id = $1 AND received_at >= $2) e
              LEFT JOIN user_state s ON s.tenant_id = e.t AND s.user_id = e.u
             WHERE s.last_event_id IS NULL OR s.last_event_id < e.event_id
             ORDER BY e.event_id
            """);
        cmd.CommandTimeout = 600;
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new UnsavedEvent(reader.IsDBNull(0) ? null : reader.GetInt32(0), reader.GetString(2), EventLogReader.ReadEvent(reader, 3)));
        return rows;
    }

    /// <summary>Every user with events received in [since, until): the newest event id and the saved state's watermark (0 if none).</summary>
    public async Task<List<ActiveUser>> ReadActiveUsersAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken ct)
    {
        var rows = new List<ActiveUser>();
        await using var cmd = dataSource.CreateCommand("""
            SELECT e.tenant_id, e.user_id, e.max_id, COALESCE(s.last_event_id, 0)
              FROM (SELECT tenant_id, user_id, max(event_id) AS max_id FROM user_action_events
                     WHERE received_at >= $1 AND received_at < $2 GROUP BY tenant_id, user_id) e
              LEFT JOIN user_state s ON s.tenant_id = e.tenant_id AND s.user_id = e.user_id
            """);
        cmd.Parameters.Add(new() { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new ActiveUser(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        return rows;
    }

    /// <summary>Users whose next checkpoint decision is due at or before <paramref name="now"/> (business time), soonest first.</summary>
    public async Task<List<(string TenantId, string UserId)>> ReadDueCheckpointsAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        var rows = new List<(string, string)>();
        await using var cmd = dataSource.CreateCommand("""
            SELECT tenant_id, user_id FROM user_state
             WHERE checkpoint_due_at IS NOT NULL AND checkpoint_due_at <= $1
             ORDER BY checkpoint_due_at LIMIT $2
            """);
        cmd.Parameters.Add(new() { Value = now.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = limit });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), reader.GetString(1)));
        return rows;
    }

    /// <summary>The database's clock minus a lag: received_at comes from it, not from any silo's clock.</summary>
    public async Task<DateTimeOffset> DatabaseNowAsync(TimeSpan lag, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT now() - $1");
        cmd.Parameters.Add(new() { Value = lag, NpgsqlDbType = NpgsqlDbType.Interval });
        var value = (DateTime)(await cmd.ExecuteScalarAsync(ct))!;
        return new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc));
    }

    /// <summary>How far a job has processed the log by received time (the Unix epoch before its first run).</summary>
    public async Task<DateTimeOffset> ReadWatermarkAsync(string job, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT watermark FROM tally_jobs WHERE job = $1");
        cmd.Parameters.Add(new() { Value = job });
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is DateTime dt ? new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)) : DateTimeOffset.UnixEpoch;
    }

    public async Task AdvanceWatermarkAsync(string job, DateTimeOffset watermark, long rows, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO tally_jobs (job, watermark, finished_at, rows) VALUES ($1, $2, now(), $3)
            ON CONFLICT (job) DO UPDATE SET watermark = GREATEST(tally_jobs.watermark, excluded.watermark),
                                            finished_at = now(), rows = excluded.rows
            """);
        cmd.Parameters.Add(new() { Value = job });
        cmd.Parameters.Add(new() { Value = watermark.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = rows });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>A user seen in a reconciliation window: the log's newest event id and the saved state's watermark.</summary>
internal sealed record ActiveUser(string TenantId, string UserId, long MaxEventId, long SavedEventId);
