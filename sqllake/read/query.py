"""Find the lakehouse tables a statement reads and point them at scan views (the
engine's inline views: the scan's SELECT replaces the name in the text DuckDB runs).

A table reference is a lakehouse table unless it is a CTE, a table function
(``read_csv(...)``, ``range(10)``), a file path literal (``FROM 'x.parquet'``) or
one of DuckDB's own catalog schemas. Each reference is rewritten to a view of its own,
so each gets its own pruning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

from sqllake.errors import NotSupportedError
from sqllake.sql.syntax import normalize, offset_of

# The views of ``information_schema`` sqllake answers from its catalog: the keys of
# :data:`sqllake.read.information_schema.VIEWS`, named here so that finding a
# statement's tables does not import the catalog.
INFORMATION_VIEWS = frozenset({"schemata", "tables", "columns"})
FEED_FUNCTION = "table_changes"  # a table's change feed, read in FROM
_ENGINE_SCHEMAS = {"information_schema", "pg_catalog"}
# The engine's own views (see ``Engine.view``): a statement sqllake builds reads them.
ENGINE_VIEW_PREFIX = "__sqllake_scan_"


def is_information_view(parts: tuple[str, ...]) -> bool:
    """``information_schema.tables`` and friends: views sqllake answers from its catalog."""
    return len(parts) == 2 and parts[0] == "information_schema" and parts[1] in INFORMATION_VIEWS


@dataclass(frozen=True)
class TableReference:
    node: exp.Table
    parts: tuple[str, ...]  # as written, case-normalized: unquoted names are lower-cased
    offset: int
    as_of: exp.Version | None = None  # FOR VERSION AS OF / FOR TIMESTAMP AS OF

    @property
    def alias(self) -> str:
        return self.node.alias or self.parts[-1]


def _is_file_literal(identifier: exp.Identifier, text: str) -> bool:
    start = identifier.meta.get("start")
    return start is not None and text[start : start + 1] == "'"


def table_references(tree: exp.Expr, text: str) -> list[TableReference]:
    """Every lakehouse table reference in ``tree``, in source order."""
    ctes = {normalize(cte.args["alias"].this) for cte in tree.find_all(exp.CTE)}
    found = []
    for node in tree.find_all(exp.Table):
        ident = node.this
        if not isinstance(ident, exp.Identifier) or _is_file_literal(ident, text):
            continue
        parts = tuple(normalize(p) for p in node.parts)
        if len(parts) == 1 and (parts[0] in ctes or parts[0].startswith(ENGINE_VIEW_PREFIX)):
            continue
        if len(parts) > 1 and parts[-2] in _ENGINE_SCHEMAS and not is_information_view(parts):
            continue
        if node.args.get("when"):
            raise NotSupportedError(
                "AT (...) time travel; use FOR VERSION AS OF or FOR TIMESTAMP AS OF",
                offset=offset_of(node),
            )
        found.append(TableReference(node, parts, offset_of(node), node.args.get("version")))
    found.sort(key=lambda ref: ref.offset)
    return found


def _sources(select: exp.Select) -> list[exp.Expr]:
    from_ = select.args.get("from_")
    joins = select.args.get("joins") or []
    return ([from_.this] if from_ else []) + [join.this for join in joins]


def pruning_scope(ref: TableReference) -> tuple[exp.Expr | None, bool]:
    """The WHERE clause that may prune ``ref``, and whether unqualified columns are its own.

    Only a table read directly by a SELECT, and not on the NULL-supplying side of an
    outer join, may be pruned by that SELECT's WHERE.
    """
    parent = ref.node.parent
    select = parent.parent if isinstance(parent, exp.From | exp.Join) else None
    if not isinstance(select, exp.Select):
        return None, False
    for join in select.args.get("joins") or []:
        if join.side or join.kind in ("FULL", "OUTER", "SEMI", "ANTI", "ASOF"):
            return None, False
    where = select.args.get("where")
    return (where.this if where else None), len(_sources(select)) == 1


def point_at_view(ref: TableReference, view: str) -> None:
    """Rewrite the reference to read ``view``, keeping the name queries qualify it by."""
    alias = ref.node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(ref.parts[-1]))
    ref.node.set("this", exp.to_identifier(view, quoted=True))
    ref.node.set("db", None)
    ref.node.set("catalog", None)
    ref.node.set("version", None)
    ref.node.set("alias", alias)


def feed_calls(tree: exp.Expr) -> Iterator[exp.Table]:
    """Every ``table_changes(...)`` in a FROM or JOIN of ``tree``."""
    for node in list(tree.find_all(exp.Table)):
        function = node.this
        if isinstance(function, exp.Anonymous) and function.name.lower() == FEED_FUNCTION:
            yield node
