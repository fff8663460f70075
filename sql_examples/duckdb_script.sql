-- A DuckDB user's script runs unchanged: settings, DuckDB's ALTER TABLE spellings,
-- column defaults (an Iceberg format 3 table) and ABORT.
SET threads = 2;
SET memory_limit = '1GB';
SET TimeZone = 'Europe/Amsterdam';

CREATE SCHEMA IF NOT EXISTS support;
DROP TABLE IF EXISTS support.tickets PURGE;
CREATE TABLE support.tickets (
  id BIGINT NOT NULL,
  opened TIMESTAMPTZ,
  status VARCHAR DEFAULT 'open',
  priority INTEGER DEFAULT 3
);
ALTER TABLE support.tickets SET PARTITIONED BY (day(opened));
ALTER TABLE support.tickets SET SORTED BY (priority);

-- Times without an offset are in the session's time zone; left-out columns get defaults.
INSERT INTO support.tickets (id, opened) VALUES (1, '2026-01-05 09:00:00'), (2, '2026-01-05 23:30:00');
INSERT INTO support.tickets VALUES (3, '2026-01-06 10:00:00', 'closed', DEFAULT);

BEGIN TRANSACTION;
INSERT INTO support.tickets (id, opened) VALUES (4, '2026-01-07 08:00:00');
ABORT;

-- Rows written before a column existed read its default.
ALTER TABLE support.tickets ADD COLUMN IF NOT EXISTS team VARCHAR DEFAULT 'first line';
ALTER TABLE support.tickets ALTER COLUMN priority SET DEFAULT 2;
INSERT INTO support.tickets (id, opened) VALUES (5, '2026-01-08 12:00:00');

SELECT id, opened, status, priority, team FROM support.tickets ORDER BY id;
SELECT current_setting('TimeZone') AS zone, current_setting('threads') AS threads;
PRAGMA table_info('support.tickets');
