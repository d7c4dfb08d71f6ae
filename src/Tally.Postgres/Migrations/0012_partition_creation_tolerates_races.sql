-- Two commits that need the same new month could both miss the partition, serialise on the advisory
-- lock, and the second then failed with 42P07 "relation already exists": its catalog snapshot, taken
-- before the first committed, still said "missing". A failed creation failed the whole group commit,
-- so every caller in it (of any tenant) got 503. Creation now treats "someone else made it" as done.
CREATE OR REPLACE FUNCTION tally_ensure_event_partition(p_day date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', p_day)::date;
    part_name   text := format('user_action_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
BEGIN
    IF to_regclass(part_name) IS NOT NULL THEN
        RETURN part_name;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(part_name));
    BEGIN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF user_action_events FOR VALUES FROM (%L) TO (%L)',
                       part_name, month_start, (month_start + interval '1 month')::date);
    EXCEPTION
        -- 42P07: created by a concurrent caller; 42P17: an overlapping partition (the same month) exists.
        WHEN duplicate_table OR invalid_object_definition THEN NULL;
    END;
    RETURN part_name;
END $$;

-- Creates every month partition from p_from to p_to (inclusive); returns how many were missing.
CREATE OR REPLACE FUNCTION tally_ensure_event_partitions(p_from date, p_to date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', p_from)::date;
    created     integer := 0;
BEGIN
    WHILE month_start <= p_to LOOP
        IF to_regclass(format('user_action_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'))) IS NULL THEN
            PERFORM tally_ensure_event_partition(month_start);
            created := created + 1;
        END IF;
        month_start := (month_start + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$;
