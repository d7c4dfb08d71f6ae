-- Replay after a watermark (WHERE tenant, user AND event_id > w) is the query this index serves on
-- every grain activation. Keyed by action_date it fetched every row of the user and filtered
-- event_id afterwards; keyed by event_id it reads only the rows after the watermark. Date-range
-- reads of one user still prune to their month partitions first (decision 003).
DROP INDEX IF EXISTS ix_user_action_events_user;
CREATE INDEX ix_user_action_events_user ON user_action_events (tenant_id, user_id, event_id);
