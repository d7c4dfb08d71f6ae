using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Compat;

/// <summary>
/// Each tenant's action names as the climate seed's integer ids (<c>tenant_actions</c>, migration 0030): an action gets
/// the next id of its tenant the first time it is seen and keeps it. One numbering pass at a time (a table lock that
/// conflicts only with itself), so two passes never give one id twice. A removed tenant's numbering goes with it.
/// </summary>
internal sealed class ActionIds(NpgsqlDataSource dataSource)
{
    private const string Number = """
        INSERT INTO tenant_actions (tenant_id, action, action_id)
        SELECT n.tenant_id, n.action,
               COALESCE((SELECT max(a.action_id) FROM tenant_actions a WHERE a.tenant_id = n.tenant_id), 0)
                 + row_number() OVER (PARTITION BY n.tenant_id ORDER BY n.first_seen, n.action)
          FROM (SELECT tenant_id, action, min(received_at) AS first_seen FROM user_action_events WHERE {0} GROUP BY 1, 2) n
         WHERE NOT EXISTS (SELECT 1 FROM tenant_actions a WHERE a.tenant_id = n.tenant_id AND a.action = n.action)
        """;

    private const string NumberGiven = """
        INSERT INTO tenant_actions (tenant_id, action, action_id)
        SELECT n.tenant_id, n.action,
               COALESCE((SELECT max(a.action_id) FROM tenant_actions a WHERE a.tenant_id = n.tenant_id), 0)
                 + row_number() OVER (PARTITION BY n.tenant_id ORDER BY n.action)
          FROM unnest($1::text[], $2::text[]) AS n(tenant_id, action)
         WHERE NOT EXISTS (SELECT 1 FROM tenant_actions a WHERE a.tenant_id = n.tenant_id AND a.action = n.action)
        """;

    // Pairs known to be numbered: most snapshot runs bring no new action and then cost no round trip.
    private readonly HashSet<(string, string)> _known = new();
    private readonly Lock _gate = new();

    /// <summary>Numbers the actions the daily-stats refresh just wrote rows for (no scan of the log). Returns how many were new.</summary>
    public async Task<int> NumberAsync(IReadOnlyCollection<(string TenantId, string Action)> seen, CancellationToken ct)
    {
        List<(string TenantId, string Action)> unknown;
        lock (_gate) unknown = seen.Where(p => !_known.Contains(p)).Distinct().ToList();
        if (unknown.Count == 0) return 0;
        var added = await RunAsync(NumberGiven, cmd =>
        {
            cmd.Parameters.Add(new() { Value = unknown.Select(p => p.TenantId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = unknown.Select(p => p.Action).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        }, ct);
        lock (_gate)
        {
            if (_known.Count > 100_000) _known.Clear();
            _known.UnionWith(unknown);
        }
        return added;
    }

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
