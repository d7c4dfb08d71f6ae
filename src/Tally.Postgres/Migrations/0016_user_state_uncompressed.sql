-- A saved user state (about 3 KB) was compressed with pglz on every save, the largest single cost of
-- PostgreSQL in an ingest profile. States stay inline and uncompressed up to a page; larger ones go
-- out of line, still uncompressed. Disk for CPU: states are rewritten often and read rarely.
ALTER TABLE user_state ALTER COLUMN stats SET STORAGE EXTERNAL;
ALTER TABLE user_state SET (toast_tuple_target = 8160);
