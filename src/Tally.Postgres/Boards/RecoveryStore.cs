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
    public const string ReconcileJob = "reconcile";

    public async Task<List<(string UserId, byte[] Stats)>> LoadShardStatesAsync(string tenantId, int shard, CancellationToken ct)
    {
        var rows = new List<(string, byte[])>();
        await using var cmd = dataSource.CreateCommand("SELECT user_id, stats FROM user_state WHERE tenant_id = $1 AND shard = $2");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = shard });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), reader.GetFieldValue<byte[]>(1)));
        return rows;
    }

    /// <summary>
    /// The events a shard's rebuild needs besides saved states: a tenant's events received at or after
    /// <paramref name="since"/> that their user's saved state does not hold, for users of
    /// <paramref name="shard"/> or never saved (whose shard the caller decides), in commit order.
    /// What the states already hold is filtered here, so the cost follows what is unsaved, not the window.
    /// </summary>
    public async Task<List<(string UserId, LoggedEvent Event)>> ReadUnsavedSinceAsync(string tenantId, int shard, DateTimeOffset since, CancellationToken ct)
    {
        var rows = new List<(string, LoggedEvent)>();
        await using var cmd = dataSource.CreateCommand($"""
            SELECT user_id, {EventLogSql.EventColumns} FROM user_action_events e
             WHERE e.tenant_id = $1 AND e.received_at >= $2
               AND NOT EXISTS (SELECT 1 FROM user_state s
                                WHERE s.tenant_id = e.tenant_id AND s.user_id = e.user_id
                                  AND (s.shard <> $3 OR s.last_event_id >= e.event_id))
             ORDER BY event_id
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = shard });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), EventLogReader.ReadEvent(reader, 1)));
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
