using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Snapshots;

/// <summary>
/// Writes the snapshot tables (leaderboard pages, rollups, user summaries). Every write is one COPY into a temp table
/// and one set-based upsert in one transaction, never a statement per row.
/// </summary>
internal sealed class SnapshotWriter(NpgsqlDataSource dataSource)
{
    /// <summary>Replaces the snapshots of the given boards: new ranks upserted, ranks past the new size deleted.</summary>
    public async Task<long> WriteLeaderboardsAsync(string tenantId, IReadOnlyList<LeaderboardSnapshotRow> rows, IReadOnlyList<(string Measure, string Scope, string Period, string PeriodKey, int Count)> boards, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await Exec(conn, tx, """
            CREATE TEMP TABLE IF NOT EXISTS lb_stage (measure text, scope text, period text, period_key text, rank integer,
                user_id text, score numeric, members bigint) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS lb_boards (measure text, scope text, period text, period_key text, n integer) ON COMMIT DELETE ROWS
            """, ct);
        await CopyAsync(conn, "lb_stage", rows, async (copy, r) =>
        {
            await copy.WriteAsync(r.Measure, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Scope, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Period, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.PeriodKey, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Rank, NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(r.UserId, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Score, NpgsqlDbType.Numeric, ct);
            await copy.WriteAsync(r.Members, NpgsqlDbType.Bigint, ct);
        }, ct);
        await CopyAsync(conn, "lb_boards", boards, async (copy, b) =>
        {
            await copy.WriteAsync(b.Measure, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(b.Scope, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(b.Period, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(b.PeriodKey, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(b.Count, NpgsqlDbType.Integer, ct);
        }, ct);
        await ExecForTenant(conn, tx, tenantId, """
            DELETE FROM leaderboard_snapshots l USING lb_boards b
             WHERE l.tenant_id = @tenant AND l.measure = b.measure AND l.scope = b.scope AND l.period = b.period
               AND l.period_key = b.period_key AND l.rank > b.n;
            INSERT INTO leaderboard_snapshots (tenant_id, measure, scope, period, period_key, rank, user_id, score, members, taken_at)
            SELECT @tenant, measure, scope, period, period_key, rank, user_id, score, members, now() FROM lb_stage
            ON CONFLICT (tenant_id, measure, scope, period, period_key, rank) DO UPDATE
               SET user_id = excluded.user_id, score = excluded.score, members = excluded.members, taken_at = excluded.taken_at
             WHERE (leaderboard_snapshots.user_id, leaderboard_snapshots.score, leaderboard_snapshots.members)
                   IS DISTINCT FROM (excluded.user_id, excluded.score, excluded.members)
            """, ct);
        await tx.CommitAsync(ct);
        return rows.Count;
    }

    public async Task<long> WriteRollupsAsync(string tenantId, IReadOnlyList<RollupSnapshotRow> rows, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await Exec(conn, tx, """
            CREATE TEMP TABLE IF NOT EXISTS rollup_stage (rollup_key text, measure text, scope text, period text, period_key text,
                total numeric, users bigint, actions bigint) ON COMMIT DELETE ROWS
            """, ct);
        await CopyAsync(conn, "rollup_stage", rows, async (copy, r) =>
        {
            await copy.WriteAsync(r.RollupKey, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Measure, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Scope, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Period, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.PeriodKey, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Total, NpgsqlDbType.Numeric, ct);
            await copy.WriteAsync(r.Users, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(r.Actions, NpgsqlDbType.Bigint, ct);
        }, ct);
        await ExecForTenant(conn, tx, tenantId, """
            INSERT INTO global_stats_rollup (tenant_id, rollup_key, measure, scope, period, period_key, total, users, actions, computed_at)
            SELECT @tenant, rollup_key, measure, scope, period, period_key, total, users, actions, now() FROM rollup_stage
            ON CONFLICT (tenant_id, rollup_key, measure) DO UPDATE
               SET total = excluded.total, users = excluded.users, actions = excluded.actions, computed_at = excluded.computed_at
            """, ct);
        await tx.CommitAsync(ct);
        return rows.Count;
    }

    public async Task<long> WriteUserSummariesAsync(string tenantId, IReadOnlyList<UserSummaryRow> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return 0;
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await Exec(conn, tx, """
            CREATE TEMP TABLE IF NOT EXISTS summary_stage (user_id text, measure text, total numeric, actions bigint, year_total numeric,
                month_total numeric, week_total numeric, day_total numeric, global_rank bigint, scope_ranks jsonb, last_action_date date,
                streak_current integer, streak_longest integer)
                ON COMMIT DELETE ROWS
            """, ct);
        await CopyAsync(conn, "summary_stage", rows, async (copy, r) =>
        {
            await copy.WriteAsync(r.UserId, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Measure, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(r.Total, NpgsqlDbType.Numeric, ct);
            await copy.WriteAsync(r.Actions, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(r.Year, NpgsqlDbType.Numeric, ct);
            await copy.WriteAsync(r.Month, NpgsqlDbType.Numeric, ct);
            await copy.WriteAsync(r.Week, NpgsqlDbType.Numeric, ct);
            await copy.WriteAsync(r.Day, NpgsqlDbType.Numeric, ct);
            if (r.GlobalRank is { } rank) await copy.WriteAsync(rank, NpgsqlDbType.Bigint, ct); else await copy.WriteNullAsync(ct);
            if (r.ScopeRanksJson is { } json) await copy.WriteAsync(json, NpgsqlDbType.Jsonb, ct); else await copy.WriteNullAsync(ct);
            if (r.LastActionDate is { } day) await copy.WriteAsync(day, NpgsqlDbType.Date, ct); else await copy.WriteNullAsync(ct);
            await copy.WriteAsync(r.CurrentStreak, NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(r.LongestStreak, NpgsqlDbType.Integer, ct);
        }, ct);
        await ExecForTenant(conn, tx, tenantId, """
            INSERT INTO user_stats_summary (tenant_id, user_id, measure, total, actions, year_total, month_total, week_total, day_total,
                                            global_rank, scope_ranks, last_action_date, streak_current, streak_longest, updated_at)
            SELECT @tenant, user_id, measure, total, actions, year_total, month_total, week_total, day_total,
                   global_rank, scope_ranks, last_action_date, streak_current, streak_longest, now() FROM summary_stage
            ON CONFLICT (tenant_id, user_id, measure) DO UPDATE
               SET total = excluded.total, actions = excluded.actions, year_total = excluded.year_total,
                   month_total = excluded.month_total, week_total = excluded.week_total, day_total = excluded.day_total,
                   global_rank = excluded.global_rank, scope_ranks = excluded.scope_ranks,
                   last_action_date = excluded.last_action_date, streak_current = excluded.streak_current,
                   streak_longest = excluded.streak_longest, updated_at = excluded.updated_at
            """, ct);
        await tx.CommitAsync(ct);
        return rows.Count;
    }

    // A job's statements may run long after a restart (every board is rewritten once); the job's own
    // cancellation bounds them, not the 30 s command timeout, which would make the job start over forever.
    internal const int JobCommandTimeoutSeconds = 600;

    private static async Task Exec(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx) { CommandTimeout = JobCommandTimeoutSeconds };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Runs a statement whose one parameter is <c>@tenant</c>.</summary>
    private static async Task ExecForTenant(NpgsqlConnection conn, NpgsqlTransaction tx, string tenantId, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx) { CommandTimeout = JobCommandTimeoutSeconds };
        cmd.Parameters.AddWithValue("tenant", tenantId);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Streams rows into a staging table with one binary COPY.</summary>
    private static async Task CopyAsync<T>(NpgsqlConnection conn, string table, IEnumerable<T> rows,
        Func<NpgsqlBinaryImporter, T, Task> writeRow, CancellationToken ct)
    {
        await using var copy = await conn.BeginBinaryImportAsync($"COPY {table} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var row in rows)
        {
            await copy.StartRowAsync(ct);
            await writeRow(copy, row);
        }
        await copy.CompleteAsync(ct);
    }
}
