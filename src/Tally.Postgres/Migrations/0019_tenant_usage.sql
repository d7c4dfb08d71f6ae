-- Metering (GET /v1/usage): events per tenant, arrival day (tenant time zone) and outcome, with the
-- rejection code; and who was active in each month. API instances add their counts every few seconds.
CREATE TABLE tenant_usage
(
    tenant_id text   NOT NULL,
    day       date   NOT NULL,
    outcome   text   NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected')),
    code      text   NOT NULL DEFAULT '',
    events    bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, outcome, code)
);

CREATE TABLE tenant_active_users
(
    tenant_id text NOT NULL,
    month     date NOT NULL,
    user_id   text NOT NULL,
    PRIMARY KEY (tenant_id, month, user_id)
);
