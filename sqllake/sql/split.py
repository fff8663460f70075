"""Split SQL text into statements, keeping each statement's position in the text.

One splitter serves the script runner, the REPL (is the buffer complete?) and the
DB-API. A statement ends at ``;`` outside string literals, quoted identifiers,
dollar-quoted strings and comments, which the shared lexer (:mod:`sqllake.sql.lexer`) finds.
At the start of a statement, a line beginning with ``.`` is a dot command that ends
at the end of its line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqllake.sql.lexer import literal_end


@dataclass(frozen=True)
class Statement:
    """One statement: its text (no trailing ``;``) and where it starts in the source."""

    text: str
    start: int
    is_dot_command: bool = False


def _skip_blank(text: str, i: int) -> int:
    """Skip whitespace and comments before a statement."""
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i) or text.startswith("/*", i):
            i = literal_end(text, i) or i + 1
        else:
            break
    return i


def split(text: str) -> Iterator[Statement]:
    """Yield the statements of ``text``; empty statements (``;;``) are dropped."""
    i = _skip_blank(text, 0)
    while i < len(text):
        if text[i] == ".":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            yield Statement(text[i:end].rstrip(), i, is_dot_command=True)
            i = _skip_blank(text, end)
            continue
        start = i
        while i < len(text) and text[i] != ";":
            skipped = literal_end(text, i)
            i = skipped if skipped is not None else i + 1
        body = text[start:i].rstrip()
        if body.strip(";"):
            yield Statement(body, start)
        i = _skip_blank(text, i + 1)


def is_complete(text: str) -> bool:
    """True when ``text`` ends with a finished statement or dot command.

    The REPL runs the buffer once this holds: a ``;`` outside literals and comments
    closes the last statement, and a dot command is complete at once.
    """
    i = _skip_blank(text, 0)
    if i >= len(text):
        return False
    if text[i] == ".":
        return True
    last_end_is_semicolon = False
    while i < len(text):
        skipped = literal_end(text, i)
        if skipped is not None:
            i = skipped
            continue
        if text[i] == ";":
            last_end_is_semicolon = True
            i = _skip_blank(text, i + 1)
            if i < len(text) and text[i] != ";":
                last_end_is_semicolon = False
            continue
        if not text[i].isspace():
            last_end_is_semicolon = False
        i += 1
    return last_end_is_semicolon


def unterminated_at(text: str) -> int | None:
    """Where a string, quoted identifier or comment that never ends begins, if one does."""
    i = 0
    while i < len(text):
        skipped = literal_end(text, i)
        if skipped is None:
            i += 1
            continue
        if skipped >= len(text) and not text.startswith("--", i):
            closing = {"'": "'", '"': '"', "/": "*/", "$": "$"}.get(text[i], "")
            if not text.rstrip().endswith(closing) or skipped - i < 2:
                return i
        i = skipped
    return None
