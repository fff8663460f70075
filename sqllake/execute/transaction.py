"""BEGIN, COMMIT, ROLLBACK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqllake.plan import nodes
from sqllake.result import Result

if TYPE_CHECKING:
    from sqllake.context import Context


def begin(session: Context, plan: nodes.Begin, params: Sequence[Any]) -> Result:
    session.begin()
    return Result.status_only("BEGIN")


def commit(session: Context, plan: nodes.Commit, params: Sequence[Any]) -> Result:
    session.commit()
    return Result.status_only("COMMIT")


def rollback(session: Context, plan: nodes.Rollback, params: Sequence[Any]) -> Result:
    session.rollback()
    return Result.status_only("ROLLBACK")
