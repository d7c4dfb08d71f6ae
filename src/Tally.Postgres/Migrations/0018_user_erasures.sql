-- DELETE /v1/users/{id} (decision 012): the user's events stay in the log as the audit trail, but
-- nothing derived counts those up to through_event_id. Written in one transaction with the user's
-- emptied state and the removal of the user's derived rows (summaries, daily stats, tier history).
CREATE TABLE user_erasures
(
    tenant_id        text        NOT NULL,
    user_id          text        NOT NULL,
    through_event_id bigint      NOT NULL,
    erased_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
