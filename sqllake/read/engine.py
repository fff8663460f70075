"""The only module that runs DuckDB.

Every lakehouse table a statement reads becomes an inline view over its planned
Parquet files: the statement's SQL names it by a placeholder, which is replaced by the
scan's SELECT as a subquery just before DuckDB sees the text. (A DuckDB view would be
bound twice, once when created and again in the query.) Results stream as Arrow record
batches: a relation's reader does not materialize rows ahead of the consumer (a DB-API
``execute`` result would).
"""

from __future__ import annotations

import re
import uuid
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
        # Placeholders carry a token of this engine so no text a user wrote can match.
        self._token = uuid.uuid4().hex[:12]
        self._inline: dict[str, str] = {}
        self._placeholder = re.compile(f'"(__sqllake_scan_{self._token}_[0-9]+)"')

    def view(self, select_sql: str) -> str:
        """An inline view over ``select_sql`` for this statement; the name to query it by."""
        self._counter += 1
        name = f"__sqllake_scan_{self._token}_{self._counter}"
        self._inline[name] = select_sql
        return name

    def _expand(self, sql: str) -> str:
        """``sql`` with every inline view's name replaced by its SELECT in parentheses."""
        if not self._inline:
            return sql
        return self._placeholder.sub(lambda found: f"({self._inline[found[1]]})", sql)

    def register(self, table: pa.Table) -> str:
        """Expose an Arrow table (a metadata table, say) as a view; its name."""
        self._counter += 1
        name = f"__sqllake_arrow_{self._counter}"
        self._con.register(name, table)
        self._views.append(name)
        return name

    def row(self, select_sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The first row a constant SELECT returns (an empty tuple if none)."""
        sql = self._expand(select_sql)
        rows = self._con.sql(sql, params=list(params) if params else None).fetchall()
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
            self._con.unregister(name)
        self._views.clear()
        self._inline.clear()

    def relation(self, sql: str, params: Sequence[Any] = ()) -> duckdb.DuckDBPyRelation:
        relation = self._con.sql(self._expand(sql), params=list(params) if params else None)
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
        explained = f"EXPLAIN {self._expand(sql)}"
        rows = self._con.execute(explained, list(params) if params else None).fetchall()
        return "\n".join(str(row[-1]) for row in rows)

    def interrupt(self) -> None:
        """Cancel the running query (called from another thread, e.g. on Ctrl-C)."""
        self._con.interrupt()

    def close(self) -> None:
        self._con.close()
