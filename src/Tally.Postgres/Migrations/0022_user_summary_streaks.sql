-- The climate seed's user_stats_summary carries streak_days; the compatibility views (tally compat) read it from here.
-- Rows written before this migration have NULL until the user changes again.
ALTER TABLE user_stats_summary ADD COLUMN streak_current integer NULL, ADD COLUMN streak_longest integer NULL;
