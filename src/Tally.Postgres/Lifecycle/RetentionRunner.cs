using Npgsql;
using NpgsqlTypes;
using Tally.Domain.Config;

namespace Tally.Postgres.Lifecycle;

/// <summary>What one retention step did (or, in a dry run, would do).</summary>
internal sealed record RetentionStep(string Tenant, string What, long Rows, string Result);

/// <summary>
/// Per-tenant retention (decision 015): a tenant's month of raw events goes once all of it is older than the tenant's
/// retention, and only after it was exported and the export re-read and verified; then exactly the exported rows are
/// deleted, by the log's primary key (tenant first), in batches. A partition left empty and older than every tenant's
/// range is dropped. Idempotency keys older than the tenant's <c>dedup_days</c> are pruned. Derived state (saved user
/// state, boards, snapshots) is untouched: it does not need the raw rows.
/// </summary>
internal sealed class RetentionRunner(NpgsqlDataSource dataSource)
{
    private const int DeleteBatch = 10_000;

    /// <summary>The advisory lock one retention pass holds (the cluster's automatic one or <c>tally maintain</c>): two passes
    /// never export the same rows at once.</summary>
    public const long MaintenanceLock = 0x7A11_3A17;

    /// <summary>
    /// Every tenant's retention, as the maintenance runner applies it on its schedule: raw events past retention exported,
    /// verified and removed (to the day for <c>raw_events_days</c>), partitions left empty and older than every tenant's
    /// range dropped, old idempotency keys forgotten. Null when another pass holds <see cref="MaintenanceLock"/>.
    /// </summary>
    public async Task<List<RetentionStep>?> RunAllAsync(IReadOnlyList<(string TenantId, RetentionConfig Retention)> tenants, DateTimeOffset now,
        string exportRoot, CancellationToken ct = default)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", conn) { Parameters = { new() { Value = MaintenanceLock } } })
            if (!(bool)(await take.ExecuteScalarAsync(ct))!) return null;
        try
        {
            var steps = new List<RetentionStep>();
            foreach (var (tenantId, retention) in tenants)
                steps.AddRange(await RemoveExpiredAsync(tenantId, retention, now, exportRoot, dryRun: false, ct));
            steps.AddRange(await DropEmptyPartitionsAsync(PartitionsBefore(tenants.Select(t => t.Retention), now), dryRun: false, ct));
            foreach (var (tenantId, retention) in tenants)
                if (await PruneKeysAsync(tenantId, retention, dryRun: false, ct) is { Rows: > 0 } pruned) steps.Add(pruned);
            return steps;
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", conn) { Parameters = { new() { Value = MaintenanceLock } } };
            await release.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    /// <summary>Called with each export's directory after it is written and before it is verified (tests damage it there).</summary>
    public Func<string, Task>? AfterExport { get; init; }

    public async Task<List<RetentionStep>> RemoveExpiredAsync(string tenantId, RetentionConfig retention, DateTimeOffset now, string exportRoot, bool dryRun,
        CancellationToken ct = default)
    {
        var oldest = DateOnly.FromDateTime(retention.OldestKept(now).UtcDateTime);
        // Retention in days is exact to the day; in months, whole months go (the seed's monthly partitions).
        var firstKept = retention.RawEventsDays is not null ? oldest : new DateOnly(oldest.Year, oldest.Month, 1);
        return await RemoveMonthsBeforeAsync(tenantId, firstKept, $"retention {retention.Description}", exportRoot, dryRun, ct);
    }

    /// <summary>Every month of the tenant's raw events, each exported, verified and only then removed (a tenant's
    /// removal, API.md). A month whose export failed is kept and named in the steps.</summary>
    public Task<List<RetentionStep>> RemoveAllAsync(string tenantId, string exportRoot, CancellationToken ct = default) =>
        RemoveMonthsBeforeAsync(tenantId, DateOnly.MaxValue, "tenant removal", exportRoot, dryRun: false, ct);

    private async Task<List<RetentionStep>> RemoveMonthsBeforeAsync(string tenantId, DateOnly firstKept, string why, string exportRoot, bool dryRun, CancellationToken ct)
    {
        var steps = new List<RetentionStep>();
        var months = new List<(DateOnly Month, long Rows, DateOnly First, DateOnly Last)>();
        // An index range of the log's primary key (tenant, action date): the cost is what is past retention.
        await using (var cmd = dataSource.CreateCommand("""
            SELECT date_trunc('month', action_date)::date, count(*), min(action_date), max(action_date) FROM user_action_events
             WHERE tenant_id = $1 AND action_date < $2 GROUP BY 1 ORDER BY 1
            """))
        {
            cmd.Parameters.Add(new() { Value = tenantId });
            cmd.Parameters.Add(new() { Value = firstKept, NpgsqlDbType = NpgsqlDbType.Date });
            cmd.CommandTimeout = 0;
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                months.Add((reader.GetFieldValue<DateOnly>(0), reader.GetInt64(1), reader.GetFieldValue<DateOnly>(2), reader.GetFieldValue<DateOnly>(3)));
        }
        foreach (var (month, rows, first, last) in months)
        {
            // The month's days before the first kept one; the whole month when it ended before it.
            DateOnly? before = firstKept < month.AddMonths(1) ? firstKept : null;
            var what = before is null ? $"events {month:yyyy-MM} ({why})" : $"events {first:yyyy-MM-dd} to {last:yyyy-MM-dd} ({why})";
            if (dryRun)
            {
                steps.Add(new RetentionStep(tenantId, what, rows, "would export, verify and remove"));
                continue;
            }
            ExportManifest manifest;
            string dir;
            try
            {
                dir = before is null ? EventExport.FreeMonthDirectory(exportRoot, tenantId, month)
                    : EventExport.FreeDaysDirectory(exportRoot, tenantId, first, last);
                await new EventExport(dataSource).ExportAsync(tenantId, month, dir, ct: ct, before: before);
                if (AfterExport is not null) await AfterExport(dir);
                manifest = await EventExport.VerifyAsync(dir, ct);
            }
            catch (Exception ex) when (ex is ExportInvalidException or IOException or UnauthorizedAccessException)
            {
                steps.Add(new RetentionStep(tenantId, what, rows, $"kept: the export failed ({ex.Message})"));
                continue;
            }
            var removed = await DeleteExportedAsync(tenantId, month, before ?? month.AddMonths(1), manifest.MaxEventId, ct);
            steps.Add(new RetentionStep(tenantId, what, removed, removed == manifest.Rows
                ? $"exported to {dir}, verified, removed"
                : $"exported {manifest.Rows} rows, removed {removed} (rows changed meanwhile; the export holds every removed row)"));
        }
        return steps;
    }

    /// <summary>Deletes the tenant's rows of the month's days before <paramref name="end"/> up to the export's last event id
    /// (rows arriving later stay for the next run).</summary>
    private async Task<long> DeleteExportedAsync(string tenantId, DateOnly month, DateOnly end, long maxEventId, CancellationToken ct)
    {
        long removed = 0;
        while (true)
        {
            await using var cmd = dataSource.CreateCommand("""
                DELETE FROM user_action_events e
                 USING (SELECT tenant_id, action_date, event_id FROM user_action_events
                         WHERE tenant_id = $1 AND action_date >= $2 AND action_date < $3 AND event_id <= $4 LIMIT $5) d
                 WHERE e.tenant_id = d.tenant_id AND e.action_date = d.action_date AND e.event_id = d.event_id
                """);
            cmd.Parameters.Add(new() { Value = tenantId });
            cmd.Parameters.Add(new() { Value = month, NpgsqlDbType = NpgsqlDbType.Date });
            cmd.Parameters.Add(new() { Value = end, NpgsqlDbType = NpgsqlDbType.Date });
            cmd.Parameters.Add(new() { Value = maxEventId });
            cmd.Parameters.Add(new() { Value = DeleteBatch });
            var n = await cmd.ExecuteNonQueryAsync(ct);
            removed += n;
            if (n < DeleteBatch) return removed;
        }
    }

    /// <summary>The first month some tenant's range may still need (one month of slack, as partitions are made): partitions
    /// wholly before it, once empty, can go.</summary>
    public static DateOnly PartitionsBefore(IEnumerable<RetentionConfig> retentions, DateTimeOffset now)
    {
        var list = retentions.ToList();
        var before = list.Count == 0 ? DateOnly.FromDateTime(now.UtcDateTime).AddMonths(-1)
            : list.Min(r => EventLog.PartitionMaintainer.RangeFor(r, now, 0).From);
        return new DateOnly(before.Year, before.Month, 1);
    }

    /// <summary>Drops partitions with no rows whose month ends before <paramref name="before"/> (older than every tenant's range).</summary>
    public async Task<List<RetentionStep>> DropEmptyPartitionsAsync(DateOnly before, bool dryRun, CancellationToken ct = default)
    {
        var steps = new List<RetentionStep>();
        var candidates = new List<string>();
        await using (var cmd = dataSource.CreateCommand("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'user_action_events'::regclass AND c.relname ~ '^user_action_events_y[0-9]{4}m[0-9]{2}$'
               AND to_date(substr(c.relname, 21, 4) || substr(c.relname, 26, 2), 'YYYYMM') + interval '1 month' <= $1
             ORDER BY 1
            """))
        {
            cmd.Parameters.Add(new() { Value = before, NpgsqlDbType = NpgsqlDbType.Date });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) candidates.Add(reader.GetString(0));
        }
        foreach (var partition in candidates)
        {
            // Names come from the catalog and match the pattern above: safe to quote into DDL.
            await using var conn = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            await using (var lockCmd = new NpgsqlCommand($"LOCK TABLE \"{partition}\" IN ACCESS EXCLUSIVE MODE", conn, tx)) await lockCmd.ExecuteNonQueryAsync(ct);
            await using (var any = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM \"{partition}\")", conn, tx))
                if ((bool)(await any.ExecuteScalarAsync(ct))!)
                {
                    await tx.RollbackAsync(ct);
                    continue;
                }
            if (dryRun)
            {
                steps.Add(new RetentionStep("", $"partition {partition}", 0, "would drop (empty)"));
                await tx.RollbackAsync(ct);
                continue;
            }
            await using (var drop = new NpgsqlCommand($"DROP TABLE \"{partition}\"", conn, tx)) await drop.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
            steps.Add(new RetentionStep("", $"partition {partition}", 0, "dropped (empty)"));
        }
        return steps;
    }

    /// <summary>Forgets idempotency keys first seen more than <c>dedup_days</c> ago (a key sent again after that is new).</summary>
    public async Task<RetentionStep> PruneKeysAsync(string tenantId, RetentionConfig retention, bool dryRun, CancellationToken ct = default)
    {
        var what = $"idempotency keys older than {retention.DedupDays} days";
        const string Old = "tenant_id = $1 AND first_seen_at < now() - make_interval(days => $2)";
        if (dryRun)
        {
            await using var count = Command($"SELECT count(*) FROM event_dedup WHERE {Old}", tenantId, retention.DedupDays);
            return new RetentionStep(tenantId, what, (long)(await count.ExecuteScalarAsync(ct))!, "would forget");
        }
        long total = 0;
        int removed;
        do
        {
            await using var delete = Command($"""
                DELETE FROM event_dedup d USING (SELECT idempotency_key FROM event_dedup WHERE {Old} LIMIT {DeleteBatch}) o
                 WHERE d.tenant_id = $1 AND d.idempotency_key = o.idempotency_key
                """, tenantId, retention.DedupDays);
            removed = await delete.ExecuteNonQueryAsync(ct);
            total += removed;
        } while (removed == DeleteBatch);
        return new RetentionStep(tenantId, what, total, "forgotten");
    }

    private NpgsqlCommand Command(string sql, string tenantId, int days)
    {
        var cmd = dataSource.CreateCommand(sql);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = days });
        return cmd;
    }
}
