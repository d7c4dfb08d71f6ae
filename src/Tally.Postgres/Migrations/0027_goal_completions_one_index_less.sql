-- A user's history page reads every row of the user anyway (it counts them), through the primary key's
-- (tenant_id, user_id) prefix, and sorts them: an index in the page's order only made each completion cost a third
-- more to record (a random page of a third B-tree per row, measured by tally bench ingest with goals).
DROP INDEX IF EXISTS ix_goal_completions_user_order;
