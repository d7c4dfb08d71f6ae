-- Fencing for user grains. Every activation of a user grain takes the user's next epoch before it
-- reads the log; every log commit share-locks its users' epochs and keeps only rows written under
-- the current one. So a grain on a silo that was declared dead (or paused, or cut off) cannot
-- append events behind a newer activation's back: its commit either lands before the newer
-- activation reads the log, or it is refused.
CREATE TABLE user_epochs
(
    tenant_id text   NOT NULL,
    user_id   text   NOT NULL,
    epoch     bigint NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
