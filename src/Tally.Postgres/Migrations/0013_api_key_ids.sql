-- Keys get a public id (for listing and revoking) and no longer store any character of the secret:
-- key_prefix held the first 14 characters, 3 of them random. Only the SHA-256 of the secret remains
-- (decision 008: secrets are 192-bit random, so an unsalted hash cannot be reversed by guessing).
ALTER TABLE api_keys ADD COLUMN key_id text;
UPDATE api_keys SET key_id = 'key_' || substr(encode(sha256(key_hash || 'tally-key-id'::bytea), 'hex'), 1, 20);
ALTER TABLE api_keys ALTER COLUMN key_id SET NOT NULL;
CREATE UNIQUE INDEX ux_api_keys_key_id ON api_keys (key_id);
ALTER TABLE api_keys DROP COLUMN key_prefix;
