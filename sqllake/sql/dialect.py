"""The sqllake dialect: DuckDB SQL plus the lakehouse statements.

sqlglot's DuckDB dialect already parses most of what sqllake needs (it keeps
``PARTITIONED BY`` and table properties in the tree even though its generator drops
them). This dialect adds the statements DuckDB's grammar lacks, through a dispatch
table keyed by the statement's first keyword, and records the character offset of
every parse error so messages point at the user's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError
from sqlglot.generators.duckdb import DuckDBGenerator
from sqlglot.tokenizer_core import Token, TokenType

from sqllake.sql.alter import AlterParsing
from sqllake.sql.settings import SettingsParsing


class ShowSchemas(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {}


class ShowTables(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": False, "like": False, "extended": False}


class ShowCreateTable(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class Explain(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "analyze": False}


class Call(exp.Expression):
    """CALL catalog.procedure(args): ``this`` is the dotted name, args positional or named."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expressions": False}


class Flush(exp.Expression):
    """FLUSH t: write the table's buffered rows as Parquet files and one snapshot."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class LocatedParseError(ParseError):
    """A sqlglot parse error that knows the character offset it points at."""

    def __init__(self, message: str, offset: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(message, errors)
        self.offset = offset


class UnsupportedSyntax(LocatedParseError):
    """Valid SQL that sqllake does not run, refused where it is written."""


# sqlglot puts token reprs into some messages ("but got <Token token_type: ...>").
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")
_CLASS_REPR = re.compile(r"<class 'sqlglot\.expressions\.[\w.]*?(\w+)'>")


def _token_text(match: re.Match[str]) -> str:
    return "end of statement" if match.group(1) == "SENTINEL" else repr(match.group(2))


_MISSING_PART = re.compile(r"Required keyword: '\w+' missing for (?:<class '[\w.]*?)?(\w+)'?>?")


def _readable(message: str) -> str:
    message = _CLASS_REPR.sub(r"\1", _TOKEN_REPR.sub(_token_text, message))
    return _MISSING_PART.sub(lambda m: f"incomplete {m.group(1).upper()}", message)


_SCHEMA_WORDS = {"SCHEMAS", "DATABASES", "NAMESPACES"}


class SqlLakeParser(AlterParsing, SettingsParsing):
    def _parse_show_lakehouse(self) -> exp.Expr:
        word = self.curr.text.upper() if self.curr else ""
        if word in _SCHEMA_WORDS:
            self.advance()
            return self.expression(ShowSchemas())
        extended = self.match_text_seq("TABLE", "EXTENDED")
        if extended or word == "TABLES":
            if not extended:
                self.advance()
            schema = None
            if self.curr and self.curr.text.upper() in ("FROM", "IN"):
                self.advance()
                schema = self.parse_table_parts()
            like = self.parse_string() if self.match_text_seq("LIKE") else None
            return self.expression(ShowTables(this=schema, like=like, extended=extended))
        if self.match_text_seq("CREATE", "TABLE"):
            return self.expression(ShowCreateTable(this=self.parse_table_parts()))
        self.raise_error("Expected SCHEMAS, TABLES, TABLE EXTENDED or CREATE TABLE after SHOW")
        return exp.Null()

    def parse_describe(self) -> exp.Describe:
        # A table name that starts with a statement keyword (a schema named ``copy``)
        # would otherwise be read as DESCRIBE of that statement: a dotted name that ends
        # the statement is the table.
        index = self.index
        kind = "TABLE" if self.match_text_seq("TABLE") else None
        ends = (TokenType.SEMICOLON, TokenType.SENTINEL)
        parts: list[exp.Identifier] = []
        while (
            self.curr is not None
            and self.curr.token_type not in ends
            and (self.curr.text.isidentifier() or self.curr.token_type == TokenType.IDENTIFIER)
        ):
            token = self.curr
            parts.append(
                exp.to_identifier(token.text, quoted=token.token_type == TokenType.IDENTIFIER)
            )
            parts[-1].meta.update(start=token.start, end=token.end, line=token.line, col=token.col)
            self.advance()
            if not self.match(TokenType.DOT):
                break
        at_end = self.curr is None or self.curr.token_type in ends
        if parts and len(parts) <= 3 and at_end:
            names = dict(zip(("this", "db", "catalog"), reversed(parts), strict=False))
            return self.expression(exp.Describe(this=exp.Table(**names), kind=kind))
        self.retreat(index)
        return super().parse_describe()

    def _parse_explain(self) -> exp.Expr:
        analyze = self.match_text_seq("ANALYZE")
        inner = self.parse_statement()
        if inner is None:
            self.raise_error("Expected a statement after EXPLAIN")
        return self.expression(Explain(this=inner, analyze=analyze))

    def _parse_call_argument(self) -> exp.Expr | None:
        start = self.curr.start if self.curr else 0
        argument = self.parse_lambda()
        if argument is not None:
            argument.meta["start"] = start  # so errors point at the argument
        return argument

    def _parse_call(self) -> exp.Expr:
        parts = [self.parse_id_var(any_token=True)]
        while self.match(TokenType.DOT):
            parts.append(self.parse_id_var(any_token=True))
        if any(part is None for part in parts):
            self.raise_error("Expected a procedure name after CALL")
        args = self.parse_wrapped_csv(self._parse_call_argument) if self.curr else []
        # Built from the parsed identifiers, so the name keeps its position.
        *qualifiers, last = parts
        name = exp.Table(this=last, db=qualifiers[-1] if qualifiers else None)
        if len(qualifiers) > 1:
            name.set("catalog", qualifiers[-2])
        return self.expression(Call(this=name, expressions=args))

    def _parse_flush(self) -> exp.Expr:
        self.match(TokenType.TABLE)
        return self.expression(Flush(this=self.parse_table_parts()))

    def parse_map(self) -> exp.ToMap | exp.Map:
        """DuckDB's ``map(keys, values)`` and ``MAP {k: v}``, and Spark's ``map(k1, v1,
        k2, v2, ...)`` (procedure options are written so): keys that are constants, not
        lists, are Spark's pairs (sqlglot would keep the first pair only)."""
        index = self.index
        if self.match(TokenType.L_BRACE, advance=False):
            return super().parse_map()
        args = self.parse_wrapped_csv(self.parse_assignment)
        if not args or not isinstance(args[0], exp.Literal) or len(args) % 2:
            self.retreat(index)
            return super().parse_map()
        pairs = [
            exp.PropertyEQ(this=key, expression=value)
            for key, value in zip(args[::2], args[1::2], strict=True)
        ]
        return self.expression(exp.ToMap(this=exp.Struct(expressions=pairs)))

    def parse_version(self) -> exp.Version | None:
        start = self.curr
        version = super().parse_version()
        if version is None or start is None:
            return version
        if version.args.get("kind") != "AS OF":  # ALL, FROM ... TO, BETWEEN, CONTAINED IN
            clause = self.find_sql(start, self.prev)
            hint = "time travel reads one snapshot (FOR VERSION AS OF, FOR TIMESTAMP AS OF)"
            self.refuse(clause, start, hint)
        if not version.expression:  # sqlglot accepts AS OF with nothing after it
            what = "timestamp" if version.name == "TIMESTAMP" else "snapshot id, tag or branch"
            self.raise_error(f"AS OF needs a {what}", start)
        return version

    # First keyword of a lakehouse statement -> its parser.
    LAKEHOUSE_STATEMENTS: ClassVar[dict[str, Callable[[SqlLakeParser], exp.Expr]]] = {
        "SHOW": _parse_show_lakehouse,
        "EXPLAIN": _parse_explain,
        "CALL": _parse_call,
        "FLUSH": _parse_flush,
        "ALTER": AlterParsing._parse_alter_lakehouse,
        **SettingsParsing.SETTINGS_STATEMENTS,
    }

    # Statements of DuckDB, Spark or PostgreSQL that sqllake does not run, refused by
    # their first keyword (sqlglot parses some, misreads others as an expression), with
    # a hint where sqllake has another way.
    REFUSED_STATEMENTS: ClassVar[dict[str, str]] = {
        "GRANT": "",
        "REVOKE": "",
        "COMMENT": "a column's comment is set by ALTER TABLE t ALTER COLUMN c COMMENT '...'",
        "ANALYZE": "",
        "VACUUM": "",
        "CHECKPOINT": "",
        "EXPORT": "",
        "IMPORT": "",
        "ATTACH": "",
        "DETACH": "",
        "INSTALL": "",
        "LOAD": "",
        "SUMMARIZE": "",
        "REFRESH": "",
        "LOCK": "",
    }

    def parse_statement(self) -> exp.Expr | None:
        if self.curr is not None:
            word = self.curr.text.upper()
            if word in self.REFUSED_STATEMENTS and self.curr.token_type != TokenType.IDENTIFIER:
                self.refuse(word, self.curr, self.REFUSED_STATEMENTS[word])
            handler = self.LAKEHOUSE_STATEMENTS.get(word)
            if handler is not None:
                self.advance()
                return handler(self)
        return super().parse_statement()

    def refuse(self, what: str, token: Token | None = None, hint: str = "") -> NoReturn:
        token = token or self.curr or self.prev
        message = f"{what} is not supported" + (f": {hint}" if hint else "")
        offset = token.start if token is not None else 0
        raise UnsupportedSyntax(message, offset, [{"description": message}])

    def raise_error(self, message: str, token: Token | None = None) -> None:
        token = token or self.curr or self.prev
        offset = token.start if token is not None else 0
        at_end = token is None or token.token_type == TokenType.SENTINEL
        near = " at end of statement" if at_end else f" near {token.text!r}"
        description = f"syntax error{near}: {_readable(message)}"
        raise LocatedParseError(description, offset, [{"description": description}])


class SqlLakeTokenizer(DuckDB.Tokenizer):
    # sqlglot swallows the rest of an EXPLAIN, CALL or RESET statement as one opaque
    # string; sqllake parses what follows itself.
    KEYWORDS = {
        **DuckDB.Tokenizer.KEYWORDS,
        "EXPLAIN": TokenType.VAR,
        "CALL": TokenType.VAR,
        "RESET": TokenType.VAR,
    }


def _to_map_sql(generator: DuckDBGenerator, expression: exp.ToMap) -> str:
    # sqlglot spells an empty struct under a cast to MAP as MAP(), which after the MAP
    # keyword of MAP {} makes ``MAP MAP()``; an empty map is MAP {} wherever it is.
    if isinstance(expression.this, exp.Struct) and not expression.this.expressions:
        return "MAP {}"
    return f"MAP {generator.sql(expression, 'this')}"


class SqlLakeGenerator(DuckDBGenerator):
    TRANSFORMS = {**DuckDBGenerator.TRANSFORMS, exp.ToMap: _to_map_sql}


class SqlLake(DuckDB):
    Tokenizer = SqlLakeTokenizer
    Parser = SqlLakeParser
    Generator = SqlLakeGenerator


DIALECT = SqlLake()
