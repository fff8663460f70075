"""Small questions asked of a parsed syntax tree: where a node starts, what name an
identifier spells. Shared by planning and by the rewriting of reads."""

from __future__ import annotations

from sqlglot import exp


def normalize(identifier: exp.Expr) -> str:
    """The name an identifier stands for: unquoted names fold to lower case."""
    name = identifier.name
    quoted = isinstance(identifier, exp.Identifier) and identifier.quoted
    return name if quoted else name.lower()


def offset_of(node: exp.Expr) -> int:
    """The character offset where ``node`` starts in the statement (0 if unknown)."""
    starts = [i.meta["start"] for i in node.find_all(exp.Identifier) if "start" in i.meta]
    if "start" in node.meta:  # functions carry their own position
        starts.append(node.meta["start"])
    return min(starts) if starts else 0
