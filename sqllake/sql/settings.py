"""SET, RESET, PRAGMA and the transaction statements in the sqllake dialect.

DuckDB's spellings, as a DuckDB user's script writes them: ``SET [SESSION | GLOBAL |
LOCAL | VARIABLE] name = value`` (or ``TO value``), ``RESET [scope] name``, ``PRAGMA
name``, ``PRAGMA name = value``, ``PRAGMA name(arguments)``, and the transaction
statements with PostgreSQL's noise words (``BEGIN WORK``, ``START TRANSACTION``,
``COMMIT WORK``, ``END``, ``ABORT``). sqlglot parses some of these as opaque commands
and ``ABORT`` as a column name, so they are parsed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from sqllake.compat.sqlglot import ParserBase


class SetSetting(exp.Expression):
    """``this`` is the setting's Identifier; ``expression`` its value (None: DEFAULT)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": False, "kind": False}


class ResetSetting(exp.Expression):
    """``this`` is the setting's Identifier, or None for RESET ALL."""

    arg_types: ClassVar[dict[str, bool]] = {"this": False, "kind": False}


class PragmaStatement(exp.Expression):
    """``this`` is the pragma's Identifier; ``expression`` the value of ``PRAGMA x = v``,
    ``expressions`` the arguments of ``PRAGMA x(a, b)``."""

    arg_types: ClassVar[dict[str, bool]] = {
        "this": True,
        "expression": False,
        "expressions": False,
        "call": False,
    }


_SCOPES = ("SESSION", "GLOBAL", "LOCAL", "VARIABLE")
_NOISE = ("TRANSACTION", "WORK")


class SettingsParsing(ParserBase):
    """The settings and transaction grammar; the dialect's parser extends it."""

    def _settings_at_end(self) -> bool:
        return self.curr is None or self.curr.token_type in (
            TokenType.SEMICOLON,
            TokenType.SENTINEL,
        )

    def _settings_scope(self) -> str | None:
        word = self.curr.text.upper() if self.curr else ""
        following = self.next
        # ``SET session = ...`` names a setting called session; a scope is followed by one.
        names_a_setting = following is not None and (
            following.token_type not in (TokenType.EQ, TokenType.SEMICOLON)
            and following.text.upper() != "TO"
        )
        if word in _SCOPES and names_a_setting:
            self.advance()
            return word
        return None

    def _settings_name(self) -> exp.Identifier:
        token = self.curr
        name = self.parse_id_var(any_token=True)
        if token is None or not isinstance(name, exp.Identifier):
            self.raise_error("Expected a setting name")
            raise AssertionError  # raise_error raises
        name.meta.update(start=token.start, end=token.end, line=token.line, col=token.col)
        return name

    def _parse_set_setting(self) -> exp.Expr:
        scope = self._settings_scope()
        name = self._settings_name()
        if not (self.match(TokenType.EQ) or self.match_text_seq("TO")):
            self.raise_error("Expected = or TO after the setting name")
        value: exp.Expr | None
        if self.match_text_seq("DEFAULT") and self._settings_at_end():
            value = None
        else:
            value = self.parse_assignment()
            if value is None:
                self.raise_error("Expected a value")
        return self.expression(SetSetting(this=name, expression=value, kind=scope))

    def _parse_reset_setting(self) -> exp.Expr:
        scope = self._settings_scope()
        if self.match(TokenType.ALL) or self.match_text_seq("ALL"):
            return self.expression(ResetSetting(this=None, kind=scope))
        return self.expression(ResetSetting(this=self._settings_name(), kind=scope))

    def _parse_pragma_statement(self) -> exp.Expr:
        name = self._settings_name()
        if self.match(TokenType.EQ):
            value = self.parse_assignment()
            if value is None:
                self.raise_error("Expected a value")
            return self.expression(PragmaStatement(this=name, expression=value))
        if self.curr is not None and self.curr.token_type == TokenType.L_PAREN:
            arguments = self.parse_wrapped_csv(self.parse_assignment)
            return self.expression(PragmaStatement(this=name, expressions=arguments, call=True))
        return self.expression(PragmaStatement(this=name))

    def _transaction_end(self, statement: exp.Expr) -> exp.Expr:
        for word in _NOISE:
            if self.match_text_seq(word):
                break
        if not self._settings_at_end():
            self.raise_error("Unexpected words after the transaction statement")
        return self.expression(statement)

    def _parse_begin_statement(self) -> exp.Expr:
        return self._transaction_end(exp.Transaction())

    def _parse_start_statement(self) -> exp.Expr:
        if not self.match_text_seq("TRANSACTION"):
            self.raise_error("Expected TRANSACTION after START")
        return self._transaction_end(exp.Transaction())

    def _parse_commit_statement(self) -> exp.Expr:
        return self._transaction_end(exp.Commit())

    def _parse_rollback_statement(self) -> exp.Expr:
        return self._transaction_end(exp.Rollback())

    # First keyword -> its parser (the dialect's statement table includes these).
    SETTINGS_STATEMENTS: ClassVar[dict[str, Callable[[SettingsParsing], exp.Expr]]] = {
        "SET": _parse_set_setting,
        "RESET": _parse_reset_setting,
        "PRAGMA": _parse_pragma_statement,
        "BEGIN": _parse_begin_statement,
        "START": _parse_start_statement,
        "COMMIT": _parse_commit_statement,
        "END": _parse_commit_statement,
        "ROLLBACK": _parse_rollback_statement,
        "ABORT": _parse_rollback_statement,
    }
