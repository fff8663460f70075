"""Queries: point lakehouse tables at pruned scans, run in DuckDB, stream the result."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqllake.errors import ProgrammingError
from sqllake.plan import nodes
from sqllake.read.query import feed_calls, table_references
from sqllake.result import Column, Result
from sqllake.secrets import mask
from sqllake.sql.dialect import DIALECT

if TYPE_CHECKING:
    from sqllake.context import Context
    from sqllake.read.scan import ScanPlan


@dataclass(frozen=True)
class PreparedQuery:
    sql: str
    scans: tuple[ScanPlan, ...]


def check_parameters(query: nodes.Query, params: Sequence[Any]) -> None:
    if query.parameters != len(params):
        raise ProgrammingError(
            f"the statement has {query.parameters} parameters (?) "
            f"but {len(params)} values were given",
            offset=0,
        )


def prepare(session: Context, query: nodes.Query, light: bool = False) -> PreparedQuery:
    """The DuckDB SQL of ``query`` with every lakehouse table read from a pruned scan;
    ``light``: small plain tables may be read without opening the catalog (no scans are
    then reported)."""
    tree = query.tree.copy()
    references = table_references(tree, query.text)
    scans: tuple[ScanPlan, ...] = ()
    if light and references:
        from sqllake.execute.light_scans import point_at_tables as point_lightly

        if point_lightly(session, tree, references):
            return PreparedQuery(tree.sql(dialect=DIALECT, copy=False), scans)
    if references or next(feed_calls(tree), None) is not None:
        # Only a statement that reads a table needs the catalog and PyIceberg.
        from sqllake.execute.lakehouse_scans import point_at_tables

        scans = point_at_tables(session, tree, references)
    # The tree is this statement's own copy: the generator need not copy it again.
    return PreparedQuery(tree.sql(dialect=DIALECT, copy=False), scans)


def run_query(session: Context, plan: nodes.Query, params: Sequence[Any]) -> Result:
    check_parameters(plan, params)
    prepared = prepare(session, plan, light=True)
    stream = session.engine.stream(prepared.sql, params)
    columns = stream.columns
    return Result(
        tuple(Column(n, t) for n, t in zip(columns.names, columns.types, strict=True)),
        stream.batches,
        -1,
        "SELECT",
    )


def _scan_line(scan: ScanPlan) -> str:
    if scan.snapshot_id is None and not scan.files and not scan.buffered_rows:
        return f"scan {scan.table}: 0 of 0 data files (empty table)"
    deletes = len(scan.position_deletes) + len(scan.equality_deletes) + len(scan.deletion_vectors)
    return (
        f"scan {scan.table}: {len(scan.files)} of {scan.total_files} data files, "
        f"{scan.manifests_read} of {scan.manifests_total} manifests"
        + (f", {deletes} delete files" if deletes else "")
        + (f", {scan.buffered_rows} buffered rows" if scan.buffered_rows else "")
        + (f" (snapshot {scan.snapshot_id})" if scan.snapshot_id else "")
    )


def explain(session: Context, plan: nodes.Explain, params: Sequence[Any]) -> Result:
    """The scan plan of every lakehouse table, then DuckDB's plan.

    EXPLAIN ANALYZE also runs the query and reports planning time, bytes of the data
    files scanned, rows returned and execution time.
    """
    check_parameters(plan.query, params)
    started = time.perf_counter()
    prepared = prepare(session, plan.query)
    planning = time.perf_counter() - started
    lines = [_scan_line(scan) for scan in prepared.scans]
    if plan.analyze:
        started = time.perf_counter()
        with session.engine.stream(prepared.sql, params) as stream:
            rows = sum(batch.num_rows for batch in stream.batches)
        elapsed = time.perf_counter() - started
        scanned = sum(scan.bytes for scan in prepared.scans)
        lines += [
            f"planning time: {planning * 1000:.1f} ms",
            f"data files scanned: {scanned} bytes",
            f"rows: {rows}",
            f"execution time: {elapsed * 1000:.1f} ms",
        ]
    lines.extend(session.engine.explain(prepared.sql, params).splitlines())
    return Result.rows("EXPLAIN", [("explain", "VARCHAR")], [(_masked(line),) for line in lines])


def _masked(line: str) -> str:
    """A plan line with its credentials masked (DuckDB's plan quotes the statement's
    literals and URLs); a line of a box keeps its width, so the box stays closed."""
    masked = mask(line)
    if masked != line and line.endswith("│"):
        masked = masked[:-1].ljust(len(line) - 1) + "│"
    return masked
