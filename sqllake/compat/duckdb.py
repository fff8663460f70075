"""DuckDB client internals sqllake relies on: the one-pass submit of a streaming query.

The client's relation API parses and binds a statement when the relation is made and
again when its reader runs it. The readers end in ``DuckDBPyConnection._submit``,
internal to the client, which runs a statement once and hands back a result whose Arrow
reader streams. It is used where the installed client has it (:data:`ONE_PASS`).
"""

from __future__ import annotations

from typing import Any

import duckdb

ONE_PASS = hasattr(duckdb.DuckDBPyConnection, "_submit")


def submit_stream(
    con: duckdb.DuckDBPyConnection, sql: str, values: list[Any] | None, batch_rows: int
) -> Any:
    """Run ``sql`` once; the result has ``description`` and ``arrow_reader()``."""
    return con._submit(sql, values, "stream", batch_rows)
