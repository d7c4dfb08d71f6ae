-- Collection's counts beside the metering outcomes: raw events received by /v1/collect, those missing a field (code: the
-- field), and per site the events accepted (code: the site), for GET /v1/quality and GET /v1/usage?by=site.
ALTER TABLE tenant_usage DROP CONSTRAINT tenant_usage_outcome_check;
ALTER TABLE tenant_usage ADD CONSTRAINT tenant_usage_outcome_check
    CHECK (outcome IN ('accepted', 'duplicate', 'rejected', 'received', 'missing', 'site'));
-- A site's first day (domain discovery) is read over every month of the tenant's site rows.
CREATE INDEX ix_tenant_usage_sites ON tenant_usage (tenant_id, outcome, code, day) WHERE outcome = 'site';
