"""Column defaults: DEFAULT values evaluated to what Iceberg stores.

Iceberg format 3 keeps two defaults per column: ``initial-default``, what rows written
before the column existed read, and ``write-default``, what a write that omits the
column writes. A DEFAULT is a constant (see :func:`sqllake.plan.alter.default_of`),
evaluated once by the engine in the column's type, so it converts as any value written
into the column does (text to dates, numbers to decimals, in the session's time zone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyiceberg.types import IcebergType

from sqllake.errors import NotSupportedError, located
from sqllake.execute.constants import evaluate
from sqllake.plan import nodes
from sqllake.sql.dialect import DIALECT
from sqllake.types import default_value, duckdb_type

if TYPE_CHECKING:
    from sqllake.context import Context

V3 = 3


def evaluate_default(
    session: Context, default: nodes.Default, itype: IcebergType, column: str
) -> Any:
    """The DEFAULT's value in the column's type, as Iceberg metadata holds it."""
    with located(default.offset):
        where = f"column {column}"
        default_value(None, itype, where)  # types without defaults are refused first
        expression = default.expression.sql(dialect=DIALECT)
        (value,) = evaluate(session, f"SELECT CAST(({expression}) AS {duckdb_type(itype)})")
        return default_value(value, itype, where)


def refuse_before_v3(format_version: int, table: str, what: str) -> None:
    """Column defaults exist from Iceberg format 3; older tables cannot carry them."""
    if format_version < V3:
        raise NotSupportedError(
            f"{what}: column defaults need Iceberg format-version 3 and table {table} is "
            f"format-version {format_version}; upgrade it with ALTER TABLE {table} SET "
            "TBLPROPERTIES ('format-version' = '3') (readers of the table must support "
            "format 3)"
        )
