-- The change feed's clock. A transaction's events used to carry its
-- transaction ID, and readers took only those below the oldest transaction
-- still running on the server: any open transaction, in any database, held
-- every reader back. Now a transaction that writes events first makes
-- itself known and takes a value of this clock as the tx_id of its events
-- (crm_feed_enter), and a reader's horizon (crm_feed_horizon) waits only
-- for the transactions so known, in this schema.
--
-- crm_feed_enter takes, in this order: a shared advisory lock that marks the
-- transaction as an event writer, the next clock value, and a second lock
-- whose key holds that value (its low 32 bits), so that a reader can see it
-- in pg_locks; the value goes in crm.feed_tx, which the tx_id column's
-- default reads. The locks last until the transaction ends.
--
-- crm_feed_horizon reads the clock's last value c first, then pg_locks once:
-- every writer whose value is at most c made itself known before, so it is
-- in pg_locks unless it has ended; the horizon is the least value of those
-- still running, or c + 1. A writer seen with its mark but not yet its value
-- makes the horizon pending, and the reader asks again. Events below the
-- horizon are then read in a later statement, whose snapshot sees every
-- writer below it ended. A value is reconstructed from its 32 bits as the
-- one nearest to c.

-- The clock goes on from the transaction IDs of the events written before.
-- It belongs to the column, as seq's sequence does, so that what empties
-- the log with RESTART IDENTITY starts both again.
CREATE SEQUENCE crm_feed_clock OWNED BY crm_events.tx_id;
SELECT setval('crm_feed_clock', max(tx_id) + 1, false) FROM crm_events HAVING max(tx_id) > 0;

CREATE FUNCTION crm_feed_enter() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v bigint;
    low bigint;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext(current_schema() || '.crm_feed.mark'), 0);
    v := nextval('crm_feed_clock');
    low := v % 4294967296;
    IF low >= 2147483648 THEN
        low := low - 4294967296;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext(current_schema() || '.crm_feed.value'), low::int);
    PERFORM set_config('crm.feed_tx', v::text, true);
    RETURN v;
END
$$;

CREATE FUNCTION crm_feed_horizon(OUT horizon bigint, OUT pending boolean) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c bigint;
    mark oid := ((hashtext(current_schema() || '.crm_feed.mark')::bigint + 4294967296) % 4294967296)::oid;
    val oid := ((hashtext(current_schema() || '.crm_feed.value')::bigint + 4294967296) % 4294967296)::oid;
    db oid := (SELECT oid FROM pg_database WHERE datname = current_database());
BEGIN
    -- The sequence's state now, whatever the transaction's snapshot; before
    -- its first nextval, the value it starts at less one.
    c := COALESCE(pg_sequence_last_value('crm_feed_clock'::regclass), (SELECT last_value - 1 FROM crm_feed_clock));
    -- One read of pg_locks for both: a writer between its value and its
    -- lock must be seen as pending in the same view that lacks its value.
    WITH l AS MATERIALIZED (
        SELECT classid, objid, virtualtransaction FROM pg_locks
        WHERE locktype = 'advisory' AND database = db AND objsubid = 2 AND classid IN (mark, val))
    SELECT min(c + ((l.objid::bigint - c % 4294967296 + 4294967296 + 2147483648) % 4294967296) - 2147483648) FILTER (WHERE l.classid = val),
           COALESCE(bool_or(l.classid = mark AND NOT EXISTS (
               SELECT 1 FROM l v WHERE v.classid = val AND v.virtualtransaction = l.virtualtransaction)), false)
        INTO horizon, pending
        FROM l;
    horizon := LEAST(COALESCE(horizon, c + 1), c + 1);
END
$$;

ALTER TABLE crm_events ALTER COLUMN tx_id SET DEFAULT (current_setting('crm.feed_tx')::bigint);
