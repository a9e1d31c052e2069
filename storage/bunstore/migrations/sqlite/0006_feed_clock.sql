-- The change feed's clock is Postgres's (see the postgres line's 0006):
-- SQLite has one writer at a time, and its events are ordered by seq alone.
SELECT 1;
