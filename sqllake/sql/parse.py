"""Parse one statement with the sqllake dialect, with errors located in its text."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqllake.errors import ProgrammingError
from sqllake.sql.dialect import DIALECT, LocatedParseError
from sqllake.sql.split import unterminated_at


def parse(text: str) -> exp.Expr:
    """The syntax tree of one statement (as the splitter produced it)."""
    try:
        trees = [tree for tree in DIALECT.parse(text) if tree is not None]
    except LocatedParseError as exc:
        raise ProgrammingError(str(exc), offset=exc.offset) from None
    except TokenError as exc:
        # sqlglot's tokenizer fails on an unterminated literal or comment.
        raise ProgrammingError(
            "syntax error: unterminated string, quoted identifier or comment",
            offset=unterminated_at(text) or exc.start or 0,
        ) from None
    except ParseError as exc:
        raise ProgrammingError(f"syntax error: {exc}", offset=0) from None
    if len(trees) != 1:
        raise ProgrammingError("expected exactly one statement", offset=0)
    return trees[0]
