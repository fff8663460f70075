"""The one lexer of SQL text: where string literals, quoted names, dollar-quoted strings
and comments begin and end, and the tokens between them.

The statement splitter (:mod:`sqllake.sql.split`) and completion (``cli/complete.py``) both
read text through here, so they never disagree about whether a ``;`` or a name is inside a
literal. Tolerant by design: text being typed is rarely valid SQL, so an unterminated
literal or comment runs to the end of the text instead of raising.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
# Every token in one pass of one expression, as :func:`literal_end` delimits literals and
# comments (a test holds the two to the same answers); only E'...' strings, whose
# backslash escapes depend on the character before them, go back to it.
_TOKEN = re.compile(
    r"""(?P<comment>--[^\n]*|/\*(?s:.*?)(?:\*/|\Z))
    |(?P<string>'(?:[^']|'')*'?
      |(?<!\w)\$(?P<tag>(?:[A-Za-z_][A-Za-z0-9_]*)?)\$(?s:.*?)(?:\$(?P=tag)\$|\Z))
    |(?P<quoted>"(?:[^"]|"")*"?)
    |(?P<word>[A-Za-z_][\w$]*)|(?P<number>\d+(?:\.\d*)?)|(?P<blank>\s+)|(?P<other>.)""",
    re.VERBOSE,
)


class Token(NamedTuple):
    """One token: ``kind`` is word, number, string, quoted, comment, blank or other.

    A named tuple rather than a frozen dataclass: completion lexes the buffer on every
    key press, and a tuple is made in half the time."""

    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def is_word(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a character of a word (false before the text starts)."""
    return i >= 0 and (text[i].isalnum() or text[i] == "_")


def _quoted_end(text: str, i: int, quote: str, backslash: bool) -> int:
    """Index just past the literal opened at ``i`` (or ``len(text)`` if unterminated)."""
    i += 1
    while i < len(text):
        ch = text[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(text)


def literal_end(text: str, i: int) -> int | None:
    """If a literal or comment opens at ``i``, the index just past it; else None."""
    ch = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch == "-" and nxt == "-":
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if ch == "/" and nxt == "*":
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    if ch in "'\"":
        # E'...' strings take backslash escapes (E not ending a longer word).
        escaped = ch == "'" and i > 0 and text[i - 1] in "eE" and not is_word(text, i - 2)
        return _quoted_end(text, i, ch, backslash=escaped)
    if ch == "$":
        match = _DOLLAR_TAG.match(text, i)
        if match and not (i > 0 and is_word(text, i - 1)):
            end = text.find(match.group(0), match.end())
            return len(text) if end < 0 else end + len(match.group(0))
    return None


def _spans(text: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of every token of ``text``, in order."""
    i = 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        assert match is not None  # ``other`` matches any one character
        kind, end = match.lastgroup or "other", match.end()
        if kind == "tag":  # the dollar tag is a group inside ``string``
            kind = "string"
        if kind == "string" and text[i] == "'" and i > 0 and text[i - 1] in "eE":
            end = literal_end(text, i) or end  # an E'...' string: backslash escapes
        yield kind, i, end
        i = end


def lex(text: str) -> Iterator[Token]:
    """Every token of ``text`` in order, blanks and comments included."""
    for kind, start, end in _spans(text):
        yield Token(kind, text[start:end], start)


def semicolons(text: str) -> Iterator[int]:
    """Where the ``;`` outside literals and comments are (what ends a statement)."""
    return (start for kind, start, _ in _spans(text) if kind == "other" and text[start] == ";")
