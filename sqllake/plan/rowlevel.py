"""DELETE, UPDATE and MERGE INTO -> :class:`~sqllake.plan.nodes.ChangeRows`.

The three are one plan: a DELETE is a MERGE with one ``WHEN MATCHED THEN DELETE`` whose
"source" is the USING list (or nothing), an UPDATE one ``WHEN MATCHED THEN UPDATE``
over its FROM list. Spellings: DuckDB's and PostgreSQL's (``DELETE ... USING``,
``UPDATE ... FROM``), Spark's and Trino's MERGE (``UPDATE SET *``, ``INSERT *``,
``WHEN NOT MATCHED BY SOURCE``, ``BY TARGET``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sqllake.errors import ProgrammingError
from sqllake.plan import nodes
from sqllake.plan.common import name_of, refuse
from sqllake.sql.syntax import offset_of

_MATCHED = "matched"
_NOT_MATCHED = "not_matched"
_BY_SOURCE = "not_matched_by_source"


def _refuse_options(tree: exp.Expr, statement: str, options: tuple[str, ...]) -> None:
    for option in options:
        value = tree.args.get(option)
        if value:
            node = value if isinstance(value, exp.Expr) else tree
            raise refuse(f"{statement} with {option.upper()}", node)


def _target(tree: exp.Expr, statement: str) -> tuple[nodes.Name, str]:
    table = tree.this
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        raise ProgrammingError(f"{statement} needs a table name", offset=offset_of(tree))
    name = name_of(table)
    return name, table.alias or name.parts[-1]


def _where(tree: exp.Expr) -> exp.Expr | None:
    where = tree.args.get("where")
    return where.this if where is not None else None


def _parameters(tree: exp.Expr) -> int:
    return len(list(tree.find_all(exp.Placeholder)))


def _numbered(tree: exp.Expr) -> exp.Expr:
    """A copy with each ``?`` numbered (``$1``...) in the order written: the change set
    query places the statement's parts in another order, and a MERGE's in several."""
    copy = tree.copy()
    marks = [node for node in copy.walk(bfs=False) if isinstance(node, exp.Placeholder)]
    for number, mark in enumerate(marks, start=1):
        mark.replace(exp.Placeholder(this=str(number)))
    return copy


def _assignments(items: list[exp.Expr]) -> tuple[nodes.Assignment, ...]:
    found = []
    for item in items:
        if not isinstance(item, exp.EQ) or not isinstance(item.this, exp.Column):
            raise ProgrammingError("expected column = value in SET", offset=offset_of(item))
        column = item.this
        if isinstance(column.this, exp.Star):
            raise ProgrammingError("expected column = value in SET", offset=offset_of(item))
        found.append(nodes.Assignment(column.name, offset_of(column), item.expression))
    return tuple(found)


def plan_delete(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Delete)
    tree = _numbered(tree)
    _refuse_options(tree, "DELETE", ("returning", "limit", "order", "tables"))
    name, alias = _target(tree, "DELETE")
    using = tree.args.get("using") or []
    clause = nodes.WhenClause(_MATCHED, None, "delete", offset_of(tree))
    return nodes.ChangeRows(
        "delete", name, alias, tuple(using), _where(tree), (clause,), text, _parameters(tree)
    )


def plan_update(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Update)
    tree = _numbered(tree)
    _refuse_options(tree, "UPDATE", ("returning", "limit", "order", "options"))
    name, alias = _target(tree, "UPDATE")
    source = tree.args.get("from_")
    clause = nodes.WhenClause(
        _MATCHED, None, "update", offset_of(tree), assignments=_assignments(tree.expressions)
    )
    sources = (source.this,) if source is not None else ()
    return nodes.ChangeRows(
        "update", name, alias, sources, _where(tree), (clause,), text, _parameters(tree)
    )


def _when(when: exp.When) -> nodes.WhenClause:
    matched, by_source = bool(when.args.get("matched")), bool(when.args.get("source"))
    match = _MATCHED if matched else (_BY_SOURCE if by_source else _NOT_MATCHED)
    condition = when.args.get("condition")
    then = when.args.get("then")
    offset = offset_of(when)
    if isinstance(then, exp.Var) and then.name.upper() == "DELETE":
        if match == _NOT_MATCHED:
            raise ProgrammingError("WHEN NOT MATCHED can only INSERT", offset=offset)
        return nodes.WhenClause(match, condition, "delete", offset)
    if isinstance(then, exp.Update):
        if match == _NOT_MATCHED:
            raise ProgrammingError("WHEN NOT MATCHED can only INSERT", offset=offset)
        star = len(then.expressions) == 1 and isinstance(then.expressions[0], exp.Star)
        if star and match == _BY_SOURCE:
            raise ProgrammingError(
                "UPDATE SET * needs a source row: not in WHEN NOT MATCHED BY SOURCE",
                offset=offset,
            )
        assignments = None if star else _assignments(then.expressions)
        return nodes.WhenClause(match, condition, "update", offset, assignments=assignments)
    if isinstance(then, exp.Insert):
        if match != _NOT_MATCHED:
            raise ProgrammingError("only WHEN NOT MATCHED can INSERT", offset=offset)
        if isinstance(then.this, exp.Star):
            return nodes.WhenClause(match, condition, "insert", offset)
        columns = None
        if isinstance(then.this, exp.Tuple):
            columns = tuple((c.name, offset_of(c)) for c in then.this.expressions)
        values = then.expression
        if not isinstance(values, exp.Tuple):
            raise ProgrammingError("expected INSERT VALUES (...)", offset=offset)
        return nodes.WhenClause(
            match, condition, "insert", offset, columns=columns, values=tuple(values.expressions)
        )
    raise refuse(f"WHEN ... THEN {then.sql('duckdb') if then else ''}", when)


def plan_merge(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Merge)
    tree = _numbered(tree)
    _refuse_options(tree, "MERGE", ("returning",))
    name, alias = _target(tree, "MERGE")
    source = tree.args.get("using")
    on = tree.args.get("on")
    if source is None or on is None:
        raise ProgrammingError("MERGE needs USING source ON condition", offset=offset_of(tree))
    if tree.args.get("using_cond"):
        raise refuse("MERGE ... USING (columns)", tree)
    whens = tree.args.get("whens")
    clauses = tuple(_when(w) for w in (whens.expressions if whens else []))
    if not clauses:
        raise ProgrammingError("MERGE needs at least one WHEN clause", offset=offset_of(tree))
    return nodes.ChangeRows("merge", name, alias, (source,), on, clauses, text, _parameters(tree))


PLANNERS: dict[type[exp.Expr], Callable[[exp.Expr, str], nodes.Plan]] = {
    exp.Delete: plan_delete,
    exp.Update: plan_update,
    exp.Merge: plan_merge,
}
