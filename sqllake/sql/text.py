"""The one owner of SQL text sqllake writes: quoted names, string literals, lists of them.

Everything that builds SQL for DuckDB or for our own parser quotes through here, so a name
or a value can never be quoted two ways (``tests/test_boundaries.py`` checks that no other
module doubles quotes by hand). Plain Python: no import of the parser or the engine.
"""

from __future__ import annotations

from collections.abc import Iterable


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier: ``a"b`` -> ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def unquote_identifier(text: str) -> str:
    """The name a possibly quoted identifier spells, as written (no case folding).

    Tolerates a name still being typed: ``"Ev`` -> ``Ev``.
    """
    if not text.startswith('"'):
        return text
    body = text[1:-1] if len(text) >= 2 and text.endswith('"') else text[1:]
    return body.replace('""', '"')


def qualified_name(parts: Iterable[str]) -> str:
    """A dotted name with every part quoted: ``("s", "t")`` -> ``"s"."t"``."""
    return ".".join(quote_identifier(p) for p in parts)


def quote_string(text: str) -> str:
    """``text`` as a SQL string literal: ``it's`` -> ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"


def unquote_string(text: str) -> str:
    """The value a single-quoted SQL string literal's body spells (``''`` -> ``'``)."""
    return text.replace("''", "'")


def string_list(items: Iterable[str]) -> str:
    """A DuckDB list of string literals: ``['a', 'b']``."""
    return "[" + ", ".join(quote_string(i) for i in items) + "]"


def cast_literal(text: str, type_sql: str) -> str:
    """A typed literal DuckDB reads from text: ``CAST('2024-01-01' AS DATE)``."""
    return f"CAST({quote_string(text)} AS {type_sql})"
