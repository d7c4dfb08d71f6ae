-- Orleans.Persistence.AdoNet 10.4 binds only @PayloadBinary (no @PayloadJson / @PayloadXml); an
-- unbound @Name reaches PostgreSQL as the prefix operator '@' on a column and fails. Write binary only.
UPDATE orleansquery SET querytext =
 'SELECT * FROM tally_grain_state_write(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
     @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary, NULL, NULL);'
WHERE querykey = 'WriteToStorageKey';
