using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Changes;

/// <summary>A change as stored: its number in the tenant's feed, kind, user, instants (UTC) and data (JSON, instants already
/// in the tenant's offset).</summary>
internal sealed record StoredChange(long Seq, string Kind, string UserId, DateTimeOffset At, DateTimeOffset RecordedAt, string DataJson);

/// <summary>Where a tenant's feed stands: the last change recorded and the last one pruned (0 when none).</summary>
internal sealed record FeedHead(long LastSeq, long PrunedSeq);

/// <summary>How a tenant's feed matches what it announces (for <c>tally verify check</c>): each tier history row and goal
/// completion has exactly one change, no change announces nothing, and the numbers have no gap.</summary>
internal sealed record FeedAudit(long TierEntries, long TierChanges, long TierEntriesWithoutOneChange, long Completions, long GoalChanges,
    long CompletionsWithoutOneChange, long MissingNumbers);

/// <summary>Reads of a tenant's change feed, and its retention (<c>changes.keep_days</c>).</summary>
internal sealed class ChangeStore(NpgsqlDataSource dataSource)
{
    public async Task<FeedHead> HeadAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT last_seq, pruned_seq FROM change_heads WHERE tenant_id = $1");
        cmd.Parameters.Add(new() { Value = tenantId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new FeedHead(reader.GetInt64(0), reader.GetInt64(1)) : new FeedHead(0, 0);
    }

    /// <summary>Up to <paramref name="limit"/> changes after <paramref name="afterSeq"/>, oldest first, of the given kinds (all when null).</summary>
    public async Task<List<StoredChange>> ReadAsync(string tenantId, long afterSeq, int limit, string[]? kinds, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand($"""
            SELECT seq, kind, user_id, at, recorded_at, data::text FROM changes
             WHERE tenant_id = $1 AND seq > $2 {(kinds is null ? "" : "AND kind = ANY($4)")}
             ORDER BY seq LIMIT $3
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = afterSeq });
        cmd.Parameters.Add(new() { Value = (long)limit });
        if (kinds is not null) cmd.Parameters.Add(new() { Value = kinds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var changes = new List<StoredChange>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            changes.Add(new StoredChange(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5)));
        return changes;
    }

    /// <summary>
    /// Removes the tenant's changes recorded before <paramref name="before"/>, but none that an active webhook has not
    /// delivered yet (a retention of at least <c>keep_days</c>, longer for a lagging webhook); remembers the last removed
    /// so older cursors answer 410. Returns how many were removed. The cost is the rows removed (an index range).
    /// </summary>
    public async Task<long> PruneAsync(string tenantId, DateTimeOffset before, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            WITH bound AS (
                -- LEAST skips nulls: with nothing old enough the bound must be 0, not the webhooks' cursor (or everything).
                SELECT LEAST(
                    COALESCE((SELECT max(seq) FROM changes WHERE tenant_id = $1 AND recorded_at < $2), 0),
                    COALESCE((SELECT min(cursor_seq) FROM webhooks WHERE tenant_id = $1 AND state = 'active'), 9223372036854775807)) AS seq),
            removed AS (
                -- A prefix of the feed (numbers follow commit order, and so does recorded_at), by primary key range.
                DELETE FROM changes c USING bound WHERE c.tenant_id = $1 AND c.seq <= bound.seq
                RETURNING c.seq),
            marked AS (
                UPDATE change_heads SET pruned_seq = GREATEST(pruned_seq, (SELECT max(seq) FROM removed))
                 WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM removed) RETURNING 1)
            SELECT count(*) FROM removed
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = before.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Changes kept in every tenant's feed (numbers have no gap, so each head's last minus pruned number).</summary>
    public async Task<long> KeptAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT COALESCE(sum(last_seq - pruned_seq), 0)::bigint FROM change_heads");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Tenants whose feed holds changes (the ones a prune run visits).</summary>
    public async Task<List<string>> TenantsWithChangesAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT tenant_id FROM change_heads WHERE last_seq > pruned_seq ORDER BY tenant_id");
        var tenants = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) tenants.Add(reader.GetString(0));
        return tenants;
    }

    /// <summary>Matches the feed against <c>tier_checkpoints</c> and <c>goal_completions</c> (see <see cref="FeedAudit"/>).</summary>
    public async Task<FeedAudit> AuditAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT (SELECT count(*) FROM tier_checkpoints WHERE tenant_id = $1),
                   (SELECT count(*) FROM changes WHERE tenant_id = $1 AND kind = 'tier_changed'),
                   (SELECT count(*) FROM tier_checkpoints t WHERE t.tenant_id = $1 AND 1 <> (
                        SELECT count(*) FROM changes c WHERE c.tenant_id = t.tenant_id AND c.kind = 'tier_changed' AND c.user_id = t.user_id
                           AND c.data->>'reason' = t.reason AND c.data->>'to' = t.to_tier AND (c.data->>'at')::timestamptz = t.at
                           AND (c.data->>'window_start')::timestamptz = t.window_start)),
                   (SELECT count(*) FROM goal_completions WHERE tenant_id = $1),
                   (SELECT count(*) FROM changes WHERE tenant_id = $1 AND kind = 'goal_completed'),
                   (SELECT count(*) FROM goal_completions g WHERE g.tenant_id = $1 AND 1 <> (
                        SELECT count(*) FROM changes c WHERE c.tenant_id = g.tenant_id AND c.kind = 'goal_completed' AND c.user_id = g.user_id
                           AND c.data->>'goal' = g.goal AND (c.data->>'level')::int = g.level AND c.data->>'window_key' = g.window_key)),
                   (SELECT COALESCE(max(seq) - min(seq) + 1 - count(*), 0) FROM changes WHERE tenant_id = $1)
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new FeedAudit(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
    }
}
