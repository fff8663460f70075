"""Queries: point lakehouse tables at pruned scans, run in DuckDB, stream the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from sqllake.errors import ProgrammingError
from sqllake.plan import nodes
from sqllake.read.pushdown import row_filter
from sqllake.read.query import TableReference, point_at_view, pruning_scope, table_references
from sqllake.read.scan import ScanPlan, plan_scan, scan_sql
from sqllake.result import Column, Result
from sqllake.sql.dialect import DIALECT

if TYPE_CHECKING:
    from pyiceberg.schema import Schema

    from sqllake.session import Session


@dataclass(frozen=True)
class PreparedQuery:
    sql: str
    scans: tuple[ScanPlan, ...]


def _resolver(ref: TableReference, schema: Schema, unqualified_is_mine: bool):  # type: ignore[no-untyped-def]
    names = {field.name.lower(): field.name for field in schema.fields}
    qualifiers = {ref.alias.lower(), ref.parts[-1].lower()}

    def resolve(column: exp.Column) -> str | None:
        qualifier = column.table.lower()
        if (qualifier and qualifier not in qualifiers) or (
            not qualifier and not unqualified_is_mine
        ):
            return None
        return names.get(column.name.lower())

    return resolve


def check_parameters(query: nodes.Query, params: Sequence[Any]) -> None:
    if query.parameters != len(params):
        raise ProgrammingError(
            f"the statement has {query.parameters} parameters (?) "
            f"but {len(params)} values were given",
            offset=0,
        )


def prepare(session: Session, query: nodes.Query) -> PreparedQuery:
    """The DuckDB SQL of ``query`` with every lakehouse table read from a pruned scan."""
    tree = query.tree.copy()
    scans = []
    for ref in table_references(tree, query.text):
        name = session.table_name(nodes.Name(ref.parts, ref.offset))
        table = session.load(name, ref.offset)
        where, unqualified_is_mine = pruning_scope(ref)
        schema = table.schema()
        predicate = row_filter(where, schema, _resolver(ref, schema, unqualified_is_mine))
        scan = plan_scan(table, name, predicate, session.transaction.files(name))
        point_at_view(ref, session.engine.view(scan_sql(scan)))
        scans.append(scan)
    return PreparedQuery(tree.sql(dialect=DIALECT), tuple(scans))


def run_query(session: Session, plan: nodes.Query, params: Sequence[Any]) -> Result:
    check_parameters(plan, params)
    prepared = prepare(session, plan)
    relation = session.engine.relation(prepared.sql, params)
    columns = session.engine.columns(relation)
    return Result(
        tuple(Column(n, t) for n, t in zip(columns.names, columns.types, strict=True)),
        session.engine.reader(relation),
        -1,
        "SELECT",
    )


def explain(session: Session, plan: nodes.Explain, params: Sequence[Any]) -> Result:
    check_parameters(plan.query, params)
    prepared = prepare(session, plan.query)
    lines = []
    for scan in prepared.scans:
        lines.append(
            f"scan {scan.table}: {len(scan.files)} of {scan.total_files} data files"
            + (f" (snapshot {scan.snapshot_id})" if scan.snapshot_id else " (empty table)")
        )
    lines.extend(session.engine.explain(prepared.sql, params).splitlines())
    return Result.rows("EXPLAIN", [("explain", "VARCHAR")], [(line,) for line in lines])
