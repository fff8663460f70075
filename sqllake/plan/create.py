"""CREATE TABLE -> its plan: the columns as an Iceberg schema, defaults, key,
properties and partitioning. Imported by the planner when a CREATE TABLE comes."""

from __future__ import annotations

from pyiceberg.schema import Schema
from pyiceberg.types import NestedField
from sqlglot import exp

from sqllake.errors import ProgrammingError, located
from sqllake.plan import nodes
from sqllake.plan.alter import default_of
from sqllake.plan.common import name_of, properties_of, query_of, refuse
from sqllake.plan.partition import partition_items, trino_partitioning
from sqllake.sql.syntax import offset_of
from sqllake.types import check_identifier_field, field_ids, iceberg_type

# Column constraints: which ones CREATE TABLE understands.
_COLUMN_CONSTRAINTS = {
    exp.NotNullColumnConstraint,
    exp.CommentColumnConstraint,
    exp.PrimaryKeyColumnConstraint,
    exp.DefaultColumnConstraint,
}


def _column(column: exp.Expr, ids: object) -> NestedField:
    if not isinstance(column, exp.ColumnDef) or not isinstance(
        column.args.get("kind"), exp.DataType
    ):
        raise ProgrammingError("expected a column name and type", offset=offset_of(column))
    required, doc = False, None
    for constraint in column.constraints:
        kind = constraint.args.get("kind")
        if type(kind) not in _COLUMN_CONSTRAINTS:
            raise refuse(f"column constraint {kind.sql('duckdb') if kind else ''}", constraint)
        if isinstance(kind, exp.NotNullColumnConstraint):
            required = not kind.args.get("allow_null")
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            required = True
        elif isinstance(kind, exp.CommentColumnConstraint):
            doc = kind.this.name
    name = column.this.name
    field_type = iceberg_type(column.args["kind"], ids, f"column {name}")  # type: ignore[arg-type]
    return NestedField(next(ids), name, field_type, required=required, doc=doc)  # type: ignore[call-overload]


def _defaults(columns: list[exp.Expr]) -> tuple[tuple[str, nodes.Default], ...]:
    """Each column's DEFAULT (a constant), by column name."""
    found = []
    for column in columns:
        for constraint in column.args.get("constraints") or []:
            kind = constraint.args.get("kind")
            if isinstance(kind, exp.DefaultColumnConstraint):
                value = kind.this
                value.meta.setdefault("start", offset_of(constraint))
                default = default_of(value)
                assert default is not None
                found.append((column.name, default))
    return tuple(found)


def _primary_key(columns: list[exp.Expr]) -> list[tuple[str, int]]:
    """Key columns, from PRIMARY KEY (...) or a column's own PRIMARY KEY constraint."""
    key: list[tuple[str, int]] = []
    for column in columns:
        if isinstance(column, exp.PrimaryKey):
            key.extend((part.name, offset_of(part)) for part in column.expressions)
        elif isinstance(column, exp.ColumnDef) and any(
            isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint)
            for c in column.constraints
        ):
            key.append((column.name, offset_of(column)))
    return key


def _schema(columns: list[exp.Expr]) -> Schema:
    """The table schema; PRIMARY KEY columns become Iceberg identifier fields (NOT NULL)."""
    ids = field_ids()
    key = {name.lower(): offset for name, offset in _primary_key(columns)}
    fields: list[NestedField] = []
    for column in columns:
        if isinstance(column, exp.PrimaryKey):
            continue
        field = _column(column, ids)
        if any(f.name.lower() == field.name.lower() for f in fields):
            raise ProgrammingError(f"column {field.name} is listed twice", offset=offset_of(column))
        if field.name.lower() in key and not field.required:
            field = NestedField(field.field_id, field.name, field.field_type, True, field.doc)
        fields.append(field)
    identifiers = []
    for name, offset in key.items():
        match = next((f for f in fields if f.name.lower() == name), None)
        if match is None:
            raise ProgrammingError(f"PRIMARY KEY names unknown column {name}", offset=offset)
        with located(offset):
            check_identifier_field(match, match.name)
        identifiers.append(match.field_id)
    return Schema(*fields, identifier_field_ids=identifiers)


def _properties(
    create: exp.Create,
) -> tuple[dict[str, str], tuple[nodes.PartitionItem, ...]]:
    """Table properties and partitioning (PARTITIONED BY, or Trino's ``partitioning``)."""
    found = create.args.get("properties")
    pairs: list[exp.Expr] = []
    partitioning: tuple[nodes.PartitionItem, ...] = ()
    for prop in found.expressions if found else []:
        if isinstance(prop, exp.PartitionedByProperty):
            partitioning = partition_items(prop.this.expressions)
        elif not isinstance(prop, exp.Property):
            raise refuse(f"table option {prop.sql('duckdb')}", prop)
        elif prop.name.lower() == "partitioning":
            partitioning = trino_partitioning(prop.args["value"])
        else:
            pairs.append(prop)
    return properties_of(pairs), partitioning


def plan_create_table(tree: exp.Create, text: str) -> nodes.Plan:
    exists = bool(tree.args.get("exists"))
    if tree.args.get("temporary") or any(
        isinstance(p, exp.TemporaryProperty)
        for p in (tree.args["properties"].expressions if tree.args.get("properties") else [])
    ):
        raise refuse("CREATE TEMPORARY TABLE", tree)
    target = tree.this
    columns = target.expressions if isinstance(target, exp.Schema) else []
    query = tree.expression
    if query is not None and columns:
        raise refuse("a column list with CREATE TABLE ... AS", tree)
    if query is None and not columns:
        raise ProgrammingError("CREATE TABLE needs columns or AS SELECT", offset=offset_of(tree))
    properties, partitioning = _properties(tree)
    return nodes.CreateTable(
        name=name_of(target),
        schema=_schema(columns) if columns else None,
        properties=properties,
        defaults=_defaults(columns),
        partition_by=partitioning,
        if_not_exists=exists,
        or_replace=bool(tree.args.get("replace")),
        query=query_of(query, text) if query is not None else None,
    )
