using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.UserState;

/// <summary>
/// Removes a user from everything derived from the log, in one transaction: records the erasure
/// (events up to <c>through_event_id</c> no longer count), saves the user's emptied state, and deletes
/// the user's summary, daily stats, tier history and goal completions. The log itself is kept (decision 012).
/// </summary>
internal sealed class UserErasureStore(NpgsqlDataSource dataSource)
{
    private const string Erase = """
        WITH fence AS (
            SELECT 1 FROM user_epochs WHERE tenant_id = $1 AND user_id = $2 AND epoch = $3 FOR UPDATE),
        erasure AS (
            INSERT INTO user_erasures (tenant_id, user_id, through_event_id)
            SELECT $1, $2, $4 FROM fence
            ON CONFLICT (tenant_id, user_id) DO UPDATE SET through_event_id = GREATEST(user_erasures.through_event_id, excluded.through_event_id), erased_at = now()
            RETURNING 1),
        state AS (
            INSERT INTO user_state AS s (tenant_id, user_id, shard, last_event_id, stats, checkpoint_due_at)
            SELECT $1, $2, $5, $4, $6, NULL FROM fence
            ON CONFLICT (tenant_id, user_id) DO UPDATE
               SET shard = excluded.shard, last_event_id = excluded.last_event_id, stats = excluded.stats, checkpoint_due_at = NULL, saved_at = now()
             WHERE s.last_event_id <= excluded.last_event_id
            RETURNING 1),
        summary AS (DELETE FROM user_stats_summary WHERE tenant_id = $1 AND user_id = $2 AND EXISTS (SELECT 1 FROM fence) RETURNING 1),
        daily AS (DELETE FROM user_daily_stats WHERE tenant_id = $1 AND user_id = $2 AND EXISTS (SELECT 1 FROM fence) RETURNING 1),
        tiers AS (DELETE FROM tier_checkpoints WHERE tenant_id = $1 AND user_id = $2 AND EXISTS (SELECT 1 FROM fence) RETURNING 1),
        goals AS (DELETE FROM goal_completions WHERE tenant_id = $1 AND user_id = $2 AND EXISTS (SELECT 1 FROM fence) RETURNING 1)
        SELECT (SELECT count(*) FROM fence), (SELECT count(*) FROM summary) + (SELECT count(*) FROM daily) + (SELECT count(*) FROM tiers)
             + (SELECT count(*) FROM goals),
               -- The feed announces the removal in the same transaction (only when it happened: the fence held).
               (SELECT tally_append_changes(ARRAY[$1], ARRAY['user_removed'], ARRAY[$2], ARRAY[$7::timestamptz], ARRAY[$8::json]) FROM fence)
        """;

    /// <summary>Erases the user's derived data and records a <c>user_removed</c> change dated <paramref name="at"/>; false if
    /// the activation of <paramref name="epoch"/> was superseded (nothing changed).</summary>
    public async Task<bool> EraseAsync(string tenantId, string userId, long epoch, int shard, long throughEventId, byte[] emptyState,
        DateTimeOffset at, TimeZoneInfo zone, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(Erase);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = userId });
        cmd.Parameters.Add(new() { Value = epoch });
        cmd.Parameters.Add(new() { Value = throughEventId });
        cmd.Parameters.Add(new() { Value = shard });
        cmd.Parameters.Add(new() { Value = emptyState, NpgsqlDbType = NpgsqlDbType.Bytea });
        cmd.Parameters.Add(new() { Value = at.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = Changes.ChangeData.OfRemoval(at, zone), NpgsqlDbType = NpgsqlDbType.Json });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return reader.GetInt64(0) == 1;
    }
}
