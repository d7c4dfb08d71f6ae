-- Membership for Orleans.Clustering.AdoNet 10.4 (query keys and parameter names are the provider's contract).
CREATE TABLE orleansmembershipversiontable
(
    deploymentid varchar(150)   NOT NULL PRIMARY KEY,
    timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    version      integer        NOT NULL DEFAULT 0
);

CREATE TABLE orleansmembershiptable
(
    deploymentid varchar(150)   NOT NULL REFERENCES orleansmembershipversiontable (deploymentid),
    address      varchar(45)    NOT NULL,
    port         integer        NOT NULL,
    generation   integer        NOT NULL,
    siloname     varchar(150)   NOT NULL,
    hostname     varchar(150)   NOT NULL,
    status       integer        NOT NULL,
    proxyport    integer        NULL,
    suspecttimes varchar(8000)  NULL,
    starttime    timestamptz(3) NOT NULL,
    iamalivetime timestamptz(3) NOT NULL,
    PRIMARY KEY (deploymentid, address, port, generation)
);

-- Writes are optimistic on the table version: a row changes only if the caller saw the current
-- version, and the version moves in the same statement. Functions return the affected row count.
CREATE FUNCTION tally_membership_insert_version(p_deployment varchar)
RETURNS integer LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO orleansmembershipversiontable (deploymentid) VALUES (p_deployment)
        ON CONFLICT (deploymentid) DO NOTHING RETURNING 1)
    SELECT count(*)::integer FROM ins;
$$;

CREATE FUNCTION tally_membership_insert(
    p_deployment varchar, p_address varchar, p_port integer, p_generation integer,
    p_silo_name varchar, p_host_name varchar, p_status integer, p_proxy_port integer,
    p_start_time timestamptz, p_i_am_alive timestamptz, p_version integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    affected integer;
BEGIN
    UPDATE orleansmembershipversiontable
       SET version = version + 1, timestamp = now()
     WHERE deploymentid = p_deployment AND version = p_version;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN RETURN 0; END IF;

    INSERT INTO orleansmembershiptable
        (deploymentid, address, port, generation, siloname, hostname, status, proxyport, starttime, iamalivetime)
    VALUES (p_deployment, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port, p_start_time, p_i_am_alive)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'T0001', MESSAGE = 'membership row exists';
    END IF;
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'T0001' THEN
    RETURN 0;  -- the version bump is rolled back with the block
END $$;

CREATE FUNCTION tally_membership_update(
    p_deployment varchar, p_address varchar, p_port integer, p_generation integer,
    p_status integer, p_suspect_times varchar, p_i_am_alive timestamptz, p_version integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    affected integer;
BEGIN
    UPDATE orleansmembershipversiontable
       SET version = version + 1, timestamp = now()
     WHERE deploymentid = p_deployment AND version = p_version;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN RETURN 0; END IF;

    UPDATE orleansmembershiptable
       SET status = p_status, suspecttimes = p_suspect_times, iamalivetime = p_i_am_alive
     WHERE deploymentid = p_deployment AND address = p_address AND port = p_port AND generation = p_generation;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'T0001', MESSAGE = 'membership row missing';
    END IF;
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'T0001' THEN
    RETURN 0;
END $$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('InsertMembershipVersionKey',
 'SELECT tally_membership_insert_version(@DeploymentId);'),
('InsertMembershipKey',
 'SELECT tally_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);'),
('UpdateMembershipKey',
 'SELECT tally_membership_update(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version);'),
('UpdateIAmAlivetimeKey',
 'UPDATE orleansmembershiptable SET iamalivetime = @IAmAliveTime
   WHERE deploymentid = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;'),
('MembershipReadRowKey',
 'SELECT v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport,
         m.suspecttimes, m.starttime, m.iamalivetime, v.version
    FROM orleansmembershipversiontable v
    LEFT JOIN orleansmembershiptable m
      ON m.deploymentid = v.deploymentid AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
   WHERE v.deploymentid = @DeploymentId;'),
('MembershipReadAllKey',
 'SELECT v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport,
         m.suspecttimes, m.starttime, m.iamalivetime, v.version
    FROM orleansmembershipversiontable v
    LEFT JOIN orleansmembershiptable m ON m.deploymentid = v.deploymentid
   WHERE v.deploymentid = @DeploymentId;'),
('DeleteMembershipTableEntriesKey',
 'DELETE FROM orleansmembershiptable WHERE deploymentid = @DeploymentId;
  DELETE FROM orleansmembershipversiontable WHERE deploymentid = @DeploymentId;'),
('GatewaysQueryKey',
 'SELECT address, proxyport, generation FROM orleansmembershiptable
   WHERE deploymentid = @DeploymentId AND status = @Status AND proxyport > 0;'),
('CleanupDefunctSiloEntriesKey',
 'DELETE FROM orleansmembershiptable
   WHERE deploymentid = @DeploymentId AND iamalivetime < @IAmAliveTime AND status <> 3;'),
('CleanupDefunctSiloEntryKey',
 'DELETE FROM orleansmembershiptable
   WHERE deploymentid = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation AND status <> 3;');
