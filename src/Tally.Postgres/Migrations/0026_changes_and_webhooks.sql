-- The change feed (API.md, "Changes and webhooks"): every tier history entry, goal completion and user removal of a
-- tenant, in order. A change is inserted in the transaction that records what it announces (an outbox), so there is
-- never one without the other. seq numbers a tenant's changes with no gap and in commit order: each writing
-- transaction takes its numbers from the tenant's row in change_heads, whose lock it holds until it commits, so a
-- reader that has seen seq n can never later find a change below n.
CREATE TABLE change_heads
(
    tenant_id   text   NOT NULL PRIMARY KEY,
    last_seq    bigint NOT NULL DEFAULT 0,
    -- Changes up to this one were pruned (changes.keep_days): a cursor below it is expired (410).
    pruned_seq  bigint NOT NULL DEFAULT 0
);

CREATE TABLE changes
(
    tenant_id   text        NOT NULL,
    seq         bigint      NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('tier_changed', 'goal_completed', 'user_removed')),
    user_id     text        NOT NULL,
    at          timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- json, not jsonb: the text is kept as written (the order of its fields, as the API answers them).
    data        json        NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- Pruning by age touches only what it removes.
CREATE INDEX ix_changes_recorded ON changes (tenant_id, recorded_at);

-- Webhooks: each delivers its tenant's changes of its kinds, in order, one at a time (cursor = the last change
-- acknowledged or skipped). The secret signs deliveries (Standard Webhooks) and is shown once, at creation.
CREATE TABLE webhooks
(
    tenant_id        text        NOT NULL,
    webhook_id       text        NOT NULL,
    url              text        NOT NULL,
    kinds            text[]      NOT NULL,
    secret           text        NOT NULL,
    state            text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    cursor_seq       bigint      NOT NULL,
    -- The first failed attempt of the change now being delivered (null while deliveries succeed), and its attempts.
    failing_since    timestamptz NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NULL,
    disabled_at      timestamptz NULL,
    PRIMARY KEY (tenant_id, webhook_id)
);

CREATE TABLE webhook_deliveries
(
    tenant_id   text        NOT NULL,
    webhook_id  text        NOT NULL,
    id          bigserial   NOT NULL,
    change_seq  bigint      NOT NULL,
    attempt     integer     NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    status      integer     NULL,
    duration_ms integer     NOT NULL,
    error       text        NULL,
    PRIMARY KEY (tenant_id, webhook_id, id)
);

-- Appends changes in the caller's transaction: per tenant (in tenant order, so two writers cannot deadlock) it takes the
-- next numbers from change_heads, locking the tenant's row until commit, inserts the changes in the order given and
-- notifies listeners (GET /v1/changes?wait=) at commit. Writers call it with the rows they actually inserted.
CREATE FUNCTION tally_append_changes(p_tenants text[], p_kinds text[], p_users text[], p_ats timestamptz[], p_data json[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_tenant text;
    v_count  integer;
    v_last   bigint;
    v_total  integer := 0;
BEGIN
    IF p_tenants IS NULL THEN
        RETURN 0;
    END IF;
    FOR v_tenant, v_count IN SELECT t, count(*) FROM unnest(p_tenants) AS t GROUP BY t ORDER BY t LOOP
        INSERT INTO change_heads AS h (tenant_id, last_seq) VALUES (v_tenant, v_count)
        ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + excluded.last_seq
        RETURNING last_seq INTO v_last;
        INSERT INTO changes (tenant_id, seq, kind, user_id, at, data)
        SELECT v_tenant, v_last - v_count + row_number() OVER (ORDER BY c.ord), c.kind, c.user_id, c.at, c.data
          FROM unnest(p_tenants, p_kinds, p_users, p_ats, p_data) WITH ORDINALITY AS c(tenant_id, kind, user_id, at, data, ord)
         WHERE c.tenant_id = v_tenant;
        PERFORM pg_notify('tally_changes', v_tenant);
        v_total := v_total + v_count;
    END LOOP;
    RETURN v_total;
END
$$;
