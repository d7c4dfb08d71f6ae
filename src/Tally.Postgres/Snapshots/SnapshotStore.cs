using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Snapshots;

/// <summary>
/// Writes and reads the snapshot tables. Every write is one COPY into a temp table and one
/// set-based upsert in one transaction, never a statement per row.
/// </summary>
public sealed class SnapshotStore(NpgsqlDataSource dataSource, ReadDataSource? reads = null)
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

    /// <summary>
    /// Brings <c>user_daily_stats</c> up to date for every (tenant, user, day, action) that has events received in
    /// [<paramref name="since"/>, <paramref name="until"/>), in one statement. A row remembers the last event it includes
    /// (<c>through_event_id</c>); a user's event ids grow in commit order (decision 006), so the row's newer events are
    /// exactly those it lacks, and a run adds only them: it costs what arrived, not the user's whole day. Re-running a
    /// window adds nothing twice. A row without a mark (written before migration 0023) or older than the user's removal is
    /// recomputed from the log; events of a removed user up to the removal do not count (decision 012). Each group is
    /// read by the user index within its month's partition (the lateral subquery, kept apart by OFFSET 0, runs once per
    /// group and prunes partitions by its day): the planner cannot turn it into one hash join over the whole log, which it
    /// would on small or unanalysed tables.
    /// </summary>
    /// <returns>The rows written, and the (tenant, action) pairs among them (action ids number them, tally compat).</returns>
    public async Task<(long Rows, List<(string TenantId, string Action)> Actions)> RefreshUserDailyStatsAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            WITH touched AS (
                SELECT DISTINCT tenant_id, user_id, action_date, action FROM user_action_events WHERE received_at >= $1 AND received_at < $2),
            marked AS (
                SELECT t.tenant_id, t.user_id, t.action_date, t.action, d.events, d.sums, d.through_event_id,
                       COALESCE(x.through_event_id, 0) AS erased_through
                  FROM touched t LEFT JOIN user_daily_stats d USING (tenant_id, user_id, action_date, action)
                  LEFT JOIN user_erasures x ON x.tenant_id = t.tenant_id AND x.user_id = t.user_id),
            groups AS (
                -- Adds to the row when its mark is known and past any removal; otherwise starts again after the removal.
                SELECT tenant_id, user_id, action_date, action, kept,
                       CASE WHEN kept THEN through_event_id ELSE erased_through END AS after_id,
                       CASE WHEN kept THEN events ELSE 0 END AS base_events,
                       CASE WHEN kept THEN sums ELSE '{}'::jsonb END AS base_sums
                  FROM (SELECT *, COALESCE(through_event_id > erased_through, false) AS kept FROM marked) m),
            events AS (
                SELECT g.tenant_id, g.user_id, g.action_date, g.action, e.event_id, e.measures
                  FROM groups g
                  CROSS JOIN LATERAL (
                      SELECT event_id, measures FROM user_action_events e
                       WHERE e.tenant_id = g.tenant_id AND e.user_id = g.user_id AND e.action_date = g.action_date AND e.action = g.action
                         AND e.event_id > g.after_id
                      OFFSET 0) e),
            counts AS (
                SELECT tenant_id, user_id, action_date, action, count(*) AS events, max(event_id) AS through_event_id FROM events GROUP BY 1, 2, 3, 4),
            sums AS (
                SELECT tenant_id, user_id, action_date, action, jsonb_object_agg(name, total) AS sums
                  FROM (SELECT tenant_id, user_id, action_date, action, name, sum(value) AS total
                          FROM (SELECT tenant_id, user_id, action_date, action, m.key AS name, m.value::text::numeric AS value
                                  FROM events, jsonb_each(measures) m
                                UNION ALL
                                SELECT g.tenant_id, g.user_id, g.action_date, g.action, b.key, b.value::text::numeric
                                  FROM groups g JOIN counts c USING (tenant_id, user_id, action_date, action), jsonb_each(g.base_sums) b) v
                         GROUP BY 1, 2, 3, 4, 5) s
                 GROUP BY 1, 2, 3, 4)
            , written AS (
            INSERT INTO user_daily_stats (tenant_id, user_id, action_date, action, events, sums, through_event_id)
            SELECT c.tenant_id, c.user_id, c.action_date, c.action, g.base_events + c.events, COALESCE(s.sums, '{}'::jsonb), c.through_event_id
              FROM counts c JOIN groups g USING (tenant_id, user_id, action_date, action)
              LEFT JOIN sums s USING (tenant_id, user_id, action_date, action)
            ON CONFLICT (tenant_id, user_id, action_date, action) DO UPDATE
               SET events = excluded.events, sums = excluded.sums, through_event_id = excluded.through_event_id
            RETURNING tenant_id, action)
            SELECT tenant_id, action, count(*) FROM written GROUP BY 1, 2
            """);
        cmd.Parameters.Add(new() { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.CommandTimeout = JobCommandTimeoutSeconds;
        long rows = 0;
        var actions = new List<(string, string)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            actions.Add((reader.GetString(0), reader.GetString(1)));
            rows += reader.GetInt64(2);
        }
        return (rows, actions);
    }

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

    /// <summary>A background runner's last run: row <c>run:NAME</c> of <c>tally_jobs</c>, its duration and the work it found
    /// (users, rows; 0 for an idle run) in <c>detail</c>.</summary>
    public async Task RecordRunAsync(string runner, TimeSpan elapsed, long work, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO tally_jobs (job, finished_at, rows, detail) VALUES ($1, now(), 0, jsonb_build_object('duration_ms', $2::float8, 'work', $3::bigint))
            ON CONFLICT (job) DO UPDATE SET finished_at = now(), detail = excluded.detail
            """);
        cmd.Parameters.Add(new() { Value = "run:" + runner });
        cmd.Parameters.Add(new() { Value = elapsed.TotalMilliseconds });
        cmd.Parameters.Add(new() { Value = work });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task RecordJobAsync(string job, long rows, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO tally_jobs (job, finished_at, rows) VALUES ($1, now(), $2)
            ON CONFLICT (job) DO UPDATE SET finished_at = now(), rows = excluded.rows
            """);
        cmd.Parameters.Add(new() { Value = job });
        cmd.Parameters.Add(new() { Value = rows });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Each job's seconds since it last finished, by the database clock.</summary>
    public async Task<List<(string Job, double AgeSeconds, long Rows)>> ReadJobAgesAsync(CancellationToken ct)
    {
        var rows = new List<(string, double, long)>();
        await using var cmd = dataSource.CreateCommand(
            "SELECT job, EXTRACT(EPOCH FROM now() - finished_at)::float8, rows FROM tally_jobs WHERE finished_at IS NOT NULL ORDER BY job");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), reader.GetDouble(1), reader.GetInt64(2)));
        return rows;
    }

    /// <summary>A closed board's page from its last snapshot, with its member count (0 and empty if never snapshotted).</summary>
    public Task<(long Members, List<(int Rank, string UserId, decimal Score)> Entries)> ReadLeaderboardAsync(
        string tenantId, string measure, string scope, string period, string periodKey, int offset, int limit, CancellationToken ct) =>
        Read(db => ReadLeaderboardAsync(db, tenantId, measure, scope, period, periodKey, offset, limit, ct), ct);

    // Closed boards and rollups change only by their last snapshot: a replica's lag does not matter to these reads.
    private Task<T> Read<T>(Func<NpgsqlDataSource, Task<T>> read, CancellationToken ct) => reads is null ? read(dataSource) : reads.ReadAsync(read, ct);

    private static async Task<(long Members, List<(int Rank, string UserId, decimal Score)> Entries)> ReadLeaderboardAsync(NpgsqlDataSource dataSource,
        string tenantId, string measure, string scope, string period, string periodKey, int offset, int limit, CancellationToken ct)
    {
        var entries = new List<(int, string, decimal)>();
        long members = 0;
        await using var cmd = dataSource.CreateCommand("""
            SELECT rank, user_id, score, members FROM leaderboard_snapshots
             WHERE tenant_id = $1 AND measure = $2 AND scope = $3 AND period = $4 AND period_key = $5 AND rank > $6
             ORDER BY rank LIMIT $7
            """);
        foreach (var v in new object[] { tenantId, measure, scope, period, periodKey, offset, limit }) cmd.Parameters.Add(new() { Value = v });
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                entries.Add((reader.GetInt32(0), reader.GetString(1), reader.GetDecimal(2)));
                members = reader.GetInt64(3);
            }
        if (entries.Count == 0)
        {
            await using var count = dataSource.CreateCommand("""
                SELECT members FROM leaderboard_snapshots
                 WHERE tenant_id = $1 AND measure = $2 AND scope = $3 AND period = $4 AND period_key = $5 AND rank = 1
                """);
            foreach (var v in new object[] { tenantId, measure, scope, period, periodKey }) count.Parameters.Add(new() { Value = v });
            members = await count.ExecuteScalarAsync(ct) is long m ? m : 0;
        }
        return (members, entries);
    }

    /// <summary>A user's row in a closed board's snapshot, if the user made the snapshot's top N.</summary>
    public Task<int?> ReadSnapshotRankAsync(string tenantId, string measure, string scope, string period, string periodKey, string userId, CancellationToken ct) =>
        Read(db => ReadSnapshotRankAsync(db, tenantId, measure, scope, period, periodKey, userId, ct), ct);

    private static async Task<int?> ReadSnapshotRankAsync(NpgsqlDataSource dataSource, string tenantId, string measure, string scope, string period, string periodKey,
        string userId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT rank FROM leaderboard_snapshots
             WHERE tenant_id = $1 AND measure = $2 AND scope = $3 AND period = $4 AND period_key = $5 AND user_id = $6
            """);
        foreach (var v in new object[] { tenantId, measure, scope, period, periodKey, userId }) cmd.Parameters.Add(new() { Value = v });
        return await cmd.ExecuteScalarAsync(ct) is int rank ? rank : null;
    }

    public Task<(decimal Total, long Users, long Actions, DateTimeOffset ComputedAt)?> ReadRollupAsync(string tenantId, string rollupKey, string measure, CancellationToken ct) =>
        Read(db => ReadRollupAsync(db, tenantId, rollupKey, measure, ct), ct);

    private static async Task<(decimal Total, long Users, long Actions, DateTimeOffset ComputedAt)?> ReadRollupAsync(NpgsqlDataSource dataSource,
        string tenantId, string rollupKey, string measure, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            "SELECT total, users, actions, computed_at FROM global_stats_rollup WHERE tenant_id = $1 AND rollup_key = $2 AND measure = $3");
        foreach (var v in new object[] { tenantId, rollupKey, measure }) cmd.Parameters.Add(new() { Value = v });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return (reader.GetDecimal(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3));
    }

    // A job's statements may run long after a restart (every board is rewritten once); the job's own
    // cancellation bounds them, not the 30 s command timeout, which would make the job start over forever.
    private const int JobCommandTimeoutSeconds = 600;

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
