"""PyIceberg alone: the peer a Python user would reach for to write Iceberg.

``table.append`` takes a whole Arrow table, so the file is read into memory first; that
read is part of the measured load, as DuckDB's and sqllake's reads are part of theirs.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

from bench.clock import measured
from bench.model import Inputs, Outcome


def _plain_strings(schema: pa.Schema) -> pa.Schema:
    # tpchgen writes string_view columns; PyIceberg's writer expects plain strings.
    return pa.schema(
        [f.with_type(pa.string()) if pa.types.is_string_view(f.type) else f for f in schema]
    )


def append(inputs: Inputs) -> Outcome:
    scratch = Path(inputs.scratch)
    catalog = SqlCatalog(
        "bench", uri=f"sqlite:///{scratch / 'catalog.db'}", warehouse=scratch.as_uri()
    )
    catalog.create_namespace("default")
    with measured() as lap:
        data = pq.read_table(inputs.lineitem)
        data = data.cast(_plain_strings(data.schema))
        table = catalog.create_table("default.lineitem", schema=data.schema)
        table.append(data)
    files = [Path(t.file.file_path.removeprefix("file://")) for t in table.scan().plan_files()]
    written = sum(f.stat().st_size for f in files)
    return Outcome(lap.seconds, detail={"bytes_written": written, "files": len(files)})
