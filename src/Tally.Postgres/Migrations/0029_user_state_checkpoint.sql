-- Each user's current checkpoint state as the grain last saved it (tier, the current window's start and end and its
-- sums), for SQL readers: `tally compat` shows it as the loyalty seed's members (`loyalty_members`).
ALTER TABLE user_state ADD COLUMN checkpoint jsonb NULL;
