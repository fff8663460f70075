"""ALTER TABLE and ALTER SCHEMA in the sqllake dialect (Spark and Trino spellings).

sqlglot's DuckDB grammar knows only a few ALTER forms and turns the rest into opaque
commands, so the lakehouse forms are parsed here into expressions of their own, one
class per action. Column paths are dotted (``point.z``) to reach nested fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, NoReturn

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

from sqllake.sql.refs import RefParsing


class AlterTable(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expressions": True, "exists": False}


class AlterSchema(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expressions": True}


class ColumnPath(exp.Expression):
    """A dotted column path; ``expressions`` are its Identifier parts."""

    arg_types: ClassVar[dict[str, bool]] = {"expressions": True}

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(part.name for part in self.expressions)


class AddColumn(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {
        "this": True,  # ColumnPath
        "kind": True,  # DataType
        "not_null": False,
        "comment": False,
        "first": False,
        "after": False,  # ColumnPath
        "exists": False,  # IF NOT EXISTS
        "default": False,  # the DEFAULT expression
    }


class DropColumn(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "exists": False}


class RenameColumn(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "to": True}


class SetColumnType(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "kind": True}


class SetColumnNullability(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "not_null": True}


class SetColumnComment(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "comment": True}


class SetProperties(exp.Expression):
    """``expressions`` are Property(this=key, value=value)."""

    arg_types: ClassVar[dict[str, bool]] = {"expressions": True}


class UnsetProperties(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"expressions": True, "exists": False}


class SetIdentifierFields(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"expressions": True}


class AddPartitionField(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "alias": False, "exists": False}


class DropPartitionField(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "exists": False}


class SetPartitioning(exp.Expression):
    """DuckDB's SET PARTITIONED BY (...): the whole spec; none is RESET PARTITIONED BY."""

    arg_types: ClassVar[dict[str, bool]] = {"expressions": False}


class SetColumnDefault(exp.Expression):
    """ALTER COLUMN c SET DEFAULT v (``expression``) or DROP DEFAULT (none)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": False}


class AddPrimaryKey(exp.Expression):
    """DuckDB's ADD PRIMARY KEY (a, b): the table's identifier fields."""

    arg_types: ClassVar[dict[str, bool]] = {"expressions": True}


class ReplacePartitionField(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True, "alias": False}


class WriteOrderedBy(exp.Expression):
    """``expressions`` are Ordered nodes; none means WRITE UNORDERED."""

    arg_types: ClassVar[dict[str, bool]] = {"expressions": False}


class RenameTo(exp.Expression):
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class AlterParsing(RefParsing):
    """The ALTER grammar, one method per action; the dialect's parser extends it."""

    def refuse(self, what: str, token: Token | None = None, hint: str = "") -> NoReturn:
        """Refuse valid SQL that sqllake does not run, pointing at ``token``; the
        dialect's parser raises the located error."""
        raise NotImplementedError(what)

    def _refuse_phrase(self, phrases: tuple[tuple[str, ...], ...], what: str) -> None:
        """Refuse ``what ... PHRASE`` if the statement goes on with one of ``phrases``."""
        start = self.curr
        for phrase in phrases:
            if self.match_text_seq(*phrase):
                self.refuse(f"{what} ... {' '.join(phrase)}", start)

    def _alter_column_path(self) -> ColumnPath:
        parts = [self.parse_id_var(any_token=True)]
        while self.match(TokenType.DOT):
            parts.append(self.parse_id_var(any_token=True))
        if any(part is None for part in parts):
            self.raise_error("Expected a column name")
        return self.expression(ColumnPath(expressions=parts))

    def _alter_add_column(self) -> exp.Expr:
        exists = self.match_text_seq("IF", "NOT", "EXISTS")
        path = self._alter_column_path()
        kind = self.parse_types(check_func=False, schema=True)
        if kind is None:
            self.raise_error("Expected a column type")
        action = AddColumn(this=path, kind=kind, exists=exists)
        while self.curr and self.curr.token_type != TokenType.COMMA:
            if self.match_text_seq("NOT", "NULL"):
                action.set("not_null", True)
            elif self.match_text_seq("NULL"):
                action.set("not_null", False)
            elif self.match_text_seq("DEFAULT"):
                action.set("default", self._alter_default_value())
            elif self.match_text_seq("COMMENT"):
                action.set("comment", self.parse_string())
            elif self.match_text_seq("FIRST"):
                action.set("first", True)
            elif self.match_text_seq("AFTER"):
                action.set("after", self._alter_column_path())
            else:
                break
        return self.expression(action)

    def _alter_default_value(self) -> exp.Expr:
        start = self.curr.start if self.curr else 0
        value = self.parse_bitwise()
        if value is None:
            self.raise_error("Expected a default value")
            raise AssertionError  # raise_error raises
        value.meta["start"] = start  # so errors point at the value
        return value

    def _alter_partition_alias(self) -> exp.Expr | None:
        return self.parse_id_var(any_token=True) if self.match_text_seq("AS") else None

    def _alter_add(self) -> list[exp.Expr]:
        if self.match_text_seq("PARTITION", "FIELD"):
            exists = self.match_text_seq("IF", "NOT", "EXISTS")
            field = self.parse_bitwise()
            alias = self._alter_partition_alias()
            return [self.expression(AddPartitionField(this=field, alias=alias, exists=exists))]
        if self.match(TokenType.PRIMARY_KEY):  # one token
            paths = self.parse_wrapped_csv(self._alter_column_path)
            return [self.expression(AddPrimaryKey(expressions=paths))]
        if self.match_text_seq("COLUMNS") or (
            self.match_text_seq("COLUMN")
            and self.curr
            and self.curr.token_type == TokenType.L_PAREN
        ):
            return list(self.parse_wrapped_csv(self._alter_add_column))
        self.match_text_seq("COLUMN")
        if self.curr and self.curr.token_type == TokenType.L_PAREN:
            return list(self.parse_wrapped_csv(self._alter_add_column))
        return [self._alter_add_column()]

    def _alter_drop_action(self) -> list[exp.Expr]:
        if self.match_text_seq("PARTITION", "FIELD"):
            exists = self.match_text_seq("IF", "EXISTS")
            return [self.expression(DropPartitionField(this=self.parse_bitwise(), exists=exists))]
        self.match_text_seq("COLUMN")
        exists = self.match_text_seq("IF", "EXISTS")
        return [self.expression(DropColumn(this=self._alter_column_path(), exists=exists))]

    def _alter_rename_action(self) -> list[exp.Expr]:
        if self.match_text_seq("TO"):
            return [self.expression(RenameTo(this=self.parse_table_parts()))]
        self.match_text_seq("COLUMN")
        path = self._alter_column_path()
        if not self.match_text_seq("TO"):
            self.raise_error("Expected TO")
        return [self.expression(RenameColumn(this=path, to=self.parse_id_var(any_token=True)))]

    def _alter_alter_column(self) -> list[exp.Expr]:
        self.match_text_seq("COLUMN")
        path = self._alter_column_path()
        if self.match_text_seq("SET", "DATA", "TYPE") or self.match_text_seq("TYPE"):
            kind = self.parse_types(check_func=False, schema=True)
            return [self.expression(SetColumnType(this=path, kind=kind))]
        if self.match_text_seq("DROP", "NOT", "NULL"):
            return [self.expression(SetColumnNullability(this=path, not_null=False))]
        if self.match_text_seq("SET", "NOT", "NULL"):
            return [self.expression(SetColumnNullability(this=path, not_null=True))]
        if self.match_text_seq("COMMENT"):
            return [self.expression(SetColumnComment(this=path, comment=self.parse_string()))]
        if self.match_text_seq("SET", "DEFAULT"):
            value = self._alter_default_value()
            return [self.expression(SetColumnDefault(this=path, expression=value))]
        if self.match_text_seq("DROP", "DEFAULT"):
            return [self.expression(SetColumnDefault(this=path))]
        self.raise_error(
            "Expected TYPE, SET NOT NULL, DROP NOT NULL, SET DEFAULT, DROP DEFAULT or COMMENT"
        )
        return []

    def _alter_property_pairs(self) -> list[exp.Expr]:
        def pair() -> exp.Expr:
            key = self.parse_string() or self.parse_id_var(any_token=True)
            if key is None or not self.match(TokenType.EQ):
                self.raise_error("Expected 'key' = 'value'")
            return exp.Property(this=key, value=self.parse_primary())

        if self.curr and self.curr.token_type == TokenType.L_PAREN:
            return list(self.parse_wrapped_csv(pair))
        return list(self.parse_csv(pair))

    def _alter_set_action(self) -> list[exp.Expr]:
        if self.match_text_seq("TBLPROPERTIES") or self.match_text_seq("PROPERTIES"):
            return [self.expression(SetProperties(expressions=self._alter_property_pairs()))]
        if self.match_text_seq("IDENTIFIER", "FIELDS"):
            paths = self.parse_csv(self._alter_column_path)
            return [self.expression(SetIdentifierFields(expressions=paths))]
        if self.match(TokenType.PARTITION_BY):  # one token: PARTITIONED BY
            fields = self.parse_wrapped_csv(self.parse_bitwise)
            return [self.expression(SetPartitioning(expressions=fields))]
        if self.match_text_seq("SORTED", "BY"):
            order = self.parse_wrapped_csv(self.parse_ordered)
            return [self.expression(WriteOrderedBy(expressions=order))]
        self.raise_error(
            "Expected TBLPROPERTIES, PROPERTIES, IDENTIFIER FIELDS, PARTITIONED BY or "
            "SORTED BY after SET"
        )
        return []

    def _alter_reset_action(self) -> list[exp.Expr]:
        if self.match(TokenType.PARTITION_BY):
            return [self.expression(SetPartitioning(expressions=[]))]
        if self.match_text_seq("SORTED", "BY"):
            return [self.expression(WriteOrderedBy(expressions=[]))]
        self.raise_error("Expected PARTITIONED BY or SORTED BY after RESET")
        return []

    def _alter_unset_action(self) -> list[exp.Expr]:
        if not self.match_text_seq("TBLPROPERTIES"):
            self.raise_error("Expected TBLPROPERTIES after UNSET")
        exists = self.match_text_seq("IF", "EXISTS")
        keys = self.parse_wrapped_csv(lambda: self.parse_string() or self.parse_id_var())
        return [self.expression(UnsetProperties(expressions=keys, exists=exists))]

    def _alter_replace_action(self) -> list[exp.Expr]:
        if not self.match_text_seq("PARTITION", "FIELD"):
            self.raise_error("Expected PARTITION FIELD after REPLACE")
        old = self.parse_bitwise()
        if not self.match_text_seq("WITH"):
            self.raise_error("Expected WITH")
        new = self.parse_bitwise()
        alias = self._alter_partition_alias()
        return [self.expression(ReplacePartitionField(this=old, expression=new, alias=alias))]

    def _alter_write_action(self) -> list[exp.Expr]:
        if self.match_text_seq("UNORDERED"):
            return [self.expression(WriteOrderedBy(expressions=[]))]
        if not (
            self.match_text_seq("LOCALLY", "ORDERED", "BY") or self.match_text_seq("ORDERED", "BY")
        ):
            self.raise_error("Expected ORDERED BY or UNORDERED after WRITE")
        wrapped = self.curr is not None and self.curr.token_type == TokenType.L_PAREN
        order = (
            self.parse_wrapped_csv(self.parse_ordered)
            if wrapped
            else self.parse_csv(self.parse_ordered)
        )
        return [self.expression(WriteOrderedBy(expressions=order))]

    # First keyword of an ALTER TABLE action -> its parser.
    ALTER_TABLE_ACTIONS: ClassVar[dict[str, Callable[[AlterParsing], list[exp.Expr]]]] = {
        "ADD": _alter_add,
        "DROP": _alter_drop_action,
        "RENAME": _alter_rename_action,
        "ALTER": _alter_alter_column,
        "SET": _alter_set_action,
        "UNSET": _alter_unset_action,
        "RESET": _alter_reset_action,
        "REPLACE": _alter_replace_action,
        "WRITE": _alter_write_action,
    }

    # Valid SQL of DuckDB, Spark, Trino or PostgreSQL that sqllake refuses, rather than
    # call it a syntax error: objects other than tables and schemas, and actions.
    REFUSED_ALTER_OBJECTS: ClassVar[frozenset[str]] = frozenset(
        {"VIEW", "MATERIALIZED", "SEQUENCE", "INDEX", "USER", "ROLE", "FUNCTION", "MACRO", "TYPE"}
    )
    REFUSED_SCHEMA_ACTIONS: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("OWNER", "TO"),
        ("SET", "AUTHORIZATION"),
        ("SET", "LOCATION"),
    )
    REFUSED_TABLE_ACTIONS: ClassVar[tuple[tuple[str, ...], ...]] = (
        *REFUSED_SCHEMA_ACTIONS,
        ("SET", "SCHEMA"),
        ("EXECUTE",),
    )

    def _parse_alter_lakehouse(self) -> exp.Expr:
        word = self.curr.text.upper() if self.curr else ""
        if word in self.REFUSED_ALTER_OBJECTS:
            self.refuse(f"ALTER {word}")
        if self.match_text_seq("SCHEMA") or self.match_text_seq("DATABASE"):
            name = self.parse_table_parts()
            self._refuse_phrase(self.REFUSED_SCHEMA_ACTIONS, "ALTER SCHEMA")
            if self.match_text_seq("SET", "PROPERTIES") or self.match_text_seq(
                "SET", "DBPROPERTIES"
            ):
                action: exp.Expr = SetProperties(expressions=self._alter_property_pairs())
            elif self.match_text_seq("RENAME", "TO"):
                action = RenameTo(this=self.parse_table_parts())
            else:
                self.raise_error("Expected SET PROPERTIES or RENAME TO")
            return self.expression(AlterSchema(this=name, expressions=[action]))
        if not self.match_text_seq("TABLE"):
            self.raise_error("Expected TABLE or SCHEMA after ALTER")
        exists = self.match_text_seq("IF", "EXISTS")
        table = self.parse_table_parts()
        ref = self._alter_table_ref(table)  # branches and tags: statements of their own
        if ref is not None:
            return ref
        actions: list[exp.Expr] = []
        while True:
            self._refuse_phrase(self.REFUSED_TABLE_ACTIONS, "ALTER TABLE")
            if actions and self._at_ref_action():
                self.refuse("a branch or tag change together with other changes")
            word = self.curr.text.upper() if self.curr else ""
            handler = self.ALTER_TABLE_ACTIONS.get(word)
            if handler is None:
                self.raise_error(
                    "Expected ADD, DROP, RENAME, ALTER, SET, UNSET, RESET, REPLACE or WRITE "
                    "in ALTER TABLE"
                )
                return exp.Null()  # raise_error raises; this keeps type checkers informed
            self.advance()
            actions.extend(handler(self))
            if not self.match(TokenType.COMMA):
                break
        return self.expression(AlterTable(this=table, expressions=actions, exists=exists))
