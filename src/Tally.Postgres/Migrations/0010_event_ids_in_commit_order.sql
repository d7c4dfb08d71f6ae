-- Event ids must grow in the order a user's events are committed: replay reads "after the saved
-- watermark" and boards keep a cell only if its version (an event id) is newer. With CACHE 1000
-- each connection drew ids from its own block, so a user's next batch, committed on another
-- connection, could get a smaller id than the last one. Without a cache, nextval follows call order,
-- and a user's next batch is only written after the previous one committed.
ALTER SEQUENCE user_action_events_event_id_seq CACHE 1;
