using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Compat;

/// <summary>
/// Each tenant's action names as the climate seed's integer ids (<c>tenant_actions</c>, migration 0030): an action gets
/// the next id of its tenant the first time it is seen and keeps it. One numbering pass at a time (a table lock that
/// conflicts only with itself), so two passes never give one id twice.
/// </summary>
public sealed class ActionIds(NpgsqlDataSource dataSource)
{
    private const string Number = """
        INSERT INTO tenant_actions (tenant_id, action, action_id)
        SELECT n.tenant_id, n.action,
               COALESCE((SELECT max(a.action_id) FROM tenant_actions a WHERE a.tenant_id = n.tenant_id), 0)
                 + row_number() OVER (PARTITION BY n.tenant_id ORDER BY n.first_seen, n.action)
          FROM (SELECT tenant_id, action, min(received_at) AS first_seen FROM user_action_events WHERE {0} GROUP BY 1, 2) n
         WHERE NOT EXISTS (SELECT 1 FROM tenant_actions a WHERE a.tenant_id = n.tenant_id AND a.action = n.action)
        """;

    /// <summary>Numbers the actions of events received in [<paramref name="since"/>, <paramref name="until"/>) (by the
    /// received_at index: the cost is what arrived). Returns how many actions were new.</summary>
    public Task<int> NumberArrivedAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken ct) =>
        RunAsync(string.Format(Number, "received_at >= $1 AND received_at < $2"), cmd =>
        {
            cmd.Parameters.Add(new() { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new() { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        }, ct);

    /// <summary>Numbers every action of a tenant's log not numbered yet (tally compat, once: it reads the tenant's log).</summary>
    public Task<int> NumberTenantAsync(string tenantId, CancellationToken ct) =>
        RunAsync(string.Format(Number, "tenant_id = $1"), cmd => cmd.Parameters.Add(new() { Value = tenantId }), ct);

    private async Task<int> RunAsync(string sql, Action<NpgsqlCommand> bind, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var lockCmd = new NpgsqlCommand("LOCK TABLE tenant_actions IN SHARE ROW EXCLUSIVE MODE", conn, tx)) await lockCmd.ExecuteNonQueryAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, conn, tx) { CommandTimeout = 0 };
        bind(cmd);
        var added = await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return added;
    }
}
