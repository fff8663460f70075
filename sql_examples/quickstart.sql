-- sqllake quick start: a schema, a table, some rows, two queries.
-- Run it again and again: the table is created afresh each time.

CREATE SCHEMA IF NOT EXISTS demo;
DROP TABLE IF EXISTS demo.events PURGE;

CREATE TABLE demo.events (
    id     BIGINT NOT NULL,
    ts     TIMESTAMPTZ,
    kind   VARCHAR,
    amount DECIMAL(10,2)
) PARTITIONED BY (day(ts));

INSERT INTO demo.events VALUES
    (1, '2026-01-01 09:00:00+00', 'click',    NULL),
    (2, '2026-01-01 09:05:00+00', 'purchase', 19.99),
    (3, '2026-01-02 14:30:00+00', 'click',    NULL),
    (4, '2026-01-02 15:00:00+00', 'purchase', 5.50),
    (5, '2026-01-03 08:00:00+00', 'view',     NULL);

-- Writes are buffered until a flush; FLUSH makes them Parquet files and a snapshot
-- that every Iceberg engine reads.
FLUSH demo.events;

SELECT kind, count(*) AS events, sum(amount) AS revenue
FROM demo.events
GROUP BY kind
ORDER BY kind;

SELECT id, ts, kind
FROM demo.events
WHERE ts >= '2026-01-02'
ORDER BY id;
