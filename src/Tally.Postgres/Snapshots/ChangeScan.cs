using Npgsql;

namespace Tally.Postgres.Snapshots;

/// <summary>Which tenants and users a snapshot run has to visit: what changed since its last run.</summary>
internal sealed class ChangeScan(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// What changed since <paramref name="since"/>, per tenant: tenants with events received since (by the received_at
    /// index, so the cost is what arrived) and, <paramref name="withUsers"/>, those events' users; tenants whose config
    /// changed or who removed a user (no user named for those).
    /// </summary>
    public async Task<Dictionary<string, HashSet<string>>> ChangedSinceAsync(DateTimeOffset since, bool withUsers, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            SELECT DISTINCT tenant_id, {(withUsers ? "user_id" : "NULL::text")} FROM user_action_events WHERE received_at >= $1
            UNION ALL SELECT tenant_id, NULL FROM tenants WHERE updated_at >= $1
            UNION ALL SELECT DISTINCT tenant_id, NULL FROM user_erasures WHERE erased_at >= $1
            """);
        cmd.Parameters.Add(new() { Value = since });
        var changed = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var tenant = reader.GetString(0);
            if (!changed.TryGetValue(tenant, out var users)) changed[tenant] = users = new HashSet<string>(StringComparer.Ordinal);
            if (!reader.IsDBNull(1)) users.Add(reader.GetString(1));
        }
        return changed;
    }
}
