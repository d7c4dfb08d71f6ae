-- Background jobs (reconciliation, shard rebuild, the daily summary) ask for "events received since
-- a watermark". A BRIN index answers that only for block ranges VACUUM has summarised: the newest
-- ranges, the ones every run wants, were read whole, and on a young partition that is all of it.
-- A B-tree on received_at (appended at its right edge, since received_at grows) makes each run read
-- what arrived since the last one, whatever the log's size.
DROP INDEX IF EXISTS ix_user_action_events_received;
CREATE INDEX ix_user_action_events_received ON user_action_events (received_at);
