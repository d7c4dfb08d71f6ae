using Npgsql;

namespace Tally.Postgres.EventLog;

/// <summary>
/// What a tenant's event log holds, key by key, for an audit against what a client sent (<c>tally verify check</c>):
/// how often each idempotency key was logged and what the logged rows carry. A full scan of the tenant's log: a
/// tool for test tenants, not a request path.
/// </summary>
internal sealed class EventLogAudit(NpgsqlDataSource dataSource)
{
    /// <summary>One idempotency key as logged: how many rows carry it, the first row's user, the sum of
    /// <c>measure</c> over them and the first row's value of <c>dimension</c> (null when absent).</summary>
    public sealed record LoggedKey(string Key, int Rows, string UserId, decimal Measure, string? Dimension);

    public async Task<List<LoggedKey>> KeysAsync(string tenantId, string measure, string dimension, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT idempotency_key, count(*), min(user_id), COALESCE(sum((measures->>$2)::numeric), 0), min(dims->>$3)
              FROM user_action_events WHERE tenant_id = $1 GROUP BY idempotency_key
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = measure });
        cmd.Parameters.Add(new() { Value = dimension });
        var keys = new List<LoggedKey>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            keys.Add(new LoggedKey(reader.GetString(0), (int)reader.GetInt64(1), reader.GetString(2), reader.GetDecimal(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        return keys;
    }

    /// <summary>Keys the tenant's dedup table holds: exactly the logged ones when nothing was lost or doubled.</summary>
    public async Task<long> DedupKeysAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM event_dedup WHERE tenant_id = $1");
        cmd.Parameters.Add(new() { Value = tenantId });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
