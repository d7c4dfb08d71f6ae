using System.Text.RegularExpressions;
using Npgsql;
using Tally.Domain.Config;

namespace Tally.Postgres.Compat;

/// <summary>
/// The climate seed's tables as views over one tenant's Tally data, in a schema of their own: an application
/// that still reads <c>user_stats_summary</c>, <c>leaderboards</c> or <c>user_actions</c> keeps working with
/// its search path set to that schema. Views, not copies: they read the snapshot tables and the log as they are.
/// Column lists are in docs/profiles.md.
/// </summary>
internal static partial class CompatibilityViews
{
    /// <summary>The seed's production names first, then each one's previous and legacy names (same columns).</summary>
    public static readonly IReadOnlyList<(string View, string Of)> Names =
    [
        ("user_stats_summary", "user_stats_summary"), ("global_stats_rollup", "global_stats_rollup"),
        ("leaderboard_snapshots", "leaderboard_snapshots"), ("user_action_events", "user_action_events"),
        ("user_statistics", "user_stats_summary"), ("user_stats", "user_stats_summary"),
        ("global_statistics", "global_stats_rollup"), ("global_emissions", "global_stats_rollup"),
        ("leaderboards", "leaderboard_snapshots"),
        ("user_actions", "user_action_events"), ("user_action_logs", "user_action_events"),
    ];

    private static readonly Dictionary<string, string> Columns = new(StringComparer.Ordinal)
    {
        ["user_stats_summary"] = "user_id, total_co2_saved_kg, total_actions, current_month_co2, current_year_co2, streak_days, last_action_date, rank_global, rank_country, updated_at",
        ["global_stats_rollup"] = "rollup_key, total_users, total_co2_saved_kg, total_actions, computed_at",
        // The previous and legacy global tables held one row: the all-time global figures.
        ["global_single_row"] = "1 AS id, total_users, total_co2_saved_kg, total_actions, computed_at AS updated_at",
        ["leaderboard_snapshots"] = "scope, scope_value, period, user_id, rank, co2_saved_kg, snapshot_time",
        ["user_action_events"] = "event_id, user_id, action_id, quantity, co2_saved_kg, event_timestamp, action_date, idempotency_key",
    };

    /// <summary>A schema name the views may go in: a plain lower-case identifier, not one PostgreSQL or Tally itself uses.</summary>
    public static string? SchemaError(string schema) =>
        !SchemaRegex().IsMatch(schema) ? "--schema must be 1-63 chars of [a-z0-9_], starting with a letter or '_'."
        : schema is "public" or "information_schema" || schema.StartsWith("pg_", StringComparison.Ordinal)
            ? $"--schema cannot be '{schema}': the views carry the names of Tally's own tables; use a schema of their own (e.g. climate_compat)."
            : null;

    /// <summary>
    /// Creates (or re-creates, in one transaction) every view in <paramref name="schema"/> for
    /// <paramref name="tenantId"/>, with <paramref name="measure"/> as the seed's <c>co2_saved_kg</c>, and grants
    /// read access to <paramref name="grantTo"/> when given. For a tenant with checkpoints, <paramref name="checkpointMeasures"/>
    /// names its declared measures and <c>loyalty_members</c> is created too (API.md, Loyalty state in SQL). Returns the
    /// names created.
    /// </summary>
    public static async Task<IReadOnlyList<string>> CreateAsync(
        NpgsqlDataSource db, string tenantId, TenantConfig config, string schema, string measure, string? grantTo, CancellationToken ct)
    {
        var checkpointMeasures = config.Checkpoint is null ? null : config.Measures.Keys.ToArray();
        if (SchemaError(schema) is { } error) throw new ArgumentException(error, nameof(schema));
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var tables = await TallySchemaAsync(conn, tx, ct);
        var s = Identifier(schema);
        var t = Literal(tenantId);
        var m = Literal(measure);
        var sql = new List<string> { $"CREATE SCHEMA IF NOT EXISTS {s}" };
        for (var i = Names.Count - 1; i >= 0; i--) sql.Add($"DROP VIEW IF EXISTS {s}.{Names[i].View}");
        sql.Add($"DROP VIEW IF EXISTS {s}.loyalty_members");
        sql.Add($"DROP VIEW IF EXISTS {s}.actions");
        sql.Add($"DROP VIEW IF EXISTS {s}.events_log");
        sql.Add($"DROP VIEW IF EXISTS {s}.user_daily_stats");
        var created = Names.Select(n => n.View).ToList();
        sql.Add(DailyStatsView(s, tables, t, config));
        created.Add("user_daily_stats");
        if (checkpointMeasures is not null)
        {
            // The grain saves its checkpoint state with the stats (user_state.checkpoint): within its save interval of
            // every event and of every decision the scheduler takes.
            var sums = string.Concat(checkpointMeasures.Select(m =>
                $",\n       coalesce((u.checkpoint -> 'window' ->> {Literal(m)})::numeric, 0) AS {Identifier($"checkpoint_{m}_current")}"));
            sql.Add($"""
                CREATE VIEW {s}.loyalty_members AS
                SELECT u.user_id, u.checkpoint ->> 'tier' AS current_tier,
                       (u.checkpoint ->> 'tier_achieved_at')::timestamptz AS tier_achieved_at,
                       (u.checkpoint ->> 'next_checkpoint_at')::timestamptz AS next_checkpoint_at{sums},
                       u.saved_at AS updated_at
                  FROM {tables}.user_state u
                 WHERE u.tenant_id = {t} AND u.checkpoint IS NOT NULL
                """);
            sql.Add($"COMMENT ON VIEW {s}.loyalty_members IS {Literal($"Tally loyalty members of tenant {tenantId}: each member's current tier and window; re-created by tally compat.")}");
            created.Add("loyalty_members");
        }
        sql.Add($"""
            CREATE VIEW {s}.user_stats_summary AS
            SELECT u.user_id, u.total AS total_co2_saved_kg, u.actions::integer AS total_actions, u.month_total AS current_month_co2,
                   u.year_total AS current_year_co2, coalesce(u.streak_current, 0) AS streak_days, u.last_action_date,
                   u.global_rank::integer AS rank_global, (u.scope_ranks -> 'country' ->> 'all_time')::integer AS rank_country, u.updated_at
              FROM {tables}.user_stats_summary u
             WHERE u.tenant_id = {t} AND u.measure = {m}
            """);
        sql.Add($"""
            CREATE VIEW {s}.global_stats_rollup AS
            SELECT r.rollup_key, r.users::integer AS total_users, r.total AS total_co2_saved_kg, r.actions::integer AS total_actions, r.computed_at
              FROM {tables}.global_stats_rollup r
             WHERE r.tenant_id = {t} AND r.measure = {m}
            """);
        // Each board's latest snapshotted period (keys sort as text: 2025, 2025-11, 2025-W47, 2025-11-22).
        sql.Add($"""
            CREATE VIEW {s}.leaderboard_snapshots AS
            SELECT CASE split_part(l.scope, ':', 1) WHEN 'org' THEN 'organization' ELSE split_part(l.scope, ':', 1) END AS scope,
                   nullif(split_part(l.scope, ':', 2), '') AS scope_value,
                   CASE l.period WHEN 'year' THEN 'yearly' WHEN 'month' THEN 'monthly' WHEN 'week' THEN 'weekly'
                                 WHEN 'day' THEN 'daily' ELSE l.period END AS period,
                   l.user_id, l.rank, l.score AS co2_saved_kg, l.taken_at AS snapshot_time
              FROM {tables}.leaderboard_snapshots l
             WHERE l.tenant_id = {t} AND l.measure = {m}
               AND l.period_key = (SELECT max(x.period_key) FROM {tables}.leaderboard_snapshots x
                                    WHERE x.tenant_id = l.tenant_id AND x.measure = l.measure AND x.scope = l.scope AND x.period = l.period)
            """);
        sql.Add($"""
            CREATE VIEW {s}.user_action_events AS
            SELECT e.event_id, e.user_id, a.action_id,
                   CASE WHEN jsonb_typeof(e.payload -> 'quantity') = 'number' THEN (e.payload ->> 'quantity')::numeric ELSE 1 END AS quantity,
                   (e.measures ->> {m})::numeric AS co2_saved_kg, e.event_timestamp, e.action_date, e.idempotency_key
              FROM {tables}.user_action_events e
              LEFT JOIN {tables}.tenant_actions a ON a.tenant_id = e.tenant_id AND a.action = e.action
             WHERE e.tenant_id = {t}
            """);
        // The raw-event seed's table: one row per event collected by /v1/collect (its payload has the raw event and the
        // address and agent it came from) and still held; processed_at is when its continuous-export batch was verified.
        sql.Add($$"""
            CREATE VIEW {{s}}.events_log AS
            SELECT e.event_id AS id,
                   CASE WHEN e.idempotency_key ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN e.idempotency_key::uuid END AS event_id,
                   e.action AS event_type, e.payload ->> 'session_id' AS session_id, e.payload ->> 'visitor_id' AS visitor_id,
                   e.payload ->> 'site_id' AS site_id, e.event_timestamp AS "timestamp", e.payload ->> 'url' AS url, e.payload ->> 'path' AS path,
                   e.payload ->> 'user_agent' AS user_agent,
                   CASE WHEN e.payload ->> 'ip_address' ~ '^[0-9a-fA-F:.]+$' THEN (e.payload ->> 'ip_address')::inet END AS ip_address,
                   e.payload AS raw_event_data, e.received_at AS created_at,
                   (SELECT b.exported_at FROM {{tables}}.export_batches b
                     WHERE b.tenant_id = e.tenant_id AND b.exported_at IS NOT NULL AND e.received_at >= b.received_from AND e.received_at < b.received_until
                       AND e.event_id BETWEEN b.first_event_id AND b.last_event_id) AS processed_at
              FROM {{tables}}.user_action_events e
             WHERE e.tenant_id = {{t}} AND e.payload ? 'ip_address' AND e.payload ? 'user_agent'
               AND (e.payload ? 'event_type' OR e.payload ? 'eventType')
            """);
        created.Add("events_log");
        sql.Add($"""
            CREATE VIEW {s}.actions AS
            SELECT a.action_id AS id, a.action AS name, a.first_seen AS created_at FROM {tables}.tenant_actions a WHERE a.tenant_id = {t}
            """);
        created.Add("actions");
        foreach (var (view, of) in Names.Where(n => n.View != n.Of))
            sql.Add(of == "global_stats_rollup"
                ? $"CREATE VIEW {s}.{view} AS SELECT {Columns["global_single_row"]} FROM {s}.{of} WHERE rollup_key = 'global_all_time'"
                : $"CREATE VIEW {s}.{view} AS SELECT {Columns[of]} FROM {s}.{of}");
        foreach (var (view, _) in Names)
            sql.Add($"COMMENT ON VIEW {s}.{view} IS {Literal($"Tally compatibility view for tenant {tenantId} (measure {measure}); re-created by tally compat.")}");
        if (grantTo is not null)
        {
            sql.Add($"GRANT USAGE ON SCHEMA {s} TO {Identifier(grantTo)}");
            sql.Add($"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {Identifier(grantTo)}");
        }
        foreach (var statement in sql)
        {
            await using var cmd = new NpgsqlCommand(statement, conn, tx);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return created;
    }

    /// <summary>
    /// Per user, day and action (the learning seed's daily summaries): the events, each declared measure's sum as a column
    /// (<c>sum_</c> before a name the view's own columns take), and <c>daily_{ratio}</c> for each declared ratio (null where
    /// the denominator's sum is 0, as in stats).
    /// </summary>
    private static string DailyStatsView(string s, string tables, string t, TenantConfig config)
    {
        string[] own = ["user_id", "action_date", "action", "events", "updated_through_event"];
        string Column(string measure) => Identifier(own.Contains(measure) ? "sum_" + measure : measure);
        string Sum(string measure) => $"coalesce((d.sums ->> {Literal(measure)})::numeric, 0)";
        var columns = string.Concat(config.Measures.Keys.Select(m => $",\n       {Sum(m)} AS {Column(m)}"));
        columns += string.Concat((config.Ratios ?? []).Select(r =>
            $",\n       {Sum(r.Value.Numerator)} / nullif({Sum(r.Value.Denominator)}, 0) AS {Identifier("daily_" + r.Key)}"));
        return $"""
            CREATE VIEW {s}.user_daily_stats AS
            SELECT d.user_id, d.action_date, d.action, d.events{columns}
              FROM {tables}.user_daily_stats d
             WHERE d.tenant_id = {t}
            """;
    }

    /// <summary>The schema holding Tally's tables (the views name it, so they do not depend on a search path).</summary>
    private static async Task<string> TallySchemaAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('user_action_events')", conn, tx);
        return await cmd.ExecuteScalarAsync(ct) is string name
            ? Identifier(name)
            : throw new InvalidOperationException("Tally's tables are not in this database (user_action_events is missing): run tally migrate first.");
    }

    private static string Identifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaRegex();
}
