using Npgsql;

namespace Tally.Postgres.Tenants;

/// <summary>
/// The rows a tenant removal deletes (API.md, Tenant removal): every row of the tenant in every table that has a
/// <c>tenant_id</c> column, found from the catalog so a table added later is never forgotten, and the reminders of
/// its grains. The raw events are exported and removed first by the retention runner; this deletes what is left.
/// </summary>
internal sealed class TenantRemovalStore(NpgsqlDataSource dataSource)
{
    // Tables whose rows others reference go after them; the tenants row itself last of all.
    private static readonly string[] Last = ["api_keys", "tenants"];

    /// <summary>Every table of the schema with a tenant_id column (partitioned tables once, not their partitions).</summary>
    public async Task<List<string>> TenantTablesAsync(CancellationToken ct = default)
    {
        var tables = new List<string>();
        await using var cmd = dataSource.CreateCommand("""
            SELECT c.relname FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             ORDER BY c.relname
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) tables.Add(reader.GetString(0));
        tables.Sort((a, b) => Array.IndexOf(Last, a).CompareTo(Array.IndexOf(Last, b)));
        return tables;
    }

    /// <summary>How many raw events of the tenant the log still holds.</summary>
    public async Task<long> EventsLeftAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM user_action_events WHERE tenant_id = $1");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.CommandTimeout = 0;
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Deletes every row of the tenant in one transaction, the tenants row too when <paramref name="tenantRow"/> is set,
    /// and the reminders of its webhook grains (<c>webhook/{tenant}/...</c>). Refuses while the log still holds raw events of
    /// the tenant: those go only through an export. Returns the rows deleted per table.
    /// </summary>
    public async Task<Dictionary<string, long>> DeleteAsync(string tenantId, bool tenantRow, CancellationToken ct = default)
    {
        var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
        var tables = await TenantTablesAsync(ct);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var check = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM user_action_events WHERE tenant_id = $1)", connection, tx))
        {
            check.Parameters.Add(new() { Value = tenantId });
            if ((bool)(await check.ExecuteScalarAsync(ct))!)
                throw new InvalidOperationException($"Tenant '{tenantId}' still has raw events in the log; they are removed only after an export.");
        }
        foreach (var table in tables)
        {
            if (table == "tenants" && !tenantRow) continue;
            // Table names come from the catalog, never from input.
            await using var cmd = new NpgsqlCommand($"DELETE FROM \"{table}\" WHERE tenant_id = $1", connection, tx) { CommandTimeout = 0 };
            cmd.Parameters.Add(new() { Value = tenantId });
            deleted[table] = await cmd.ExecuteNonQueryAsync(ct);
        }
        await using (var reminders = new NpgsqlCommand("DELETE FROM orleansreminderstable WHERE split_part(grainid, '/', 1) = 'webhook' AND split_part(grainid, '/', 2) = $1", connection, tx))
        {
            reminders.Parameters.Add(new() { Value = tenantId });
            deleted["orleansreminderstable"] = await reminders.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return deleted;
    }

    /// <summary>Rows of the tenant left in each table (and reminders of its grains); for tests and the removal's last check.</summary>
    public async Task<Dictionary<string, long>> CountAsync(string tenantId, CancellationToken ct = default)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in await TenantTablesAsync(ct))
        {
            await using var cmd = dataSource.CreateCommand($"SELECT count(*) FROM \"{table}\" WHERE tenant_id = $1");
            cmd.Parameters.Add(new() { Value = tenantId });
            counts[table] = (long)(await cmd.ExecuteScalarAsync(ct))!;
        }
        await using var reminders = dataSource.CreateCommand("SELECT count(*) FROM orleansreminderstable WHERE split_part(grainid, '/', 1) = 'webhook' AND split_part(grainid, '/', 2) = $1");
        reminders.Parameters.Add(new() { Value = tenantId });
        counts["orleansreminderstable"] = (long)(await reminders.ExecuteScalarAsync(ct))!;
        return counts;
    }
}
