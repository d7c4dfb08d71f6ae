namespace Tally.Postgres.EventLog;

internal static class EventLogSql
{
    // The stage lives per connection and empties itself at commit.
    public const string CreateStage = """
        CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
            seq integer, tenant_id text, user_id text, epoch bigint, action text, action_date date, event_timestamp timestamptz,
            idempotency_key text, measures jsonb, dims jsonb, payload jsonb, arrived_at timestamptz) ON COMMIT DELETE ROWS
        """;

    public const string CopyStage = """
        COPY ingest_stage (seq, tenant_id, user_id, epoch, action, action_date, event_timestamp, idempotency_key, measures, dims, payload, arrived_at)
        FROM STDIN (FORMAT BINARY)
        """;

    // The fence (migration 0011): share-lock the batch's users' epochs, in key order so it cannot
    // deadlock with an activation taking several epochs, then drop the rows written under an epoch
    // that is no longer the user's. The second statement takes its snapshot after the locks, so it
    // sees any epoch taken before them. Returns the stage seq of every dropped row.
    public const string Fence = """
        SELECT count(*) FROM (
            SELECT 1 FROM user_epochs u
             WHERE (u.tenant_id, u.user_id) IN (SELECT tenant_id, user_id FROM ingest_stage)
             ORDER BY u.tenant_id, u.user_id
               FOR SHARE OF u) locked;
        DELETE FROM ingest_stage g
         WHERE NOT EXISTS (SELECT 1 FROM user_epochs u
                            WHERE u.tenant_id = g.tenant_id AND u.user_id = g.user_id AND u.epoch = g.epoch)
        RETURNING seq
        """;

    // Each activation takes its user's next epoch (1 for a new user), in key order. A commit holding
    // the user's epoch lock makes this wait until it is visible, so the load after it sees its events.
    public const string TakeEpochs = """
        INSERT INTO user_epochs AS u (tenant_id, user_id, epoch)
        SELECT DISTINCT tenant_id, user_id, 1 FROM unnest(@tenants, @users) AS w(tenant_id, user_id)
         ORDER BY 1, 2
        ON CONFLICT (tenant_id, user_id) DO UPDATE SET epoch = u.epoch + 1
        RETURNING tenant_id, user_id, epoch
        """;

    // First occurrence of each key in the batch claims the key in event_dedup; only claimed rows reach
    // the log. The result maps stage seq -> event id; rows absent from it were duplicates.
    public const string InsertFromStage = """
        WITH candidates AS (
            SELECT DISTINCT ON (tenant_id, idempotency_key) *
              FROM ingest_stage ORDER BY tenant_id, idempotency_key, seq),
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
