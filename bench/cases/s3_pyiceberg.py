"""PyIceberg alone on the same S3 server and the same tables: ``append`` for the load,
``scan().to_arrow()`` handed to DuckDB for the queries (what a Python user would write).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

from bench.cases import queries
from bench.cases.pyiceberg_cases import _plain_strings
from bench.clock import measured
from bench.model import Inputs, Outcome
from bench.object_store import properties

# The columns each query reads (PyIceberg's scan selects them).
Q1_COLUMNS = (
    "l_returnflag",
    "l_linestatus",
    "l_quantity",
    "l_extendedprice",
    "l_discount",
    "l_tax",
    "l_shipdate",
)
Q6_COLUMNS = ("l_extendedprice", "l_discount", "l_quantity", "l_shipdate")


def _catalog(uri: str, warehouse: str, endpoint: str, name: str = "bench") -> SqlCatalog:
    return SqlCatalog(name, uri=uri, warehouse=warehouse, **properties(endpoint))


def append(inputs: Inputs) -> Outcome:
    warehouse = f"s3://{inputs.s3_bucket}/pyiceberg-{uuid.uuid4().hex[:8]}"
    catalog = _catalog(f"sqlite:///{Path(inputs.scratch) / 'c.db'}", warehouse, inputs.s3_endpoint)
    catalog.create_namespace("default")
    with measured() as lap:
        data = pq.read_table(inputs.lineitem)
        data = data.cast(_plain_strings(data.schema))
        table = catalog.create_table("default.lineitem", schema=data.schema)
        table.append(data)
    files = list(table.scan().plan_files())
    written = sum(t.file.file_size_in_bytes for t in files)
    return Outcome(lap.seconds, detail={"bytes_written": written, "files": len(files)})


def _query(inputs: Inputs, sql: str, columns: tuple[str, ...]) -> Outcome:
    with measured() as lap:
        # The table sqllake prepared, in its catalog (which sqllake names "sqllake").
        catalog = _catalog(inputs.s3_catalog, inputs.s3_warehouse, inputs.s3_endpoint, "sqllake")
        table = catalog.load_table("default.lineitem")
        lineitem = table.scan(selected_fields=columns).to_arrow()  # noqa: F841 - DuckDB reads it
        rows = duckdb.sql(sql).fetchall()
    return Outcome(lap.seconds, detail={"rows": len(rows), "digest": queries.digest(rows)})


def q1(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q1.format(source="lineitem"), Q1_COLUMNS)


def q6(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q6.format(source="lineitem"), Q6_COLUMNS)
