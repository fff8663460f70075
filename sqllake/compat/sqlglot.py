"""sqlglot internals sqllake's grammar relies on, under public names.

sqllake's statements (``ALTER TABLE`` actions, ``SHOW``, ``CALL``, settings, branches
and tags) are parsed by extending sqlglot's DuckDB parser, whose cursor (``_curr``,
``_match_text_seq``) and sub-parsers (``_parse_id_var``, ``_parse_types``, ...) are
internal. :class:`ParserBase` is the one place that touches them: the grammar in
``sqllake/sql/`` extends it and uses only the public names below. The hooks sqlglot's
parser calls (``_parse_statement``, ``_parse_describe``, ``_parse_map``,
``_parse_version``) are routed to public methods the grammar overrides.

What each name relies on is pinned by ``tests/unit/test_compat.py``; the sqlglot version
is bounded in ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

from sqlglot import exp
from sqlglot.parsers.duckdb import DuckDBParser
from sqlglot.tokenizer_core import Token, TokenType

T = TypeVar("T")


class ParserBase(DuckDBParser):
    """sqlglot's DuckDB parser, with the cursor and sub-parsers the grammar uses."""

    # The cursor: the token under it, before and after it, and its index. Past either
    # end of the statement sqlglot gives a sentinel token, which is false.
    @property
    def curr(self) -> Token:
        return self._curr

    @property
    def prev(self) -> Token:
        return self._prev

    @property
    def next(self) -> Token:
        return self._next

    @property
    def index(self) -> int:
        return self._index

    def advance(self, times: int = 1) -> None:
        self._advance(times)

    def retreat(self, index: int) -> None:
        self._retreat(index)

    def match(
        self, token_type: TokenType, advance: bool = True, expression: exp.Expr | None = None
    ) -> bool:
        """Whether the current token has ``token_type`` (and step past it if so)."""
        return bool(self._match(token_type, advance, expression))

    def match_text_seq(self, *texts: str, advance: bool = True) -> bool:
        """Whether the next tokens spell ``texts`` (case-insensitive), stepping past them."""
        return bool(self._match_text_seq(*texts, advance=advance))

    def find_sql(self, start: Token, end: Token) -> str:
        """The statement's text from ``start`` through ``end``."""
        return self._find_sql(start, end)

    # Sub-parsers.
    def parse_string(self) -> exp.Expr | None:
        return self._parse_string()

    def parse_number(self) -> exp.Expr | None:
        return self._parse_number()

    def parse_id_var(
        self, any_token: bool = True, tokens: Collection[TokenType] | None = None
    ) -> exp.Expr | None:
        return self._parse_id_var(any_token=any_token, tokens=tokens)

    def parse_primary(self) -> exp.Expr | None:
        return self._parse_primary()

    def parse_bitwise(self) -> exp.Expr | None:
        return self._parse_bitwise()

    def parse_assignment(self) -> exp.Expr | None:
        return self._parse_assignment()

    def parse_lambda(self, alias: bool = False) -> exp.Expr | None:
        return self._parse_lambda(alias=alias)

    def parse_ordered(self) -> exp.Ordered | None:
        return self._parse_ordered()

    def parse_types(self, check_func: bool = False, schema: bool = False) -> exp.Expr | None:
        return self._parse_types(check_func=check_func, schema=schema)

    def parse_table_parts(self) -> exp.Table | exp.Dot | None:
        return self._parse_table_parts()

    def parse_csv(self, parse_method: Callable[[], T | None]) -> list[T]:
        return self._parse_csv(parse_method)

    def parse_wrapped_csv(self, parse_method: Callable[[], T | None]) -> list[T]:
        return self._parse_wrapped_csv(parse_method)

    # Hooks sqlglot's parser calls: each goes to the public method, which the grammar
    # overrides and whose default is sqlglot's own.
    def _parse_statement(self) -> exp.Expr | None:
        return self.parse_statement()

    def parse_statement(self) -> exp.Expr | None:
        return super()._parse_statement()

    def _parse_describe(self) -> exp.Describe:
        return self.parse_describe()

    def parse_describe(self) -> exp.Describe:
        return super()._parse_describe()

    def _parse_map(self) -> exp.ToMap | exp.Map:
        return self.parse_map()

    def parse_map(self) -> exp.ToMap | exp.Map:
        return super()._parse_map()

    def _parse_version(self) -> exp.Version | None:
        return self.parse_version()

    def parse_version(self) -> exp.Version | None:
        return super()._parse_version()
