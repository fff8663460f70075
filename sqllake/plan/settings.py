"""SET, RESET and PRAGMA trees -> plans (what each does is decided when it runs)."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sqllake.plan import nodes
from sqllake.sql import settings
from sqllake.sql.syntax import offset_of


def _scope(tree: exp.Expr) -> str | None:
    kind = tree.args.get("kind")
    return str(kind).upper() if kind else None


def plan_set(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, settings.SetSetting)
    name = tree.this
    return nodes.SetSetting(name.name, _scope(tree), tree.expression, text, offset_of(name))


def plan_reset(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, settings.ResetSetting)
    name = tree.this
    offset = offset_of(name) if name is not None else 0
    return nodes.ResetSetting(name.name if name is not None else None, _scope(tree), text, offset)


def plan_pragma(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, settings.PragmaStatement)
    name = tree.this
    return nodes.Pragma(
        name.name,
        tree.expression,
        tuple(tree.expressions),
        bool(tree.args.get("call")),
        text,
        offset_of(name),
    )


PLANNERS: dict[type[exp.Expr], Callable[[exp.Expr, str], nodes.Plan]] = {
    settings.SetSetting: plan_set,
    settings.ResetSetting: plan_reset,
    settings.PragmaStatement: plan_pragma,
}
