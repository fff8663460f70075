"""``table_changes('schema.t', start, end)``: the change feed as a table function of
queries (a face of :mod:`sqllake.changes`).

``start`` (exclusive) and ``end`` (inclusive) are snapshot ids, tag or branch names, or
moments (a TIMESTAMP, a DATE or a string that casts to one); NULL or left out means
the table's first snapshot and its current one. Each argument is a constant that the
engine evaluates, so ``now() - INTERVAL 1 HOUR`` works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.table import Table
from sqlglot import exp

from sqllake.catalog import TableName
from sqllake.changes.feed import feed_sql as changes_sql
from sqllake.changes.plan import Bound
from sqllake.errors import ProgrammingError, located
from sqllake.execute.constants import evaluate, moment, refuse_non_constant
from sqllake.plan import nodes
from sqllake.read.query import FEED_FUNCTION as FUNCTION
from sqllake.read.query import feed_calls as feed_calls
from sqllake.sql.dialect import DIALECT
from sqllake.sql.syntax import normalize, offset_of

if TYPE_CHECKING:
    from sqllake.context import Context

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER"}


def _constant(session: Context, argument: exp.Expr, offset: int) -> tuple[object, str]:
    message = f"the arguments of {FUNCTION} must be constants"
    refuse_non_constant(argument, message, offset_of(argument) or offset)
    sql = argument.sql(dialect=DIALECT)
    value, kind = evaluate(session, f"SELECT ({sql}), typeof(({sql}))")
    return value, str(kind)


def _bound(session: Context, table: Table, argument: exp.Expr, offset: int) -> Bound | None:
    value, kind = _constant(session, argument, offset)
    if value is None:
        return None
    if kind in _INTEGER_TYPES:
        return Bound(snapshot_id=int(str(value)))
    if isinstance(value, str):
        if value.isdigit():
            return Bound(snapshot_id=int(value))
        if value in table.metadata.refs:
            return Bound(ref=value)
    return Bound(moment=moment(session, argument.sql(dialect=DIALECT)))


def table_name_of(session: Context, text: str, offset: int = 0) -> TableName:
    """The table a name written as a string (``'schema.t'``, ``'t'``) refers to."""
    try:
        written = exp.to_table(text, dialect=DIALECT)
    except Exception as exc:
        raise ProgrammingError(f"{text!r} is not a table name", offset=offset) from exc
    parts = tuple(normalize(p) for p in written.parts)
    return session.table_name(nodes.Name(parts, offset))


def _table_name(session: Context, argument: exp.Expr, offset: int) -> TableName:
    value, _ = _constant(session, argument, offset)
    if not isinstance(value, str) or not value.strip():
        raise ProgrammingError(
            f"the first argument of {FUNCTION} is the table's name, as a string: "
            f"{FUNCTION}('schema.table', start, end)"
        )
    return table_name_of(session, value, offset)


def feed_sql(session: Context, node: exp.Table) -> str:
    """The DuckDB SELECT of one ``table_changes(...)`` call: its arguments evaluated, the
    feed planned by :mod:`sqllake.changes.feed`."""
    function = node.this
    offset = function.meta.get("start", offset_of(node))
    arguments = list(function.expressions)
    if not 1 <= len(arguments) <= 3:
        raise ProgrammingError(
            f"{FUNCTION} takes a table name and up to two bounds: "
            f"{FUNCTION}('schema.table', start, end)",
            offset=offset,
        )
    with located(offset):
        name = _table_name(session, arguments[0], offset)
        table = session.load(name, offset)
        bounds = [_bound(session, table, a, offset) for a in arguments[1:]] + [None, None]
        return changes_sql(session, name, table, bounds[0], bounds[1])


def point_at_feed(session: Context, node: exp.Table) -> None:
    """Rewrite a ``table_changes(...)`` reference to read a view of its changes."""
    view = session.engine.view(feed_sql(session, node))
    alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(FUNCTION))
    node.set("this", exp.to_identifier(view, quoted=True))
    node.set("alias", alias)
