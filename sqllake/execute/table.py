"""Tables: CREATE (and CREATE ... AS SELECT), DROP, RENAME, SHOW TABLES, DESCRIBE, SHOW CREATE."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pyiceberg.partitioning import PartitionField
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import NullOrder, SortDirection
from pyiceberg.transforms import (
    BucketTransform,
    IdentityTransform,
    TruncateTransform,
    VoidTransform,
)
from pyiceberg.types import NestedField

from sqllake.errors import NotSupportedError, ProgrammingError, located
from sqllake.execute.defaults import evaluate_default
from sqllake.execute.insert import insert_rows
from sqllake.execute.query import check_parameters, prepare
from sqllake.plan import nodes
from sqllake.read.information_schema import STATISTICS, table_statistics
from sqllake.result import Result
from sqllake.secrets import mask_properties
from sqllake.sql.text import qualified_name, quote_identifier, quote_string
from sqllake.types import (
    default_literal,
    duckdb_type,
    field_ids,
    iceberg_type,
    parse_sql_type,
    v3_feature,
)
from sqllake.write.partitioning import build_spec
from sqllake.write.purge import purge

if TYPE_CHECKING:
    from sqllake.context import Context

NAME_MAPPING = "schema.name-mapping.default"


def _query_schema(session: Context, query: nodes.Query, params: Sequence[Any]) -> Schema:
    check_parameters(query, params)
    relation = session.engine.relation(prepare(session, query).sql, params)
    columns = session.engine.columns(relation)
    ids = field_ids()
    fields = []
    for name, type_name in zip(columns.names, columns.types, strict=True):
        field_type = iceberg_type(parse_sql_type(type_name), ids, f"column {name}")
        fields.append(NestedField(next(ids), name, field_type, required=False))
    return Schema(*fields)


def create_table(session: Context, plan: nodes.CreateTable, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.name)
    with located(plan.name.offset):
        exists = session.lakehouse.exists(name)
        if exists and plan.if_not_exists:
            return Result.status_only("CREATE TABLE")
        if exists and not plan.or_replace:
            # Refused before the catalog would write the new table's metadata file.
            raise ProgrammingError(f"table {name} already exists")
        if plan.query is not None and plan.or_replace and exists:
            raise NotSupportedError(
                "CREATE OR REPLACE TABLE ... AS SELECT of an existing table is not supported "
                "(it could not be undone if the query failed); DROP TABLE first"
            )
        schema = plan.schema or _query_schema(session, plan.query, params)  # type: ignore[arg-type]
        schema = _with_defaults(session, schema, plan.defaults)
        properties = {**plan.properties, FORMAT_VERSION: format_version(plan, schema)}
        if exists and plan.or_replace:
            session.transaction.discard(name)
            session.lakehouse.drop_table(name)
            if session.buffer is not None:
                session.buffer.forget(name)
        spec = build_spec(schema, plan.partition_by)
        table = session.lakehouse.create_table(name, schema, spec, properties)
    if plan.query is None:
        return Result.status_only("CREATE TABLE")
    try:
        count = insert_rows(session, name, table, list(table.schema().fields), plan.query, params)
    except BaseException:
        # CREATE TABLE ... AS SELECT is one statement: a failed load leaves no table.
        session.transaction.discard(name)
        purge(session.lakehouse.drop_table(name))
        raise
    return Result.status_only(f"CREATE TABLE {count}", rowcount=count)


FORMAT_VERSION = "format-version"
DEFAULT_FORMAT_VERSION = 2  # what Spark and the Iceberg library create, and most engines read


def _with_defaults(
    session: Context, schema: Schema, defaults: tuple[tuple[str, nodes.Default], ...]
) -> Schema:
    """``schema`` with each column's DEFAULT as its write default."""
    if not defaults:
        return schema
    values = {
        name.lower(): evaluate_default(session, default, schema.find_field(name).field_type, name)
        for name, default in defaults
    }
    fields = [
        NestedField(
            f.field_id,
            f.name,
            f.field_type,
            f.required,
            f.doc,
            write_default=values.get(f.name.lower()),
        )
        for f in schema.fields
    ]
    return Schema(*fields, identifier_field_ids=schema.identifier_field_ids)


def format_version(plan: nodes.CreateTable, schema: Schema) -> str:
    """The new table's format: as its properties say, else 2, or 3 when its columns
    need it (a default, a nanosecond timestamp): no other format can carry them."""
    needs = v3_feature(schema)
    stated = plan.properties.get(FORMAT_VERSION)
    if stated is None:
        return "3" if needs else str(DEFAULT_FORMAT_VERSION)
    if needs and int(stated) < 3:
        raise NotSupportedError(
            f"{needs} needs Iceberg format-version 3, and the table was asked to be "
            f"format-version {stated}"
        )
    return stated


def drop_table(session: Context, plan: nodes.DropTable, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.name)
    with located(plan.name.offset):
        if plan.if_exists and not session.lakehouse.exists(name):
            return Result.status_only("DROP TABLE")
        dropped = session.lakehouse.drop_table(name)
        if plan.purge:
            purge(dropped)
    session.transaction.discard(name)
    if session.buffer is not None:
        session.buffer.forget(name)
    if session.lakehouse.path_maps is not None:
        session.lakehouse.path_maps.forget(name)
    return Result.status_only("DROP TABLE")


def rename_table(session: Context, plan: nodes.RenameTable, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.name)
    if plan.if_exists and not session.lakehouse.exists(name):
        return Result.status_only("ALTER TABLE")
    new_parts = plan.new_name.parts
    # An unqualified new name keeps the table in its schema (Spark and Trino agree).
    new = session.table_name(
        nodes.Name((*name.namespace, *new_parts), plan.new_name.offset)
        if len(new_parts) == 1
        else plan.new_name
    )
    if session.transaction.wrote(name):
        raise NotSupportedError(f"cannot rename {name} while this transaction has writes to it")
    with located(plan.name.offset):
        session.lakehouse.load(name)
    with located(plan.new_name.offset):
        session.lakehouse.rename_table(name, new)
    if session.buffer is not None:
        session.buffer.rename(name, new)
    if session.lakehouse.path_maps is not None:
        session.lakehouse.path_maps.rename(name, new)
    return Result.status_only("ALTER TABLE")


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%``, ``_``; case-insensitive, as Spark's SHOW TABLES) as a regex."""
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def show_tables(session: Context, plan: nodes.ShowTables, params: Sequence[Any]) -> Result:
    namespace = plan.schema.parts if plan.schema else session.schema
    with located(plan.schema.offset if plan.schema else 0):
        tables = session.lakehouse.tables(namespace)
    if plan.like is not None:
        pattern = _like(plan.like)
        tables = [t for t in tables if pattern.fullmatch(t.name)]
    if not plan.extended:
        return Result.rows("SHOW TABLES", [("name", "VARCHAR")], [(t.name,) for t in tables])
    rows = []
    for name in tables:
        stats = table_statistics(session.lakehouse, name, session.row_count)
        rows.append((name.name, *(stats[key] for key in STATISTICS)))
    columns = [("name", "VARCHAR"), *STATISTICS.items()]
    return Result.rows("SHOW TABLES", columns, rows)


def column_type(field: NestedField) -> str:
    """A column's type as DESCRIBE and PRAGMA table_info show it."""
    return duckdb_type(field.field_type)


def default_sql(field: NestedField) -> str | None:
    """The column's write default as SQL, or None."""
    if field.write_default is None:
        return None
    return default_literal(field.write_default, field.field_type)


def describe_table(session: Context, plan: nodes.DescribeTable, params: Sequence[Any]) -> Result:
    table = session.load(session.table_name(plan.name), plan.name.offset)
    rows = [
        (f.name, duckdb_type(f.field_type), "NO" if f.required else "YES", f.doc, f.field_id)
        for f in table.schema().fields
    ]
    columns = [
        ("column_name", "VARCHAR"),
        ("column_type", "VARCHAR"),
        ("null", "VARCHAR"),
        ("comment", "VARCHAR"),
        ("field_id", "BIGINT"),
    ]
    return Result.rows("DESCRIBE", columns, rows)


def _partition_sql(schema: Schema, field: PartitionField) -> str | None:
    """A partition field in PARTITIONED BY syntax (None for a void field, which is inert)."""
    column = quote_identifier(schema.find_column_name(field.source_id) or "")
    transform = field.transform
    if isinstance(transform, IdentityTransform):
        return column
    if isinstance(transform, BucketTransform):
        return f"bucket({transform.num_buckets}, {column})"
    if isinstance(transform, TruncateTransform):
        return f"truncate({transform.width}, {column})"
    if isinstance(transform, VoidTransform):
        return None
    return f"{transform}({column})"


def show_create_table(
    session: Context, plan: nodes.ShowCreateTable, params: Sequence[Any]
) -> Result:
    name = session.table_name(plan.name)
    table = session.load(name, plan.name.offset)
    columns = []
    for f in table.schema().fields:
        line = f"  {quote_identifier(f.name)} {duckdb_type(f.field_type, declared=True)}"
        line += " NOT NULL" if f.required else ""
        line += f" DEFAULT {default_sql(f)}" if f.write_default is not None else ""
        line += f" COMMENT {quote_string(f.doc)}" if f.doc else ""
        columns.append(line)
    schema = table.schema()
    if schema.identifier_field_ids:
        key = ", ".join(
            quote_identifier(schema.find_column_name(i) or "") for i in schema.identifier_field_ids
        )
        columns.append(f"  PRIMARY KEY ({key})")
    qualified = qualified_name(name.identifier)
    text = f"CREATE TABLE {qualified} (\n" + ",\n".join(columns) + "\n)"
    partitioning = [_partition_sql(schema, f) for f in table.spec().fields]
    if any(partitioning):
        text += f"\nPARTITIONED BY ({', '.join(p for p in partitioning if p)})"
    # Another engine may have stored a credential as a property: it is shown masked. A
    # name mapping (REST catalogs add one) names this table's field ids, which a table
    # created from the statement would not share: it is left out.
    shown = {k: v for k, v in table.properties.items() if k != NAME_MAPPING}
    properties = {**mask_properties(shown), "format-version": str(table.format_version)}
    if properties:
        listed = ",\n".join(
            f"  {quote_string(k)} = {quote_string(v)}" for k, v in sorted(properties.items())
        )
        text += f"\nWITH (\n{listed}\n)"
    statements = [text]
    order = _write_order_sql(table)
    if order:
        statements.append(f"ALTER TABLE {qualified} WRITE ORDERED BY ({order})")
    return Result.rows(
        "SHOW CREATE TABLE", [("create_statement", "VARCHAR")], [(s,) for s in statements]
    )


def _write_order_sql(table: Table) -> str | None:
    """The table's sort order as WRITE ORDERED BY lists it; None when unsorted or when
    it sorts by a transform, which that clause cannot state."""
    fields = table.sort_order().fields
    if not fields or any(not isinstance(f.transform, IdentityTransform) for f in fields):
        return None
    schema = table.schema()
    return ", ".join(
        f"{quote_identifier(schema.find_column_name(f.source_id) or '')} "
        f"{'DESC' if f.direction == SortDirection.DESC else 'ASC'} "
        f"NULLS {'FIRST' if f.null_order == NullOrder.NULLS_FIRST else 'LAST'}"
        for f in fields
    )
