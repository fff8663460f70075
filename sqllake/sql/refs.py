"""Branches and tags in ALTER TABLE, with Spark's grammar (Iceberg's SQL extensions):

    ALTER TABLE t CREATE [OR REPLACE] BRANCH [IF NOT EXISTS] b [AS OF VERSION id]
        [RETAIN n DAYS|HOURS|MINUTES] [WITH SNAPSHOT RETENTION [n SNAPSHOTS] [n DAYS|...]]
    ALTER TABLE t REPLACE BRANCH b ...
    ALTER TABLE t CREATE [OR REPLACE] TAG [IF NOT EXISTS] v [AS OF VERSION id] [RETAIN ...]
    ALTER TABLE t DROP BRANCH|TAG [IF EXISTS] name

Each is a statement of its own (not one action among others of an ALTER TABLE).
"""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from sqllake.compat.sqlglot import ParserBase

REF_KINDS = ("BRANCH", "TAG")
TIME_UNITS = {"DAYS": "DAYS", "DAY": "DAYS", "HOURS": "HOURS", "HOUR": "HOURS"}
TIME_UNITS |= {"MINUTES": "MINUTES", "MINUTE": "MINUTES"}


class AlterTableRef(exp.Expression):
    """One branch or tag change; ``retain`` and ``snapshot_age`` are Intervals."""

    arg_types: ClassVar[dict[str, bool]] = {
        "this": True,  # the table
        "kind": True,  # BRANCH or TAG
        "name": True,  # Identifier
        "create": False,
        "replace": False,
        "drop": False,
        "exists": False,  # IF EXISTS (drop) / IF NOT EXISTS (create)
        "version": False,  # AS OF VERSION: a Literal
        "retain": False,
        "snapshots": False,  # WITH SNAPSHOT RETENTION n SNAPSHOTS: a Literal
        "snapshot_age": False,
    }


class RefParsing(ParserBase):
    """The branch and tag actions; :class:`~sqllake.sql.alter.AlterParsing` extends it."""

    def _ref_kind(self) -> str | None:
        word = self.curr.text.upper() if self.curr else ""
        if word not in REF_KINDS:
            return None
        self.advance()
        return word

    def _at_ref_action(self) -> bool:
        """Whether an ALTER TABLE action here changes a branch or tag (nothing consumed)."""
        index = self.index
        try:
            if self.match_text_seq("CREATE"):
                self.match_text_seq("OR", "REPLACE")
            elif not (self.match_text_seq("REPLACE") or self.match_text_seq("DROP")):
                return False
            if self._ref_kind() is None:
                return False
            # ``DROP TAG`` with nothing after it drops a column named tag.
            return self.curr is not None and self.curr.token_type not in (
                TokenType.COMMA,
                TokenType.SEMICOLON,
                TokenType.SENTINEL,
            )
        finally:
            self.retreat(index)

    def _ref_interval(self, what: str) -> exp.Expr:
        number = self.parse_number()
        unit = self.curr.text.upper() if self.curr else ""
        if number is None or unit not in TIME_UNITS:
            self.raise_error(f"Expected a number of DAYS, HOURS or MINUTES after {what}")
        self.advance()
        return exp.Interval(this=number, unit=exp.var(TIME_UNITS[unit]))

    def _ref_options(self, ref: AlterTableRef) -> None:
        if self.match_text_seq("AS", "OF", "VERSION"):
            version = self.parse_number()
            if version is None:
                self.raise_error("Expected a snapshot id after AS OF VERSION")
            ref.set("version", version)
        if self.match_text_seq("RETAIN"):
            ref.set("retain", self._ref_interval("RETAIN"))
        if self.match_text_seq("WITH", "SNAPSHOT", "RETENTION"):
            if ref.args["kind"] != "BRANCH":
                self.raise_error("Only branches keep snapshots: WITH SNAPSHOT RETENTION")
            index = self.index
            number = self.parse_number()
            if number is not None and self.match_text_seq("SNAPSHOTS"):
                ref.set("snapshots", number)
            else:
                self.retreat(index)
            if self.curr is not None and self.curr.token_type == TokenType.NUMBER:
                ref.set("snapshot_age", self._ref_interval("WITH SNAPSHOT RETENTION"))
            if ref.args.get("snapshots") is None and ref.args.get("snapshot_age") is None:
                self.raise_error("Expected n SNAPSHOTS or n DAYS after WITH SNAPSHOT RETENTION")

    def _alter_table_ref(self, table: exp.Expr | None) -> exp.Expr | None:
        """The branch or tag statement starting here, or None if it is another action."""
        if not self._at_ref_action():
            return None
        ref = AlterTableRef(this=table)
        if self.match_text_seq("DROP"):
            ref.set("drop", True)
            ref.set("kind", self._ref_kind())
            ref.set("exists", self.match_text_seq("IF", "EXISTS"))
        else:
            create = self.match_text_seq("CREATE")
            replace = self.match_text_seq("OR", "REPLACE") or self.match_text_seq("REPLACE")
            ref.set("create", create)
            ref.set("replace", replace)
            ref.set("kind", self._ref_kind())
            if create and not replace:
                ref.set("exists", self.match_text_seq("IF", "NOT", "EXISTS"))
        name = self.parse_id_var()
        if name is None:
            self.raise_error(f"Expected the {str(ref.args['kind']).lower()}'s name")
        ref.set("name", name)
        if not ref.args.get("drop"):
            self._ref_options(ref)
        return self.expression(ref)
