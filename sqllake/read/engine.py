"""The only module that runs DuckDB.

Every lakehouse table a statement reads becomes an inline view over its planned
Parquet files: the statement's SQL names it by a placeholder, which is replaced by the
scan's SELECT as a subquery just before DuckDB sees the text. (A DuckDB view would be
bound twice, once when created and again in the query.) Results stream as Arrow record
batches: a relation's reader does not materialize rows ahead of the consumer (a DB-API
``execute`` result would).

A query that streams is handed to DuckDB once. The client's relation API parses and binds
a statement when the relation is made and again when its reader runs it; the one-pass
submit those readers end in (internal to the client, reached through ``compat/duckdb.py``)
is used where the installed client has it, and the relation API where it does not.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from sqllake.compat.duckdb import ONE_PASS, submit_stream
from sqllake.sql.text import string_list

DEFAULT_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class QueryColumns:
    names: tuple[str, ...]
    types: tuple[str, ...]  # DuckDB type names


@dataclass(frozen=True)
class Stream:
    """A running query: its columns and the reader its rows arrive through.

    Until the reader is exhausted or closed, the engine runs nothing else (DuckDB:
    "connection has an open result"). A consumer that may stop early, a write that
    fails part-way say, uses the stream as a context manager, which closes it.
    """

    columns: QueryColumns
    batches: pa.RecordBatchReader

    def close(self) -> None:
        self.batches.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# What sqllake sets in every session's engine (RESET of one of them comes back here):
# timestamps with a zone convert in UTC unless the session says otherwise; footers are
# read again by every query of a table, so they are kept; DuckDB's own progress bar
# would write into results piped to standard output; local files are read without
# DuckDB's Parquet prefetching (see _statement).
SESSION_SETTINGS = {
    "TimeZone": "'UTC'",
    "parquet_metadata_cache": "true",
    "enable_progress_bar": "false",
    "disable_parquet_prefetching": "true",
}


class Engine:
    """One in-memory DuckDB database per session; it holds no data of its own."""

    def __init__(self, one_pass: bool = ONE_PASS) -> None:
        self._one_pass = one_pass
        self._con = duckdb.connect(":memory:")
        for name, value in SESSION_SETTINGS.items():
            self._con.execute(f"SET {name} = {value}")
        self._prefetching = False
        self._schemes: set[str] = set()  # object stores registered on the connection
        self.time_zone = "UTC"  # the TimeZone and threads settings, as of the last
        self.threads = 1  # settings statement (see apply)
        self._read_settings()
        self._views: list[str] = []
        self._temporary: list[str] = []  # tables of the statement (see materialize)
        self._counter = 0
        # Placeholders carry a token of this engine so no text a user wrote can match.
        self._token = uuid.uuid4().hex[:12]
        self._inline: dict[str, str] = {}
        self._placeholder = re.compile(f'"(__sqllake_scan_{self._token}_[0-9]+)"')
        self._interrupted = False  # a cancel that came before the statement's next query

    def view(self, select_sql: str) -> str:
        """An inline view over ``select_sql`` for this statement; the name to query it by."""
        self._counter += 1
        name = f"__sqllake_scan_{self._token}_{self._counter}"
        self._inline[name] = select_sql
        return name

    def _statement(self, sql: str) -> str:
        """The text DuckDB runs for ``sql``, with DuckDB set up to read its files.

        Inline views' names are replaced by their SELECTs in parentheses. DuckDB 2
        prefetches every Parquet read; for files on a local disk (the page cache, mostly)
        that costs more than it saves: Q6 of TPC-H SF1 runs in 62 ms instead of 68 on a
        new connection, a full scan needs 20 MiB less. A statement that names a URL
        (object storage, HTTP) keeps it.
        """
        if self._interrupted:
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
        if self._inline:
            sql = self._placeholder.sub(lambda found: f"({self._inline[found[1]]})", sql)
        prefetch = "://" in sql
        if prefetch:
            self._reach_object_stores(sql)
        if prefetch != self._prefetching:
            self._con.execute(f"SET disable_parquet_prefetching = {str(not prefetch).lower()}")
            self._prefetching = prefetch
        return sql

    def _reach_object_stores(self, sql: str) -> None:
        """Give DuckDB the object stores ``sql`` names, through sqllake's storage layer
        (DuckDB's own S3 support is an extension this wheel lacks; see storage.py).
        The storage layer (PyIceberg's file IO) is imported by the first such statement."""
        from sqllake.storage import OBJECT_STORE_SCHEMES, DuckDBFileSystem

        for scheme in OBJECT_STORE_SCHEMES:
            if scheme not in self._schemes and f"{scheme}://" in sql:
                self._con.register_filesystem(DuckDBFileSystem.for_scheme(scheme))
                self._schemes.add(scheme)

    def register(self, table: pa.Table) -> str:
        """Expose an Arrow table (a metadata table, say) as a view; its name."""
        self._counter += 1
        name = f"__sqllake_arrow_{self._counter}"
        self._con.register(name, table)
        self._views.append(name)
        return name

    def materialize(self, select_sql: str, params: Sequence[Any] = ()) -> str:
        """Run a query into a temporary table of this statement (DuckDB spills it to
        disk when it outgrows memory); its name."""
        self._counter += 1
        name = f"__sqllake_temp_{self._counter}"
        sql = f"CREATE TEMPORARY TABLE {name} AS {self._statement(select_sql)}"
        self._con.execute(sql, list(params) if params else None)
        self._temporary.append(name)
        return name

    def row(self, select_sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The first row a constant SELECT returns (an empty tuple if none)."""
        sql = self._statement(select_sql)
        rows = self._con.sql(sql, params=list(params) if params else None).fetchall()
        return tuple(rows[0]) if rows else ()

    def field_ids(self, paths: Sequence[str]) -> dict[str, set[int]]:
        """The Iceberg field ids each Parquet file holds, from the file footers."""
        listed = string_list(paths)
        found: dict[str, set[int]] = {path: set() for path in paths}
        query = (
            f"SELECT file_name, field_id FROM parquet_schema({listed}) WHERE field_id IS NOT NULL"
        )
        rows = self._con.sql(self._statement(query)).fetchall()
        for path, field_id in rows:
            found.setdefault(path, set()).add(int(field_id))
        return found

    def drop_views(self) -> None:
        """Forget the views of earlier statements (results already streaming keep theirs)."""
        for name in self._views:
            self._con.unregister(name)
        self._views.clear()
        for name in self._temporary:
            self._con.execute(f"DROP TABLE IF EXISTS {name}")
        self._temporary.clear()
        self._inline.clear()

    def relation(self, sql: str, params: Sequence[Any] = ()) -> duckdb.DuckDBPyRelation:
        relation = self._con.sql(self._statement(sql), params=list(params) if params else None)
        if relation is None:
            raise duckdb.InvalidInputException("statement returned no result")
        return relation

    @staticmethod
    def columns(relation: duckdb.DuckDBPyRelation) -> QueryColumns:
        return QueryColumns(tuple(relation.columns), tuple(str(t) for t in relation.types))

    def stream(
        self, sql: str, params: Sequence[Any] = (), batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Stream:
        """Run a query; its rows are read from the stream as the consumer asks."""
        if not self._one_pass:
            relation = self.relation(sql, params)
            return Stream(self.columns(relation), relation.to_arrow_reader(batch_rows))
        values = list(params) if params else None
        result = submit_stream(self._con, self._statement(sql), values, batch_rows)
        if not result.description:
            raise duckdb.InvalidInputException("statement returned no result")
        names = tuple(str(column[0]) for column in result.description)
        types = tuple(str(column[1]) for column in result.description)
        return Stream(QueryColumns(names, types), result.arrow_reader())

    def explain(self, sql: str, params: Sequence[Any] = ()) -> str:
        explained = f"EXPLAIN {self._statement(sql)}"
        rows = self._con.execute(explained, list(params) if params else None).fetchall()
        return "\n".join(str(row[-1]) for row in rows)

    def apply(self, sql: str) -> Stream | None:
        """Run a settings statement (SET, RESET, PRAGMA); the rows it gives, if any."""
        try:
            relation = self._con.sql(sql)
        finally:
            self._read_settings()
        if relation is None or list(relation.columns) == ["Success"]:
            return None
        return Stream(self.columns(relation), relation.to_arrow_reader(DEFAULT_BATCH_ROWS))

    def setting(self, name: str) -> Any:
        """The current value of a DuckDB setting."""
        return self._con.sql("SELECT current_setting(?)", params=[name]).fetchall()[0][0]

    def _read_settings(self) -> None:
        (found,) = self._con.sql(
            "SELECT current_setting('TimeZone'), current_setting('threads')"
        ).fetchall()
        self.time_zone, self.threads = str(found[0]), int(found[1])

    def interrupt(self) -> None:
        """Cancel the statement (called from another thread, e.g. on Ctrl-C): its running
        query, or, while it is between queries (still planning), its next one."""
        self._interrupted = True
        self._con.interrupt()

    def start_statement(self) -> None:
        """A new statement: forget the views and any cancel of the one before."""
        self._interrupted = False
        self.drop_views()

    def close(self) -> None:
        self._con.close()
