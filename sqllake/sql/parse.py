"""Parse one statement with the sqllake dialect, with errors located in its text."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.sql.dialect import DIALECT, LocatedParseError, UnsupportedSyntax
from sqllake.sql.split import unterminated_at


def parse(text: str) -> exp.Expr:
    """The syntax tree of one statement (as the splitter produced it)."""
    try:
        trees = [tree for tree in DIALECT.parse(text) if tree is not None]
    except UnsupportedSyntax as exc:
        raise NotSupportedError(str(exc), offset=exc.offset) from None
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
    _refuse_keyword_aliases(trees[0])
    return trees[0]


# Clause keywords sqlglot would take as an alias when the clause after them is missing
# (``SELECT * FROM t ORDER``), which DuckDB itself rejects.
_CLAUSE_WORDS = {"ORDER", "GROUP", "WHERE", "HAVING", "LIMIT", "OFFSET", "QUALIFY", "WINDOW"}


def _refuse_keyword_aliases(tree: exp.Expr) -> None:
    for alias in tree.find_all(exp.TableAlias, exp.Alias):
        identifier = alias.args.get("alias") if isinstance(alias, exp.Alias) else alias.this
        if (
            isinstance(identifier, exp.Identifier)
            and not identifier.quoted
            and identifier.name.upper() in _CLAUSE_WORDS
        ):
            word = identifier.name
            raise ProgrammingError(
                f"syntax error near {word!r}: incomplete {word.upper()} clause",
                offset=identifier.meta.get("start", 0),
            )
