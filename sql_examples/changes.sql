-- Change feed: what each commit of a table inserted, and the table's statistics.
-- Run it again and again: the table is created afresh each time.

CREATE SCHEMA IF NOT EXISTS demo;
DROP TABLE IF EXISTS demo.orders PURGE;

CREATE TABLE demo.orders (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR, total DECIMAL(10,2));

INSERT INTO demo.orders VALUES (1, 'ada', 12.50), (2, 'bob', 7.00);
FLUSH demo.orders;

ALTER TABLE demo.orders ADD COLUMN channel VARCHAR;
INSERT INTO demo.orders VALUES (3, 'cy', 30.00, 'web');
FLUSH demo.orders;

-- Every change since the table was created, oldest commit first.
SELECT _change_ordinal, _change_type, id, customer, total, channel
FROM table_changes('demo.orders')
ORDER BY _change_ordinal, id;

-- Only the last day's changes, counted by kind.
SELECT _change_type, count(*) AS changes
FROM table_changes('demo.orders', now() - INTERVAL 1 DAY)
GROUP BY ALL;

-- Statistics kept from the metadata (also: SHOW TABLE EXTENDED IN demo, .tables+ demo).
SELECT table_name, row_count, data_files, snapshot_count, last_operation
FROM information_schema.tables
WHERE table_schema = 'demo' AND table_name = 'orders';

-- On the command line, `sqllake changes demo.orders --follow` prints new commits as they land.
