-- Decision 011: log commits are fenced by their silo's membership row instead of a lock per user.
-- An epoch row now names the silo that owns the user's activation and the one that owned it before,
-- so a new activation knows whose commits in flight to wait for.
ALTER TABLE user_epochs
    ADD COLUMN owner_address    varchar(45),
    ADD COLUMN owner_port       integer,
    ADD COLUMN owner_generation integer,
    ADD COLUMN prev_address     varchar(45),
    ADD COLUMN prev_port        integer,
    ADD COLUMN prev_generation  integer;
