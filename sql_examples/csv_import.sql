-- Load a CSV file into an Iceberg table with DuckDB's read_csv.
--
-- The CSV path is relative, and relative paths resolve against the working
-- directory: run this from the repository root:
--     sqllake sql_examples/csv_import.sql
-- The table is dropped and created again, so every run prints the same rows.

CREATE SCHEMA IF NOT EXISTS demo;
DROP TABLE IF EXISTS demo.products PURGE;

CREATE TABLE demo.products (
    id    BIGINT NOT NULL,
    name  VARCHAR,
    price DECIMAL(10,2),
    added DATE
);

-- read_csv detects the header and the column types; the INSERT casts them to the
-- table's types by position.
INSERT INTO demo.products
SELECT * FROM read_csv('sql_examples/data/products.csv');

SELECT added, count(*) AS products, sum(price) AS total
FROM demo.products
GROUP BY added
ORDER BY added;
