using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Webhooks;

/// <summary>A webhook as stored: where it delivers, which kinds, its secret, its state and where it stands in the feed.</summary>
internal sealed record StoredWebhook(
    string TenantId, string WebhookId, string Url, string[] Kinds, string Secret, string State, DateTimeOffset CreatedAt,
    long CursorSeq, DateTimeOffset? FailingSince, int Attempts, DateTimeOffset? NextAttemptAt, DateTimeOffset? DisabledAt)
{
    public bool IsActive => State == "active";
}

/// <summary>One delivery attempt (a change sent, or tried).</summary>
internal sealed record StoredDelivery(long ChangeSeq, int Attempt, DateTimeOffset At, int? Status, int DurationMs, string? Error);

/// <summary>Webhooks, their cursors and their delivery log.</summary>
internal sealed class WebhookStore(NpgsqlDataSource dataSource)
{
    private const string Columns = "tenant_id, webhook_id, url, kinds, secret, state, created_at, cursor_seq, failing_since, attempts, next_attempt_at, disabled_at";

    /// <summary>Registers a webhook that starts after the tenant's last change recorded so far.</summary>
    public async Task<StoredWebhook> CreateAsync(string tenantId, string webhookId, string url, string[] kinds, string secret, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand($"""
            INSERT INTO webhooks (tenant_id, webhook_id, url, kinds, secret, cursor_seq)
            VALUES ($1, $2, $3, $4, $5, COALESCE((SELECT last_seq FROM change_heads WHERE tenant_id = $1), 0))
            RETURNING {Columns}
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        cmd.Parameters.Add(new() { Value = url });
        cmd.Parameters.Add(new() { Value = kinds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = secret });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return Read(reader);
    }

    public async Task<StoredWebhook?> GetAsync(string tenantId, string webhookId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM webhooks WHERE tenant_id = $1 AND webhook_id = $2");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public async Task<List<StoredWebhook>> ListAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM webhooks WHERE tenant_id = $1 ORDER BY created_at, webhook_id");
        cmd.Parameters.Add(new() { Value = tenantId });
        return await ReadAllAsync(cmd, ct);
    }

    /// <summary>Every active webhook of every tenant (the maintenance runner makes sure each one's deliverer runs).</summary>
    public async Task<List<StoredWebhook>> ListActiveAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM webhooks WHERE state = 'active' ORDER BY tenant_id, webhook_id");
        return await ReadAllAsync(cmd, ct);
    }

    public async Task<bool> DeleteAsync(string tenantId, string webhookId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            WITH gone AS (DELETE FROM webhooks WHERE tenant_id = $1 AND webhook_id = $2 RETURNING 1),
                 log AS (DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 AND EXISTS (SELECT 1 FROM gone))
            SELECT count(*) FROM gone
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        return (long)(await cmd.ExecuteScalarAsync(ct))! > 0;
    }

    /// <summary>Makes a webhook active again from its first unacknowledged change, its failures forgotten.</summary>
    public async Task<StoredWebhook?> EnableAsync(string tenantId, string webhookId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand($"""
            UPDATE webhooks SET state = 'active', disabled_at = NULL, failing_since = NULL, attempts = 0, next_attempt_at = NULL
             WHERE tenant_id = $1 AND webhook_id = $2
            RETURNING {Columns}
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    /// <summary>Moves the cursor past a change: <paramref name="acknowledged"/> (its failures are over) or passed over (not of
    /// the webhook's kinds; the failures of the next change, if any, stay). Never backwards.</summary>
    public async Task AdvanceAsync(string tenantId, string webhookId, long cursorSeq, bool acknowledged, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(acknowledged
            ? "UPDATE webhooks SET cursor_seq = $3, failing_since = NULL, attempts = 0, next_attempt_at = NULL WHERE tenant_id = $1 AND webhook_id = $2 AND cursor_seq < $3"
            : "UPDATE webhooks SET cursor_seq = $3 WHERE tenant_id = $1 AND webhook_id = $2 AND cursor_seq < $3");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        cmd.Parameters.Add(new() { Value = cursorSeq });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Records a failed attempt of the change after the cursor: when the failures began, how many, when to try
    /// again; <paramref name="disable"/> turns the webhook disabled.</summary>
    public async Task FailAsync(string tenantId, string webhookId, DateTimeOffset failingSince, int attempts, DateTimeOffset nextAttemptAt, bool disable,
        CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            UPDATE webhooks SET failing_since = $3, attempts = $4, next_attempt_at = $5,
                   state = CASE WHEN $6 THEN 'disabled' ELSE state END, disabled_at = CASE WHEN $6 THEN now() ELSE disabled_at END
             WHERE tenant_id = $1 AND webhook_id = $2
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        cmd.Parameters.Add(new() { Value = failingSince.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = attempts });
        cmd.Parameters.Add(new() { Value = nextAttemptAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = disable });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Logs an attempt and keeps the webhook's last <paramref name="keep"/> attempts.</summary>
    public async Task LogDeliveryAsync(string tenantId, string webhookId, StoredDelivery delivery, int keep, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            WITH added AS (
                INSERT INTO webhook_deliveries (tenant_id, webhook_id, change_seq, attempt, at, status, duration_ms, error)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id)
            DELETE FROM webhook_deliveries
             WHERE tenant_id = $1 AND webhook_id = $2
               AND id <= (SELECT id - $9 FROM added)
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        cmd.Parameters.Add(new() { Value = delivery.ChangeSeq });
        cmd.Parameters.Add(new() { Value = delivery.Attempt });
        cmd.Parameters.Add(new() { Value = delivery.At.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = (object?)delivery.Status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        cmd.Parameters.Add(new() { Value = delivery.DurationMs });
        cmd.Parameters.Add(new() { Value = (object?)delivery.Error ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = (long)keep });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The webhook's most recent attempts, newest first.</summary>
    public async Task<List<StoredDelivery>> ReadDeliveriesAsync(string tenantId, string webhookId, int limit, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT change_seq, attempt, at, status, duration_ms, error FROM webhook_deliveries
             WHERE tenant_id = $1 AND webhook_id = $2 ORDER BY id DESC LIMIT $3
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = webhookId });
        cmd.Parameters.Add(new() { Value = (long)limit });
        var deliveries = new List<StoredDelivery>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            deliveries.Add(new StoredDelivery(reader.GetInt64(0), reader.GetInt32(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        return deliveries;
    }

    private static async Task<List<StoredWebhook>> ReadAllAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        var hooks = new List<StoredWebhook>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) hooks.Add(Read(reader));
        return hooks;
    }

    private static StoredWebhook Read(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetFieldValue<string[]>(3), r.GetString(4), r.GetString(5), r.GetFieldValue<DateTimeOffset>(6),
        r.GetInt64(7), r.IsDBNull(8) ? null : r.GetFieldValue<DateTimeOffset>(8), r.GetInt32(9),
        r.IsDBNull(10) ? null : r.GetFieldValue<DateTimeOffset>(10), r.IsDBNull(11) ? null : r.GetFieldValue<DateTimeOffset>(11));
}
