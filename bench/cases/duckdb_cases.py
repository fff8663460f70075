"""DuckDB alone: the floor for the load and the peer for every query.

Queries read the very Parquet files sqllake wrote, so any gap is sqllake's own cost
(planning from Iceberg metadata, views, result conversion), not a different layout.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from bench.cases import queries
from bench.clock import measured
from bench.model import Inputs, Outcome


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")  # as sqllake's engine does
    return con


def load_copy(inputs: Inputs) -> Outcome:
    con = _connect()
    target = Path(inputs.scratch) / "lineitem.parquet"
    source = queries.parquet_list([inputs.lineitem])
    with measured() as lap:
        con.execute(
            f"COPY (SELECT * FROM {source}) TO {queries.literal(str(target))} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    return Outcome(lap.seconds, detail={"bytes_written": target.stat().st_size, "files": 1})


def _query(inputs: Inputs, sql: str, files: tuple[str, ...], warm: bool = False) -> Outcome:
    con = _connect()
    text = sql.format(source=queries.parquet_list(files))
    if warm:  # the same query once before, on the same connection, not measured
        con.execute(text).fetchall()
    with measured() as lap:
        rows = con.execute(text).fetchall()
    return Outcome(lap.seconds, detail={"rows": len(rows), "digest": queries.digest(rows)})


def q1(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q1, inputs.lineitem_files)


def q6(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q6, inputs.lineitem_files)


def q1_warm(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q1, inputs.lineitem_files, warm=True)


def q6_warm(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q6, inputs.lineitem_files, warm=True)


def one_day(inputs: Inputs) -> Outcome:
    if not inputs.events_files:
        return Outcome(None, "not supported", {"reason": "no partitioned table was prepared"})
    # Without Iceberg metadata DuckDB opens every file's footer to skip by statistics.
    outcome = _query(inputs, queries.ONE_DAY, inputs.events_files)
    detail = dict(outcome.detail, files_total=len(inputs.events_files))
    return Outcome(outcome.seconds, detail=detail)


def scan(inputs: Inputs) -> Outcome:
    con = _connect()
    source = queries.parquet_list(inputs.lineitem_files)
    rows = 0
    with measured() as lap:
        # A relation's reader streams; an execute() result would hold every row first.
        reader = con.sql(f"SELECT * FROM {source}").to_arrow_reader(100_000)
        for batch in reader:
            rows += batch.num_rows
    return Outcome(lap.seconds, detail={"rows": rows})
