-- Goals (API.md): one row per (user, goal, level, instance), written once by the user's grain (ON CONFLICT DO NOTHING,
-- so a completion computed again after a crash or a replay changes nothing). window_key names the instance: a period key
-- (all_time, 2026, 2026-12, 2026-W49, 2026-12-06) or a checkpoint window's start in RFC 3339.
CREATE TABLE goal_completions
(
    tenant_id    text          NOT NULL,
    user_id      text          NOT NULL,
    goal         text          NOT NULL,
    level        integer       NOT NULL,
    window_key   text          NOT NULL,
    target       numeric       NOT NULL,
    completed_at timestamptz   NOT NULL,
    value        numeric       NOT NULL,
    recorded_at  timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, goal, level, window_key)
);

-- A user's history page, in the contract's order: completed_at, then goal, then level.
CREATE INDEX ix_goal_completions_user_order ON goal_completions (tenant_id, user_id, completed_at, goal, level);
-- Users per level of an instance whose board shards no longer hold it (a long-closed period).
CREATE INDEX ix_goal_completions_instance ON goal_completions (tenant_id, goal, window_key, level);
