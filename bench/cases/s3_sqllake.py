"""sqllake with its tables in S3 (SeaweedFS, started by the runner) and a SQLite catalog.

``prepare_s3`` loads lineitem once per run (not measured); the query cases read it in
a new process each, so they include opening the catalog and planning, as the local
query cases do.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import sqllake
from bench.cases import queries
from bench.clock import measured
from bench.model import PREPARED, Inputs, Outcome
from bench.object_store import properties


def _cursor(warehouse: str, catalog: str, endpoint: str) -> sqllake.Cursor:
    con = sqllake.connect(
        warehouse, catalog=catalog, autocommit=True, properties=properties(endpoint)
    )
    return con.cursor()


def _load(cur: sqllake.Cursor, source: str) -> int:
    cur.execute(f"CREATE TABLE lineitem {queries.LINEITEM_COLUMNS}")
    cur.execute(f"INSERT INTO lineitem SELECT * FROM {queries.parquet_list([source])}")
    cur.execute('SELECT count(*), sum(file_size_in_bytes) FROM "lineitem$files"')
    files, written = cur.fetchall()[0]
    return int(files), int(written)


def load(inputs: Inputs) -> Outcome:
    warehouse = f"s3://{inputs.s3_bucket}/load-{uuid.uuid4().hex[:8]}"
    catalog = f"sqlite:///{Path(inputs.scratch) / 'catalog.db'}"
    cur = _cursor(warehouse, catalog, inputs.s3_endpoint)
    with measured() as lap:
        files, written = _load(cur, inputs.lineitem)
    return Outcome(lap.seconds, detail={"bytes_written": written, "files": files})


def prepare(inputs: Inputs) -> Outcome:
    cur = _cursor(inputs.s3_warehouse, inputs.s3_catalog, inputs.s3_endpoint)
    _load(cur, inputs.lineitem)
    (Path(inputs.scratch) / PREPARED).write_text(json.dumps({}))
    return Outcome(None)


def _query(inputs: Inputs, sql: str) -> Outcome:
    with measured() as lap:
        cur = _cursor(inputs.s3_warehouse, inputs.s3_catalog, inputs.s3_endpoint)
        cur.execute(sql)
        rows = cur.fetchall()
    return Outcome(lap.seconds, detail={"rows": len(rows), "digest": queries.digest(rows)})


def q1(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q1.format(source="lineitem"))


def q6(inputs: Inputs) -> Outcome:
    return _query(inputs, queries.Q6.format(source="lineitem"))
