CREATE TABLE tenants
(
    tenant_id  text        NOT NULL PRIMARY KEY,
    config     jsonb       NOT NULL,
    version    bigint      NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 of each secret is stored; the prefix lets an operator tell keys apart in logs.
CREATE TABLE api_keys
(
    key_hash   bytea       NOT NULL PRIMARY KEY,
    tenant_id  text        NOT NULL REFERENCES tenants (tenant_id),
    role       text        NOT NULL CHECK (role IN ('ingest', 'read', 'admin')),
    key_prefix text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz NULL
);

CREATE INDEX ix_api_keys_tenant ON api_keys (tenant_id);
