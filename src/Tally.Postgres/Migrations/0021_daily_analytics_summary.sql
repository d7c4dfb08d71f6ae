-- The analytics API's daily summary per tenant, day and action, readable in SQL. A plain view over
-- user_daily_stats, which the snapshot job keeps up to date incrementally (what arrived since its last run):
-- nothing to refresh, and reading one tenant's days costs those rows.
CREATE VIEW daily_analytics_summary AS
SELECT tenant_id, action_date AS day, action, sum(events)::bigint AS events, count(*)::bigint AS active_users
  FROM user_daily_stats
 GROUP BY tenant_id, action_date, action;
