-- Grain state for Orleans.Persistence.AdoNet 10.4. One row per grain; the version column is the etag.
CREATE TABLE orleansstorage
(
    grainidhash            integer      NOT NULL,
    grainidn0              bigint       NOT NULL,
    grainidn1              bigint       NOT NULL,
    graintypehash          integer      NOT NULL,
    graintypestring        varchar(512) NOT NULL,
    grainidextensionstring varchar(512) NULL,
    serviceid              varchar(150) NOT NULL,
    payloadbinary          bytea        NULL,
    payloadxml             xml          NULL,
    payloadjson            text         NULL,
    modifiedon             timestamptz  NOT NULL DEFAULT now(),
    version                integer      NULL
);

-- Unique identity of a grain's row; the COALESCE lets grains without a key extension be unique too.
CREATE UNIQUE INDEX ux_orleansstorage_grain ON orleansstorage
    (grainidhash, graintypehash, grainidn0, grainidn1, serviceid, graintypestring, COALESCE(grainidextensionstring, ''));

CREATE FUNCTION tally_grain_state_write(
    p_id_hash integer, p_n0 bigint, p_n1 bigint, p_type_hash integer, p_type varchar, p_ext varchar,
    p_service varchar, p_version integer, p_binary bytea, p_json text, p_xml xml)
RETURNS TABLE (newgrainstateversion integer) LANGUAGE plpgsql AS $$
BEGIN
    IF p_version IS NULL THEN
        -- First write: succeeds only if no row exists (a concurrent writer loses on the unique index).
        INSERT INTO orleansstorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring,
                                    grainidextensionstring, serviceid, payloadbinary, payloadjson, payloadxml, version)
        VALUES (p_id_hash, p_n0, p_n1, p_type_hash, p_type, p_ext, p_service, p_binary, p_json, p_xml, 1)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN RETURN QUERY SELECT 1; ELSE RETURN QUERY SELECT NULL::integer; END IF;
        RETURN;
    END IF;
    -- Later writes: only from the version the caller read (the etag); otherwise the same version comes back
    -- and Orleans raises InconsistentStateException.
    RETURN QUERY
    UPDATE orleansstorage
       SET payloadbinary = p_binary, payloadjson = p_json, payloadxml = p_xml, modifiedon = now(), version = version + 1
     WHERE grainidhash = p_id_hash AND graintypehash = p_type_hash AND grainidn0 = p_n0 AND grainidn1 = p_n1
       AND serviceid = p_service AND graintypestring = p_type
       AND COALESCE(grainidextensionstring, '') = COALESCE(p_ext, '')
       AND version = p_version
    RETURNING version;
    IF NOT FOUND THEN RETURN QUERY SELECT p_version; END IF;
END $$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('WriteToStorageKey',
 'SELECT * FROM tally_grain_state_write(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
     @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary, @PayloadJson, CAST(@PayloadXml AS xml));'),
('ReadFromStorageKey',
 'SELECT payloadbinary, payloadxml, payloadjson, now(), version FROM orleansstorage
   WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
     AND serviceid = @ServiceId AND graintypestring = @GrainTypeString
     AND COALESCE(grainidextensionstring, '''') = COALESCE(@GrainIdExtensionString, '''');'),
('ClearStorageKey',
 'UPDATE orleansstorage SET payloadbinary = NULL, payloadjson = NULL, payloadxml = NULL, version = version + 1
   WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
     AND serviceid = @ServiceId AND graintypestring = @GrainTypeString
     AND COALESCE(grainidextensionstring, '''') = COALESCE(@GrainIdExtensionString, '''')
     AND version = @GrainStateVersion
  RETURNING version AS newgrainstateversion;'),
('DeleteStorageKey',
 'DELETE FROM orleansstorage
   WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
     AND serviceid = @ServiceId AND graintypestring = @GrainTypeString
     AND COALESCE(grainidextensionstring, '''') = COALESCE(@GrainIdExtensionString, '''')
     AND version = @GrainStateVersion
  RETURNING version AS newgrainstateversion;');
