-- User state moves out of Orleans' grain table into one we can query by tenant and shard: board
-- shards rebuild from it after a crash (decision 004). Saved in group commits, newest watermark wins.
CREATE TABLE user_state
(
    tenant_id     text        NOT NULL,
    user_id       text        NOT NULL,
    shard         integer     NOT NULL,
    last_event_id bigint      NOT NULL,
    stats         bytea       NOT NULL,
    saved_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX ix_user_state_shard ON user_state (tenant_id, shard);

-- Reconciliation and shard rebuild read "events received since a watermark"; the log is appended
-- in received order, so a BRIN index answers that for almost nothing.
CREATE INDEX ix_user_action_events_received ON user_action_events USING brin (received_at);

-- Cluster-wide jobs: the reconciliation watermark and when each snapshot job last finished.
CREATE TABLE tally_jobs
(
    job         text        NOT NULL PRIMARY KEY,
    watermark   timestamptz NULL,
    finished_at timestamptz NULL,
    rows        bigint      NOT NULL DEFAULT 0,
    detail      jsonb       NULL
);

-- Figures each silo publishes for the API's /metrics (one row per silo, replaced every few seconds).
CREATE TABLE silo_metrics
(
    silo       text        NOT NULL PRIMARY KEY,
    updated_at timestamptz NOT NULL,
    metrics    jsonb       NOT NULL
);

-- Snapshot tables, named as in the seed systems.
CREATE TABLE user_stats_summary
(
    tenant_id        text        NOT NULL,
    user_id          text        NOT NULL,
    measure          text        NOT NULL,
    total            numeric     NOT NULL,
    actions          bigint      NOT NULL,
    year_total       numeric     NOT NULL,
    month_total      numeric     NOT NULL,
    week_total       numeric     NOT NULL,
    day_total        numeric     NOT NULL,
    global_rank      bigint      NULL,
    scope_ranks      jsonb       NULL,
    last_action_date date        NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, measure)
);

CREATE TABLE global_stats_rollup
(
    tenant_id   text        NOT NULL,
    rollup_key  text        NOT NULL,
    measure     text        NOT NULL,
    scope       text        NOT NULL,
    period      text        NOT NULL,
    period_key  text        NOT NULL,
    total       numeric     NOT NULL,
    users       bigint      NOT NULL,
    actions     bigint      NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, rollup_key, measure)
);

CREATE TABLE leaderboard_snapshots
(
    tenant_id   text        NOT NULL,
    measure     text        NOT NULL,
    scope       text        NOT NULL,
    period      text        NOT NULL,
    period_key  text        NOT NULL,
    rank        integer     NOT NULL,
    user_id     text        NOT NULL,
    score       numeric     NOT NULL,
    members     bigint      NOT NULL,
    taken_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, measure, scope, period, period_key, rank)
);

CREATE TABLE user_daily_stats
(
    tenant_id   text    NOT NULL,
    user_id     text    NOT NULL,
    action_date date    NOT NULL,
    action      text    NOT NULL,
    events      bigint  NOT NULL,
    sums        jsonb   NOT NULL,
    PRIMARY KEY (tenant_id, user_id, action_date, action)
);
