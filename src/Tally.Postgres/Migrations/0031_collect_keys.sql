-- Keys of role collect (API.md, Raw event collection): they may only send raw events to /v1/collect, so they can sit in
-- a web page's tracking script.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('ingest', 'read', 'admin', 'collect'));
