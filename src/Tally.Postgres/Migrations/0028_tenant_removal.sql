-- A tenant being removed (API.md, Tenant removal): its keys stop at once and the silos' removal runner works through
-- its data; the row goes last, and with it the tenant.
ALTER TABLE tenants ADD COLUMN removing_since timestamptz NULL;
