-- The climate seed's integer action ids: each tenant's action names numbered in order of first appearance, for ever
-- (the compatibility views show them as user_action_events.action_id). Filled by the snapshot job as actions arrive
-- and by tally compat for what is already in the log.
CREATE TABLE tenant_actions
(
    tenant_id  text        NOT NULL,
    action     text        NOT NULL,
    action_id  integer     NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, action),
    UNIQUE (tenant_id, action_id)
);

-- The indexes the seed names on user_stats_summary: its top-N by total and its ranks within a country.
CREATE INDEX ix_user_stats_summary_total ON user_stats_summary (tenant_id, measure, total DESC);
CREATE INDEX ix_user_stats_summary_rank_country ON user_stats_summary (tenant_id, measure, ((scope_ranks -> 'country' ->> 'all_time')::bigint));
