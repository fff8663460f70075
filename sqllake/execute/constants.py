"""Constant arguments (``AS OF`` values, ``table_changes`` bounds) evaluated by the
engine, so any constant expression works: ``now() - INTERVAL 1 DAY``, a cast, a literal."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from sqllake.errors import NotSupportedError

if TYPE_CHECKING:
    from sqllake.context import Context


def refuse_non_constant(expression: exp.Expr, message: str, offset: int) -> None:
    if expression.find(exp.Select, exp.Table, exp.Column) is not None:
        raise NotSupportedError(message, offset=offset)


def evaluate(session: Context, select_sql: str) -> tuple[Any, ...]:
    """The row a constant SELECT gives (an engine error goes to the statement's
    boundary; callers point it at the expression with ``located``)."""
    return session.engine.row(select_sql)


def moment(session: Context, sql: str) -> datetime.datetime | None:
    """The constant expression ``sql`` as a moment (NULL: None)."""
    (value,) = evaluate(session, f"SELECT CAST(({sql}) AS TIMESTAMPTZ)")
    assert value is None or isinstance(value, datetime.datetime)
    return value
