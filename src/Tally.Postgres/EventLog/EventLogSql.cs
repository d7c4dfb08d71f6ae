namespace Tally.Postgres.EventLog;

internal static class EventLogSql
{
    // One round trip opens a commit: bounds on how long the transaction may sit idle and on each of its statements, and
    // the per-connection stage (it empties itself at commit). The silo fence (decision 011), a share lock on this silo's
    // membership row, counted, is taken after the rows are staged, just before they are inserted: Orleans declares a
    // silo dead by updating that row, which waits for the commits holding it, and an activation replacing a user of a
    // live silo locks the row for update (TakeEpochs) the same way. A commit in flight also holds the idempotency keys
    // it claims: a retry of them through another silo waits for it. A silo that stops mid-commit (paused, cut off from
    // PostgreSQL) holds all of these until PostgreSQL ends its transaction: the bounds, a few seconds, keep that below
    // the time to declare it dead (decision 029). The bounds cannot end a COPY that waits for the client's rows (a
    // statement timeout is not acted on while PostgreSQL reads COPY data), which is why the fence is not held then: a
    // silo paused while streaming its rows held its membership row, and so stayed alive, for as long as it was paused.
    // 3, 4, 5 = Active, ShuttingDown, Stopping.
    public const string Fence = """
        SELECT count(*) FROM (
            SELECT 1 FROM orleansmembershiptable
             WHERE deploymentid = @cluster AND address = @address AND port = @port AND generation = @generation AND status IN (3, 4, 5)
               FOR SHARE) live
        """;

    public static string Begin(int stalledSeconds) => $"""
        SET LOCAL idle_in_transaction_session_timeout = '{stalledSeconds}s';
        SET LOCAL statement_timeout = '{stalledSeconds}s';
        CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
            seq integer, tenant_id text, user_id text, epoch bigint, action text, action_date date, event_timestamp timestamptz,
            idempotency_key text, measures jsonb, dims jsonb, payload jsonb, arrived_at timestamptz) ON COMMIT DELETE ROWS
        """;

    public const string CopyStage = """
        COPY ingest_stage (seq, tenant_id, user_id, epoch, action, action_date, event_timestamp, idempotency_key, measures, dims, payload, arrived_at)
        FROM STDIN (FORMAT BINARY)
        """;

    // Each activation takes its user's next epoch (1 for a new user) and becomes the owner, in key order
    // (so two loads cannot deadlock); the row lock makes concurrent activations of one user take turns.
    // Then it locks for update the membership row of every other silo that owned one of its users before:
    // that waits for the commits in flight there (they hold the row shared) and makes later ones wait
    // until this transaction, which also reads the log, is visible to them; they then see the new epoch
    // and write nothing. Dead or removed silos' rows hold no commit: their fence refuses them.
    public const string TakeEpochs = """
        WITH taken AS (
            INSERT INTO user_epochs AS u (tenant_id, user_id, epoch, owner_address, owner_port, owner_generation)
            SELECT DISTINCT tenant_id, user_id, 1, @address, @port, @generation FROM unnest(@tenants, @users) AS w(tenant_id, user_id)
             ORDER BY 1, 2
            ON CONFLICT (tenant_id, user_id) DO UPDATE
               SET epoch = u.epoch + 1,
                   prev_address = u.owner_address, prev_port = u.owner_port, prev_generation = u.owner_generation,
                   owner_address = excluded.owner_address, owner_port = excluded.owner_port, owner_generation = excluded.owner_generation
            RETURNING tenant_id, user_id, epoch, prev_address, prev_port, prev_generation),
        replaced AS (
            SELECT 1 FROM orleansmembershiptable m
             WHERE m.deploymentid = @cluster
               AND (m.address, m.port, m.generation) IN (
                    SELECT prev_address, prev_port, prev_generation FROM taken
                     WHERE prev_address IS NOT NULL
                       AND (prev_address, prev_port, prev_generation) IS DISTINCT FROM (@address, @port, @generation))
             ORDER BY m.address, m.port, m.generation
               FOR UPDATE)
        SELECT tenant_id, user_id, epoch, (SELECT count(*) FROM replaced) FROM taken
        """;

    // Rows written under an epoch that is no longer their user's are dropped (the silo fence makes the
    // check hold until commit) and come back with id -1. Each row probes its user's epoch by index (LIMIT
    // keeps the planner from hashing the whole epoch table for a few hundred users). Of the rest, the first occurrence of each key
    // claims the key in event_dedup; only claimed rows reach the log. The result maps stage seq -> event
    // id; rows absent from it were duplicates.
    public const string InsertFromStage = """
        WITH staged AS MATERIALIZED (
            SELECT g.*, COALESCE(u.epoch = g.epoch, false) AS current
              FROM ingest_stage g
              LEFT JOIN LATERAL (SELECT epoch FROM user_epochs u
                                  WHERE u.tenant_id = g.tenant_id AND u.user_id = g.user_id LIMIT 1) u ON true),
        candidates AS (
            SELECT DISTINCT ON (tenant_id, idempotency_key) *
              FROM staged WHERE current ORDER BY tenant_id, idempotency_key, seq),
        claimed AS (
            INSERT INTO event_dedup (tenant_id, idempotency_key)
            SELECT tenant_id, idempotency_key FROM candidates
            ON CONFLICT DO NOTHING
            RETURNING tenant_id, idempotency_key),
        inserted AS (
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures, dims, payload, arrived_at)
            SELECT c.tenant_id, c.action_date, c.user_id, c.action, c.event_timestamp, c.idempotency_key, c.measures, c.dims, c.payload, c.arrived_at
              FROM candidates c JOIN claimed k USING (tenant_id, idempotency_key)
             ORDER BY c.seq
            RETURNING tenant_id, idempotency_key, event_id)
        SELECT c.seq, i.event_id FROM inserted i JOIN candidates c USING (tenant_id, idempotency_key)
        UNION ALL
        SELECT seq, -1 FROM staged WHERE NOT current
        """;

    /// <summary>The columns <see cref="EventLogReader.ReadEvent"/> reads, in order.</summary>
    public const string EventColumns = "event_id, action_date, user_id, action, event_timestamp, idempotency_key, measures::text, dims::text, COALESCE(arrived_at, received_at)";

    public const int EventColumnCount = 9;

    // One query loads many users: per (tenant, user) the saved state row (event columns null), then
    // the events after its watermark, probing the (tenant_id, user_id, event_id) index of every
    // partition; ord says whose row it is.
    public const string LoadUsers = $"""
        WITH w AS (
            SELECT w.ord, w.tenant_id, w.user_id, s.last_event_id, s.stats
              FROM unnest(@tenants, @users) WITH ORDINALITY AS w(tenant_id, user_id, ord)
              LEFT JOIN user_state s ON s.tenant_id = w.tenant_id AND s.user_id = w.user_id)
        SELECT w.ord, NULL::bigint, NULL::date, NULL::text, NULL::text, NULL::timestamptz, NULL::text, NULL::text, NULL::text, NULL::timestamptz, w.stats
          FROM w WHERE w.stats IS NOT NULL
        UNION ALL
        SELECT w.ord, e.event_id, e.action_date, e.user_id, e.action, e.event_timestamp, e.idempotency_key, e.measures::text, e.dims::text,
               COALESCE(e.arrived_at, e.received_at), NULL::bytea
          FROM w JOIN LATERAL (SELECT event_id, action_date, user_id, action, event_timestamp, idempotency_key, measures, dims, arrived_at, received_at
                                 FROM user_action_events u
                                WHERE u.tenant_id = w.tenant_id AND u.user_id = w.user_id
                                  AND u.event_id > COALESCE(w.last_event_id, 0)) e ON true
         ORDER BY 1, 2 NULLS FIRST
        """;
}
