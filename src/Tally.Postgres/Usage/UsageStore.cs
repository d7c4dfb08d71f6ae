using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Usage;

/// <summary>One count of events: a tenant's arrival day, the outcome and, for rejections, the code.</summary>
internal readonly record struct UsageCount(string TenantId, DateOnly Day, string Outcome, string Code, long Events);

/// <summary>The outcomes <c>tenant_usage</c> counts besides accepted, duplicate and rejected (code: the rejection's): raw
/// events received by /v1/collect, those missing a field (code: the field), and per site the events accepted (code: the site).</summary>
internal static class UsageOutcomes
{
    public const string Accepted = "accepted", Duplicate = "duplicate", Rejected = "rejected";
    public const string Received = "received", Missing = "missing", Site = "site";
}

/// <summary>A user with accepted events in a month (the first day of it).</summary>
internal readonly record struct ActiveUser(string TenantId, DateOnly Month, string UserId);

/// <summary>
/// The metering tables: counts are added (each API instance flushes what it counted), active users
/// inserted once per month. Reads aggregate one tenant's month, or every tenant's.
/// </summary>
internal sealed class UsageStore(NpgsqlDataSource dataSource, ReadDataSource? reads = null)
{
    public async Task AddAsync(IReadOnlyList<UsageCount> counts, IReadOnlyList<ActiveUser> users, CancellationToken ct = default)
    {
        if (counts.Count == 0 && users.Count == 0) return;
        await using var batch = dataSource.CreateBatch();
        if (counts.Count > 0)
        {
            var cmd = new NpgsqlBatchCommand("""
                INSERT INTO tenant_usage AS u (tenant_id, day, outcome, code, events)
                SELECT x.* FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::bigint[]) AS x(tenant_id, day, outcome, code, events)
                 WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = x.tenant_id AND t.removing_since IS NULL)
                ON CONFLICT (tenant_id, day, outcome, code) DO UPDATE SET events = u.events + excluded.events
                """);
            cmd.Parameters.Add(new() { Value = counts.Select(c => c.TenantId).ToArray() });
            cmd.Parameters.Add(new() { Value = counts.Select(c => c.Day).ToArray() });
            cmd.Parameters.Add(new() { Value = counts.Select(c => c.Outcome).ToArray() });
            cmd.Parameters.Add(new() { Value = counts.Select(c => c.Code).ToArray() });
            cmd.Parameters.Add(new() { Value = counts.Select(c => c.Events).ToArray() });
            batch.BatchCommands.Add(cmd);
        }
        if (users.Count > 0)
        {
            var cmd = new NpgsqlBatchCommand("""
                INSERT INTO tenant_active_users (tenant_id, month, user_id)
                SELECT x.* FROM unnest($1::text[], $2::date[], $3::text[]) AS x(tenant_id, month, user_id)
                 WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = x.tenant_id AND t.removing_since IS NULL)
                ON CONFLICT DO NOTHING
                """);
            cmd.Parameters.Add(new() { Value = users.Select(u => u.TenantId).ToArray() });
            cmd.Parameters.Add(new() { Value = users.Select(u => u.Month).ToArray() });
            cmd.Parameters.Add(new() { Value = users.Select(u => u.UserId).ToArray() });
            batch.BatchCommands.Add(cmd);
        }
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>One tenant's counts of one arrival day (every outcome), for the data-quality report.</summary>
    public Task<List<UsageCount>> ReadDayAsync(string tenantId, DateOnly day, CancellationToken ct = default) =>
        reads is null ? ReadDayAsync(dataSource, tenantId, day, ct) : reads.ReadAsync(db => ReadDayAsync(db, tenantId, day, ct), ct);

    private static async Task<List<UsageCount>> ReadDayAsync(NpgsqlDataSource dataSource, string tenantId, DateOnly day, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT outcome, code, events FROM tenant_usage WHERE tenant_id = $1 AND day = $2");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = day, NpgsqlDbType = NpgsqlDbType.Date });
        var counts = new List<UsageCount>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) counts.Add(new UsageCount(tenantId, day, reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        return counts;
    }

    /// <summary>Per site of a tenant: the events accepted in the month and the first day the site was seen (ever).</summary>
    public Task<List<(string Site, DateOnly FirstSeen, long Accepted)>> ReadSitesAsync(string tenantId, DateOnly month, CancellationToken ct = default) =>
        reads is null ? ReadSitesAsync(dataSource, tenantId, month, ct) : reads.ReadAsync(db => ReadSitesAsync(db, tenantId, month, ct), ct);

    private static async Task<List<(string Site, DateOnly FirstSeen, long Accepted)>> ReadSitesAsync(NpgsqlDataSource dataSource, string tenantId, DateOnly month,
        CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"""
            SELECT code, min(day), coalesce(sum(events) FILTER (WHERE day >= $2 AND day < $3), 0)::bigint
              FROM tenant_usage WHERE tenant_id = $1 AND outcome = '{UsageOutcomes.Site}' AND day < $3
             GROUP BY code HAVING min(day) < $3 ORDER BY min(day), code
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = month, NpgsqlDbType = NpgsqlDbType.Date });
        cmd.Parameters.Add(new() { Value = month.AddMonths(1), NpgsqlDbType = NpgsqlDbType.Date });
        var sites = new List<(string, DateOnly, long)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) sites.Add((reader.GetString(0), reader.GetFieldValue<DateOnly>(1), reader.GetInt64(2)));
        return sites;
    }

    /// <summary>The month's counts (every row) and active users of one tenant, or of every tenant with <paramref name="tenantId"/> null.</summary>
    /// <remarks>Read from the replica when there is one (usage may lag by the replica's delay, as it lags by the flush interval).</remarks>
    public Task<(List<UsageCount> Counts, Dictionary<string, long> ActiveUsers)> ReadMonthAsync(string? tenantId, DateOnly month, CancellationToken ct = default) =>
        reads is null ? ReadMonthAsync(dataSource, tenantId, month, ct) : reads.ReadAsync(db => ReadMonthAsync(db, tenantId, month, ct), ct);

    private static async Task<(List<UsageCount> Counts, Dictionary<string, long> ActiveUsers)> ReadMonthAsync(
        NpgsqlDataSource dataSource, string? tenantId, DateOnly month, CancellationToken ct)
    {
        var end = month.AddMonths(1);
        var counts = new List<UsageCount>();
        var active = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var batch = dataSource.CreateBatch();
        var read = new NpgsqlBatchCommand("""
            SELECT tenant_id, day, outcome, code, events FROM tenant_usage
             WHERE ($1::text IS NULL OR tenant_id = $1) AND day >= $2 AND day < $3
             ORDER BY tenant_id, day
            """);
        var users = new NpgsqlBatchCommand("""
            SELECT tenant_id, count(*) FROM tenant_active_users WHERE ($1::text IS NULL OR tenant_id = $1) AND month = $2 GROUP BY tenant_id
            """);
        foreach (var cmd in new[] { read, users })
        {
            cmd.Parameters.Add(new() { Value = (object?)tenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = month, NpgsqlDbType = NpgsqlDbType.Date });
            batch.BatchCommands.Add(cmd);
        }
        read.Parameters.Add(new() { Value = end, NpgsqlDbType = NpgsqlDbType.Date });
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            counts.Add(new UsageCount(reader.GetString(0), reader.GetFieldValue<DateOnly>(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct)) active[reader.GetString(0)] = reader.GetInt64(1);
        return (counts, active);
    }
}
