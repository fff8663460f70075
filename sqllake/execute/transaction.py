"""BEGIN, COMMIT, ROLLBACK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqllake.plan import nodes
from sqllake.result import Result

if TYPE_CHECKING:
    from sqllake.session import Session


def begin(session: Session, plan: nodes.Begin, params: Sequence[Any]) -> Result:
    session.begin()
    return Result.status_only("BEGIN")


def commit(session: Session, plan: nodes.Commit, params: Sequence[Any]) -> Result:
    session.commit()
    return Result.status_only("COMMIT")


def rollback(session: Session, plan: nodes.Rollback, params: Sequence[Any]) -> Result:
    session.rollback()
    return Result.status_only("ROLLBACK")
