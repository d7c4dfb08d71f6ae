-- Checkpoints and tiers (API.md). A timeline depends on when each event arrived (an event dated in a
-- window counts only if it arrives before the window is decided), so the log keeps each event's arrival
-- instant (business clock of the grain that wrote it) and replay after a crash decides exactly as before.
-- Rows written before this migration have none; replay uses received_at for them.
ALTER TABLE user_action_events ADD COLUMN arrived_at timestamptz NULL;

-- A tenant's checkpoint era grows by one each time checkpoint is added to a config that had none: a
-- timeline of an older era is dropped and the user starts a new one at their next event (decision 010).
ALTER TABLE tenants ADD COLUMN checkpoint_era integer NOT NULL DEFAULT 0;

-- Tier history: one row per transition, numbered per user and era (seq), written once (ON CONFLICT DO NOTHING).
CREATE TABLE tier_checkpoints
(
    tenant_id    text        NOT NULL,
    user_id      text        NOT NULL,
    era          integer     NOT NULL,
    seq          integer     NOT NULL,
    at           timestamptz NOT NULL,
    reason       text        NOT NULL CHECK (reason IN ('entered', 'promoted', 'kept', 'demoted')),
    from_tier    text        NULL,
    to_tier      text        NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    "window"     jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, user_id, era, seq)
);

-- The scheduler's index: users whose next checkpoint decision is due, found without touching anyone else.
ALTER TABLE user_state ADD COLUMN checkpoint_due_at timestamptz NULL;
CREATE INDEX ix_user_state_checkpoint_due ON user_state (checkpoint_due_at) WHERE checkpoint_due_at IS NOT NULL;
