-- user_daily_stats rows remember the last event they include (event ids of one user grow in commit order, decision 006),
-- so a refresh adds only the group's newer events instead of re-reading the user's whole day (decision 022).
-- Rows written before this migration have NULL: their next refresh recomputes them from the log.
ALTER TABLE user_daily_stats ADD COLUMN through_event_id bigint NULL;
