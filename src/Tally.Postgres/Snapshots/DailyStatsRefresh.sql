-- user_daily_stats brought up to date for (tenant, user, day, action) keys with events received in [$1, $2):
-- see DailyStatsRefresh.cs for how a row adds only what it lacks.
WITH touched AS (
    SELECT DISTINCT tenant_id, user_id, action_date, action FROM user_action_events WHERE received_at >= $1 AND received_at < $2),
marked AS (
    SELECT t.tenant_id, t.user_id, t.action_date, t.action, d.events, d.sums, d.through_event_id,
           COALESCE(x.through_event_id, 0) AS erased_through
      FROM touched t LEFT JOIN user_daily_stats d USING (tenant_id, user_id, action_date, action)
      LEFT JOIN user_erasures x ON x.tenant_id = t.tenant_id AND x.user_id = t.user_id),
groups AS (
    -- Adds to the row when its mark is known and past any removal; otherwise starts again after the removal.
    SELECT tenant_id, user_id, action_date, action, kept,
           CASE WHEN kept THEN through_event_id ELSE erased_through END AS after_id,
           CASE WHEN kept THEN events ELSE 0 END AS base_events,
           CASE WHEN kept THEN sums ELSE '{}'::jsonb END AS base_sums
      FROM (SELECT *, COALESCE(through_event_id > erased_through, false) AS kept FROM marked) m),
events AS (
    SELECT g.tenant_id, g.user_id, g.action_date, g.action, e.event_id, e.measures
      FROM groups g
      CROSS JOIN LATERAL (
          SELECT event_id, measures FROM user_action_events e
           WHERE e.tenant_id = g.tenant_id AND e.user_id = g.user_id AND e.action_date = g.action_date AND e.action = g.action
             AND e.event_id > g.after_id
          OFFSET 0) e),
counts AS (
    SELECT tenant_id, user_id, action_date, action, count(*) AS events, max(event_id) AS through_event_id FROM events GROUP BY 1, 2, 3, 4),
sums AS (
    SELECT tenant_id, user_id, action_date, action, jsonb_object_agg(name, total) AS sums
      FROM (SELECT tenant_id, user_id, action_date, action, name, sum(value) AS total
              FROM (SELECT tenant_id, user_id, action_date, action, m.key AS name, m.value::text::numeric AS value
                      FROM events, jsonb_each(measures) m
                    UNION ALL
                    SELECT g.tenant_id, g.user_id, g.action_date, g.action, b.key, b.value::text::numeric
                      FROM groups g JOIN counts c USING (tenant_id, user_id, action_date, action), jsonb_each(g.base_sums) b) v
             GROUP BY 1, 2, 3, 4, 5) s
     GROUP BY 1, 2, 3, 4)
, written AS (
INSERT INTO user_daily_stats (tenant_id, user_id, action_date, action, events, sums, through_event_id)
SELECT c.tenant_id, c.user_id, c.action_date, c.action, g.base_events + c.events, COALESCE(s.sums, '{}'::jsonb), c.through_event_id
  FROM counts c JOIN groups g USING (tenant_id, user_id, action_date, action)
  LEFT JOIN sums s USING (tenant_id, user_id, action_date, action)
ON CONFLICT (tenant_id, user_id, action_date, action) DO UPDATE
   SET events = excluded.events, sums = excluded.sums, through_event_id = excluded.through_event_id
RETURNING tenant_id, action)
SELECT tenant_id, action, count(*) FROM written GROUP BY 1, 2
