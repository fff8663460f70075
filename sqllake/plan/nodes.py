"""Typed plans: one frozen dataclass per statement kind.

A plan says what a statement asks for in sqllake's terms; names are still as the user
wrote them (``parts``), because what ``t`` means depends on the session's current
schema when the statement runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import Transform
    from pyiceberg.types import IcebergType


@dataclass(frozen=True)
class Name:
    """A (possibly qualified) schema or table name as written, and where it was written."""

    parts: tuple[str, ...]
    offset: int


@dataclass(frozen=True)
class PartitionItem:
    """One PARTITIONED BY entry: a transform of a source column."""

    source: str
    transform: Transform  # type: ignore[type-arg]
    offset: int


@dataclass(frozen=True)
class Default:
    """A column's DEFAULT as written (a constant, evaluated when the statement runs)."""

    expression: exp.Expr
    offset: int


@dataclass(frozen=True)
class Plan:
    """Base of all plans."""


@dataclass(frozen=True)
class CreateSchema(Plan):
    name: Name
    if_not_exists: bool


@dataclass(frozen=True)
class DropSchema(Plan):
    name: Name
    if_exists: bool
    cascade: bool


@dataclass(frozen=True)
class ShowSchemas(Plan):
    pass


@dataclass(frozen=True)
class UseSchema(Plan):
    name: Name


@dataclass(frozen=True)
class CreateTable(Plan):
    name: Name
    schema: Schema | None  # None: taken from the query (CREATE TABLE ... AS SELECT)
    properties: dict[str, str] = field(hash=False)
    if_not_exists: bool = False
    or_replace: bool = False
    query: Query | None = None
    partition_by: tuple[PartitionItem, ...] = ()
    defaults: tuple[tuple[str, Default], ...] = ()  # (column, DEFAULT): write defaults


@dataclass(frozen=True)
class DropTable(Plan):
    name: Name
    if_exists: bool
    purge: bool


@dataclass(frozen=True)
class RenameTable(Plan):
    name: Name
    new_name: Name
    if_exists: bool = False


@dataclass(frozen=True)
class ColumnRef:
    """A column path as written (``point.z``) and where it was written."""

    path: tuple[str, ...]
    offset: int

    def __str__(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class AddColumn:
    column: ColumnRef
    field_type: IcebergType
    required: bool
    doc: str | None
    first: bool
    after: ColumnRef | None
    if_not_exists: bool = False
    default: Default | None = None  # sets both the initial and the write default


@dataclass(frozen=True)
class SetColumnDefault:
    """ALTER COLUMN c SET DEFAULT v (the write default), or DROP DEFAULT (None)."""

    column: ColumnRef
    default: Default | None


@dataclass(frozen=True)
class DropColumn:
    column: ColumnRef
    if_exists: bool


@dataclass(frozen=True)
class RenameColumn:
    column: ColumnRef
    new_name: str


@dataclass(frozen=True)
class SetColumnType:
    column: ColumnRef
    field_type: IcebergType


@dataclass(frozen=True)
class SetColumnNullability:
    column: ColumnRef
    required: bool


@dataclass(frozen=True)
class SetColumnComment:
    column: ColumnRef
    doc: str


@dataclass(frozen=True)
class SetProperties:
    properties: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class UnsetProperties:
    keys: tuple[str, ...]
    if_exists: bool
    offsets: tuple[int, ...] = ()


@dataclass(frozen=True)
class SetIdentifierFields:
    columns: tuple[ColumnRef, ...]
    add: bool = False  # DuckDB's ADD PRIMARY KEY: refused if the table has a key


@dataclass(frozen=True)
class AddPartitionField:
    item: PartitionItem
    name: str | None
    if_not_exists: bool = False


@dataclass(frozen=True)
class DropPartitionField:
    """A partition field named by its name (``ts_day``) or by its transform (``day(ts)``)."""

    item: PartitionItem
    if_exists: bool = False


@dataclass(frozen=True)
class SetPartitioning:
    """DuckDB's SET PARTITIONED BY (...): the whole new spec (none: unpartitioned)."""

    items: tuple[PartitionItem, ...]


@dataclass(frozen=True)
class ReplacePartitionField:
    old: PartitionItem
    new: PartitionItem
    name: str | None


@dataclass(frozen=True)
class SortItem:
    column: str
    descending: bool
    nulls_first: bool
    offset: int


@dataclass(frozen=True)
class SetWriteOrder:
    """WRITE ORDERED BY (...); no items: WRITE UNORDERED."""

    items: tuple[SortItem, ...]


AlterAction = (
    AddColumn
    | SetColumnDefault
    | SetPartitioning
    | DropColumn
    | RenameColumn
    | SetColumnType
    | SetColumnNullability
    | SetColumnComment
    | SetProperties
    | UnsetProperties
    | SetIdentifierFields
    | AddPartitionField
    | DropPartitionField
    | ReplacePartitionField
    | SetWriteOrder
)


@dataclass(frozen=True)
class AlterTable(Plan):
    """Every action of one ALTER TABLE statement, applied as one metadata commit."""

    name: Name
    actions: tuple[AlterAction, ...]
    if_exists: bool = False


@dataclass(frozen=True)
class AlterSchemaProperties(Plan):
    name: Name
    properties: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class RenameSchema(Plan):
    name: Name
    new_name: Name


@dataclass(frozen=True)
class ShowTables(Plan):
    schema: Name | None
    like: str | None = None  # SQL LIKE pattern over table names
    extended: bool = False  # with each table's statistics


@dataclass(frozen=True)
class DescribeTable(Plan):
    name: Name


@dataclass(frozen=True)
class ShowCreateTable(Plan):
    name: Name


@dataclass(frozen=True)
class Query(Plan):
    """A DuckDB query over lakehouse tables; ``tree`` is rewritten when it runs."""

    tree: exp.Expr
    text: str
    parameters: int


@dataclass(frozen=True)
class PartitionValue:
    """One column of an INSERT's ``PARTITION (...)`` clause: ``c = value`` (static) or
    ``c`` alone (dynamic: the query gives it)."""

    column: str
    value: exp.Expr | None
    offset: int


@dataclass(frozen=True)
class Insert(Plan):
    name: Name
    columns: tuple[tuple[str, int], ...] | None  # (column, offset) as listed, or all
    source: Query | None  # None: DEFAULT VALUES, one row of every column's default
    overwrite: bool = False  # INSERT OVERWRITE: replaces the rows of the partitions written
    partition: tuple[PartitionValue, ...] = ()  # the PARTITION (...) clause


@dataclass(frozen=True)
class Truncate(Plan):
    """TRUNCATE [TABLE] t: every row goes, in one ``delete`` snapshot."""

    name: Name


@dataclass(frozen=True)
class Explain(Plan):
    query: Query
    analyze: bool


@dataclass(frozen=True)
class Argument:
    """One argument of a CALL: its name when passed by name (``table => 'x'``)."""

    name: str | None
    value: exp.Expr
    offset: int


@dataclass(frozen=True)
class CallProcedure(Plan):
    name: Name
    arguments: tuple[Argument, ...]


@dataclass(frozen=True)
class FlushTable(Plan):
    name: Name


@dataclass(frozen=True)
class Begin(Plan):
    pass


@dataclass(frozen=True)
class Commit(Plan):
    pass


@dataclass(frozen=True)
class Rollback(Plan):
    pass


@dataclass(frozen=True)
class SetSetting(Plan):
    """SET [scope] name = value: a DuckDB setting of this session's engine."""

    name: str
    scope: str | None  # SESSION, GLOBAL, LOCAL or VARIABLE, as written
    value: exp.Expr | None  # None: DEFAULT
    text: str  # the statement, as the engine runs it
    offset: int


@dataclass(frozen=True)
class ResetSetting(Plan):
    name: str | None  # None: RESET ALL
    scope: str | None
    text: str
    offset: int


@dataclass(frozen=True)
class Pragma(Plan):
    """PRAGMA name, PRAGMA name = value, PRAGMA name(arguments)."""

    name: str
    value: exp.Expr | None
    arguments: tuple[exp.Expr, ...]
    call: bool
    text: str
    offset: int


@dataclass(frozen=True)
class Assignment:
    """``column = value`` of an UPDATE or a MERGE's UPDATE SET."""

    column: str
    offset: int
    value: exp.Expr


@dataclass(frozen=True)
class WhenClause:
    """One WHEN clause of a MERGE (a DELETE or UPDATE is one ``matched`` clause).

    ``assignments`` None with ``action`` update is ``UPDATE SET *``; ``values`` None with
    ``action`` insert is ``INSERT *``; ``columns`` None lists every column."""

    match: str  # "matched", "not_matched" (by target), "not_matched_by_source"
    condition: exp.Expr | None
    action: str  # "delete", "update", "insert"
    offset: int
    assignments: tuple[Assignment, ...] | None = None
    columns: tuple[tuple[str, int], ...] | None = None
    values: tuple[exp.Expr, ...] | None = None


@dataclass(frozen=True)
class ChangeRows(Plan):
    """DELETE, UPDATE or MERGE: which rows of ``target`` change, and how.

    ``source`` is what target rows are joined with (UPDATE's FROM, DELETE's USING,
    MERGE's USING); ``condition`` is the WHERE (DELETE, UPDATE) or the ON (MERGE)."""

    statement: str  # "delete", "update", "merge": names the table properties it reads
    target: Name
    alias: str  # what the statement calls the target's rows
    sources: tuple[exp.Expr, ...]
    condition: exp.Expr | None
    clauses: tuple[WhenClause, ...]
    text: str
    parameters: int
