"""The only module that runs DuckDB.

Every lakehouse table a statement reads becomes a temporary view over its planned
Parquet files; the statement's SQL, rewritten to name those views, runs here. Results
stream as Arrow record batches: a relation's reader does not materialize rows ahead of
the consumer (a DB-API ``execute`` result would).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

DEFAULT_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class QueryColumns:
    names: tuple[str, ...]
    types: tuple[str, ...]  # DuckDB type names


class Engine:
    """One in-memory DuckDB database per session; it holds no data of its own."""

    def __init__(self) -> None:
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        # Footers are read again by every query of a table; keep them.
        self._con.execute("SET parquet_metadata_cache = true")
        # DuckDB's own progress bar would write into results piped to standard output.
        self._con.execute("SET enable_progress_bar = false")
        self._views: list[str] = []
        self._counter = 0

    def view(self, select_sql: str) -> str:
        """Create a temporary view over ``select_sql``; its name."""
        self._counter += 1
        name = f"__sqllake_scan_{self._counter}"
        self._con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {select_sql}')
        self._views.append(name)
        return name

    def register(self, table: pa.Table) -> str:
        """Expose an Arrow table (a metadata table, say) as a view; its name."""
        self._counter += 1
        name = f"__sqllake_arrow_{self._counter}"
        self._con.register(name, table)
        self._views.append(name)
        return name

    def row(self, select_sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The first row a constant SELECT returns (an empty tuple if none)."""
        rows = self._con.sql(select_sql, params=list(params) if params else None).fetchall()
        return tuple(rows[0]) if rows else ()

    def field_ids(self, paths: Sequence[str]) -> dict[str, set[int]]:
        """The Iceberg field ids each Parquet file holds, from the file footers."""
        listed = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
        found: dict[str, set[int]] = {path: set() for path in paths}
        rows = self._con.sql(
            f"SELECT file_name, field_id FROM parquet_schema({listed}) WHERE field_id IS NOT NULL"
        ).fetchall()
        for path, field_id in rows:
            found.setdefault(path, set()).add(int(field_id))
        return found

    def drop_views(self) -> None:
        """Forget the views of earlier statements (results already streaming keep theirs)."""
        for name in self._views:
            if name.startswith("__sqllake_arrow_"):
                self._con.unregister(name)
            else:
                self._con.execute(f'DROP VIEW IF EXISTS "{name}"')
        self._views.clear()

    def relation(self, sql: str, params: Sequence[Any] = ()) -> duckdb.DuckDBPyRelation:
        relation = self._con.sql(sql, params=list(params) if params else None)
        if relation is None:
            raise duckdb.InvalidInputException("statement returned no result")
        return relation

    @staticmethod
    def columns(relation: duckdb.DuckDBPyRelation) -> QueryColumns:
        return QueryColumns(tuple(relation.columns), tuple(str(t) for t in relation.types))

    @staticmethod
    def reader(
        relation: duckdb.DuckDBPyRelation, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> pa.RecordBatchReader:
        return relation.to_arrow_reader(batch_rows)

    def explain(self, sql: str, params: Sequence[Any] = ()) -> str:
        rows = self._con.execute(f"EXPLAIN {sql}", list(params) if params else None).fetchall()
        return "\n".join(str(row[-1]) for row in rows)

    def interrupt(self) -> None:
        """Cancel the running query (called from another thread, e.g. on Ctrl-C)."""
        self._con.interrupt()

    def close(self) -> None:
        self._con.close()
