"""The SQL every engine runs, with the table (or file list) to read filled in.

Both engines run the very same text so a time ratio compares the engines, not the SQL.
"""

from __future__ import annotations

import hashlib

LINEITEM_COLUMNS = """(
    l_orderkey BIGINT NOT NULL, l_partkey BIGINT NOT NULL, l_suppkey BIGINT NOT NULL,
    l_linenumber INT NOT NULL, l_quantity DECIMAL(15, 2) NOT NULL,
    l_extendedprice DECIMAL(15, 2) NOT NULL, l_discount DECIMAL(15, 2) NOT NULL,
    l_tax DECIMAL(15, 2) NOT NULL, l_returnflag VARCHAR NOT NULL,
    l_linestatus VARCHAR NOT NULL, l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL,
    l_receiptdate DATE NOT NULL, l_shipinstruct VARCHAR NOT NULL,
    l_shipmode VARCHAR NOT NULL, l_comment VARCHAR NOT NULL
)"""

EVENTS_COLUMNS = "(id BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, v DOUBLE, note VARCHAR)"

Q1 = """
SELECT l_returnflag, l_linestatus,
       sum(l_quantity) AS sum_qty,
       sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       avg(l_quantity) AS avg_qty,
       avg(l_extendedprice) AS avg_price,
       avg(l_discount) AS avg_disc,
       count(*) AS count_order
FROM {source}
WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL 90 DAY
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus
"""

Q6 = """
SELECT sum(l_extendedprice * l_discount) AS revenue
FROM {source}
WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01'
  AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24
"""

# One of the 365 days; the partitioned table should open that day's files only.
ONE_DAY = """
SELECT count(*) AS n, sum(v) AS total
FROM {source}
WHERE ts >= TIMESTAMPTZ '2025-06-01 00:00:00+00' AND ts < TIMESTAMPTZ '2025-06-02 00:00:00+00'
"""


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def parquet_list(paths: tuple[str, ...] | list[str]) -> str:
    """``read_parquet([...])`` over the given files."""
    return f"read_parquet([{', '.join(literal(p) for p in paths)}])"


def digest(rows: list[tuple[object, ...]]) -> str:
    """A short fingerprint of a result, to check both engines answered alike.

    Floats are rounded: a DOUBLE sum depends on the order rows are added in, and the
    two engines read the files in different orders.
    """
    rounded = [tuple(f"{v:.9g}" if isinstance(v, float) else v for v in row) for row in rows]
    return hashlib.sha256(repr(rounded).encode()).hexdigest()[:16]
