-- The event log: the truth every derived figure converges to. Partitioned by month of the
-- tenant-local action date; tenant_id leads every key.
CREATE SEQUENCE user_action_events_event_id_seq AS bigint CACHE 1000;

CREATE TABLE user_action_events
(
    tenant_id       text        NOT NULL,
    action_date     date        NOT NULL,
    event_id        bigint      NOT NULL DEFAULT nextval('user_action_events_event_id_seq'),
    user_id         text        NOT NULL,
    action          text        NOT NULL,
    event_timestamp timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    idempotency_key text        NOT NULL,
    measures        jsonb       NOT NULL,
    dims            jsonb       NULL,
    payload         jsonb       NULL,
    PRIMARY KEY (tenant_id, action_date, event_id)
) PARTITION BY RANGE (action_date);

CREATE INDEX ix_user_action_events_user ON user_action_events (tenant_id, user_id, action_date DESC);
CREATE INDEX ix_user_action_events_ts ON user_action_events USING brin (event_timestamp);

-- Exactly-once: a unique index on the partitioned log would have to include action_date, so the
-- same key on two dates could slip through. This table is keyed by tenant and key alone.
CREATE TABLE event_dedup
(
    tenant_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);

CREATE INDEX ix_event_dedup_seen ON event_dedup USING brin (first_seen_at);

-- Creates the month partition holding a date if it is missing. Partition names come from the
-- date alone (user_action_events_yYYYYmMM), never from input text.
CREATE FUNCTION tally_ensure_event_partition(p_day date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', p_day)::date;
    part_name   text := format('user_action_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
BEGIN
    IF to_regclass(part_name) IS NULL THEN
        -- Serialise concurrent creators of the same partition.
        PERFORM pg_advisory_xact_lock(hashtext(part_name));
        IF to_regclass(part_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF user_action_events FOR VALUES FROM (%L) TO (%L)',
                           part_name, month_start, (month_start + interval '1 month')::date);
        END IF;
    END IF;
    RETURN part_name;
END $$;
