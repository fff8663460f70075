"""INSERT: run the source in DuckDB, cast to the table's types, write Parquet, stage files.

Unpartitioned tables on local storage are written by DuckDB's own parallel Parquet
writer (``write/bulk.py``); the others stream Arrow batches through PyArrow's writer
(``write/rows.py``), which routes rows to partitions. Values are converted to the
column types with SQL ``CAST`` semantics. When DuckDB rejects a value, the statement
is run again looking for the first value that does not convert, so the error names the
table, column, row and value. Nothing is staged unless every row was written; the
files of a failed statement are deleted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table.sorting import NullOrder, SortDirection
from pyiceberg.transforms import (
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    TruncateTransform,
    YearTransform,
)
from pyiceberg.types import NestedField
from sqlglot import exp

from sqllake.catalog import TableName, refuse_relocated_write
from sqllake.errors import DataError, Error, NotSupportedError, ProgrammingError
from sqllake.execute.query import check_parameters, prepare
from sqllake.plan import nodes
from sqllake.result import Result
from sqllake.sql.text import quote_identifier
from sqllake.storage import remove_files
from sqllake.translation import OUT_OF_RANGE, error_class, marked, quoted_value
from sqllake.types import (
    arrow_schema,
    default_sql,
    duckdb_type,
    parse_sql_type,
    unwritable,
)
from sqllake.write import bulk, ranges
from sqllake.write.direct import direct_rows
from sqllake.write.rows import conform, write_rows

if TYPE_CHECKING:
    from sqllake.context import Context


def _targets(table: Table, name: TableName, plan: nodes.Insert) -> list[NestedField]:
    fields = table.schema().fields
    if plan.columns is None:
        return list(fields)
    by_name = {f.name.lower(): f for f in fields}
    targets: list[NestedField] = []
    for column, offset in plan.columns:
        found = by_name.get(column.lower())
        if found is None:
            raise ProgrammingError(f"table {name} has no column {column}", offset=offset)
        if found in targets:
            raise ProgrammingError(f"column {column} is listed twice", offset=offset)
        targets.append(found)
    return targets


# Transforms that keep order: sorting by the source column groups each partition's rows.
_ORDER_KEEPING = (
    IdentityTransform,
    YearTransform,
    MonthTransform,
    DayTransform,
    HourTransform,
    TruncateTransform,
)


def write_order(table: Table) -> str:
    """ORDER BY for a write: partition columns first, then the table's sort order.

    Rows of one partition then arrive together, so each partition gets files of full
    size instead of a small file per incoming batch, and the sort order (WRITE ORDERED
    BY) clusters values within files for min/max pruning. DuckDB sorts out of core, so
    a large write stays in bounded memory.
    """
    schema = table.schema()
    terms = []
    for partition_field in table.spec().fields:
        name = schema.find_column_name(partition_field.source_id)
        if (
            name is not None
            and "." not in name
            and isinstance(partition_field.transform, _ORDER_KEEPING)
        ):
            terms.append(f"{quote_identifier(name)} ASC NULLS FIRST")
    for field in table.sort_order().fields:
        name = schema.find_column_name(field.source_id)
        if name is None or not isinstance(field.transform, IdentityTransform) or "." in name:
            continue
        direction = "DESC" if field.direction == SortDirection.DESC else "ASC"
        nulls = "NULLS FIRST" if field.null_order == NullOrder.NULLS_FIRST else "NULLS LAST"
        terms.append(f"{quote_identifier(name)} {direction} {nulls}")
    unique = list(dict.fromkeys(terms))
    return f" ORDER BY {', '.join(unique)}" if unique else ""


def _literal_in_values(
    source: exp.Expr, targets: list[NestedField], exc: BaseException
) -> tuple[NestedField, int, Any] | None:
    """The VALUES literal an engine conversion error quotes, with its column and row.

    DuckDB may fail while typing a VALUES list itself ('forty' beside 30), before any
    row can be probed; the value it quotes is then found in the statement.
    """
    wanted = quoted_value(exc)
    if not isinstance(source, exp.Values) or wanted is None:
        return None
    for row, values in enumerate(source.expressions, start=1):
        items = values.expressions if isinstance(values, exp.Tuple) else [values]
        for column, item in enumerate(items[: len(targets)]):
            if isinstance(item, exp.Literal) and item.is_string and item.name == wanted:
                return targets[column], row, wanted
    return None


def _first_bad_value(
    session: Context,
    source_sql: str,
    aliases: str,
    targets: list[NestedField],
    params: Sequence[Any],
) -> tuple[NestedField, int, Any] | None:
    """The first (column, row, value) that does not convert, or None."""
    for i, field in enumerate(targets):
        probe = (
            f"SELECT __row, __v FROM (SELECT row_number() OVER () AS __row, __src.c{i} AS __v "
            f"FROM ({source_sql}) AS __src({aliases})) "
            f"WHERE __v IS NOT NULL AND TRY_CAST(__v AS {duckdb_type(field.field_type)}) IS NULL "
            "ORDER BY __row LIMIT 1"
        )
        try:
            found = session.engine.relation(probe, params).fetchall()
        except Exception:  # the source itself does not type-check: no row to point at
            return None
        if found:
            return field, int(found[0][0]), found[0][1]
    return None


def _first_outside(
    session: Context,
    source_sql: str,
    aliases: str,
    column: str,
    field: NestedField,
    params: Sequence[Any],
) -> tuple[int, Any] | None:
    """The first (row, value as text) of a column holding a date or timestamp a write
    cannot hold, in the order the source gives its rows."""
    test = ranges.outside("__v", field.field_type)
    probe = (
        f"SELECT __row, CAST(__v AS VARCHAR) FROM (SELECT row_number() OVER () AS __row, "
        f"CAST({column} AS {duckdb_type(field.field_type)}) AS __v "
        f"FROM ({source_sql}) AS __src({aliases})) WHERE {test} ORDER BY __row LIMIT 1"
    )
    try:
        found = session.engine.relation(probe, params).fetchall()
    except Exception:  # another error stops the probe first: no row to point at
        return None
    return (int(found[0][0]), found[0][1]) if found else None


def _read_up_to(reader: pa.RecordBatchReader, limit: int) -> tuple[list[pa.RecordBatch], int]:
    """Batches from ``reader`` until ``limit`` rows are read or it ends; and the count."""
    head: list[pa.RecordBatch] = []
    count = 0
    while count < limit:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        head.append(batch)
        count += batch.num_rows
    return head, count


def _conformed(table: Table, name: TableName, batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    """The rows of a small INSERT as one batch in the table's Arrow schema, checked."""
    schema = arrow_schema(table.schema())
    checked, row = [], 1
    for batch in batches:
        checked.append(conform(batch, schema, str(name), row))
        row += batch.num_rows
    return pa.Table.from_batches(checked, schema).combine_chunks().to_batches()[0]


def _typed_values(source: nodes.Query, targets: list[NestedField]) -> nodes.Query:
    """A VALUES list of several rows with each item cast to its column's type, as
    DuckDB's own INSERT casts them, and DEFAULT items replaced by the column's default.

    Queried as it is, the engine would first find one type for each column of the list
    and convert every item to it, which can change a value before the column's cast: a
    text with an offset beside a TIMESTAMP loses its offset. A single row, or a list
    whose rows do not match the columns, is left to the engine.
    """
    rows = source.tree.expressions if isinstance(source.tree, exp.Values) else []
    items = [row.expressions if isinstance(row, exp.Tuple) else [row] for row in rows]
    defaults = any(_is_default(item) for row in items for item in row)
    if (len(items) < 2 and not defaults) or any(len(row) != len(targets) for row in items):
        return source
    tree = source.tree.copy()
    types = [parse_sql_type(duckdb_type(f.field_type)) for f in targets]
    for row in tree.expressions:
        for item, kind, field in zip(row.expressions, types, targets, strict=True):
            if _is_default(item):  # DEFAULT: the column's write default (or NULL)
                item.replace(
                    sqlglot.parse_one(
                        default_sql(field.write_default, field.field_type), dialect="duckdb"
                    )
                )
            elif not isinstance(item, exp.Null):
                item.replace(exp.Cast(this=item.copy(), to=kind.copy()))
    return nodes.Query(tree, source.text, source.parameters)


def _columns(session: Context, source_sql: str, params: Sequence[Any]) -> list[str]:
    return list(session.engine.relation(source_sql, params).columns)


def _default_values(width: int) -> nodes.Query:
    """DEFAULT VALUES: one row of every column's default (or NULL)."""
    row = exp.Tuple(expressions=[exp.Var(this="DEFAULT") for _ in range(width)])
    values = exp.Values(expressions=[row])
    return nodes.Query(values, values.sql(dialect="duckdb"), 0)


def _is_default(item: exp.Expr) -> bool:
    """The DEFAULT keyword as a VALUES item."""
    return isinstance(item, exp.Var) and item.name.upper() == "DEFAULT"


def insert_rows(
    session: Context,
    name: TableName,
    table: Table,
    targets: list[NestedField],
    source: nodes.Query,
    params: Sequence[Any],
    *,
    inline: bool = True,
    constants: Mapping[int, str] | None = None,
) -> int:
    """Write the rows of ``source`` into ``table``'s ``targets``; stage the files. Row count.

    ``inline`` false writes files whatever the row count (never the insert buffer);
    ``constants`` gives columns (by field id) a SQL constant instead of their default
    (the static values of a PARTITION clause).
    """
    constants = constants or {}
    limit = session.inline_limit(name, table) if inline else 0
    check_parameters(source, params)
    refuse_relocated_write(table, name)
    blocking = unwritable(table.schema())
    if blocking is not None:
        raise NotSupportedError(f"table {name} has {blocking}, which sqllake cannot write yet")
    others = [t for t in session.transaction.tables_with_files() if t != name]
    if others and not session.lakehouse.is_sql_catalog:
        raise NotSupportedError(
            f"this transaction already wrote {others[0]}: writing a second table in one "
            "transaction needs a SQL catalog, which commits all tables atomically"
        )
    direct = (
        None
        if constants
        else direct_rows(source.tree, table, str(name), targets, params, session.engine.time_zone)
    )
    if direct is not None and direct.num_rows < limit:
        session.buffer_rows(name, table, direct)
        return int(direct.num_rows)
    source_sql = prepare(session, source).sql
    typed = _typed_values(source, targets)  # a VALUES list whose rows match the columns
    width = len(targets) if typed is not source else len(_columns(session, source_sql, params))
    if width != len(targets):
        raise ProgrammingError(
            f"INSERT into {name} has {len(targets)} target columns but the source has {width}",
            offset=0,
        )
    aliases = ", ".join(f"c{i}" for i in range(width))
    position = {field.field_id: i for i, field in enumerate(targets)}
    casts = []
    for field in table.schema().fields:
        if field.field_id in position:
            cast_sql = f"CAST(__src.c{position[field.field_id]} AS {duckdb_type(field.field_type)})"
            cast_sql = ranges.guarded(cast_sql, cast_sql, field.field_type, field.field_id)
        elif field.field_id in constants:  # a static PARTITION value
            cast_sql = f"CAST(({constants[field.field_id]}) AS {duckdb_type(field.field_type)})"
        else:  # a column the INSERT leaves out gets its write default
            cast_sql = default_sql(field.write_default, field.field_type)
        casts.append(f"{cast_sql} AS {quote_identifier(field.name)}")
    typed_sql = prepare(session, typed).sql if typed is not source else source_sql
    cast = _CastSource(
        f"SELECT {', '.join(casts)} FROM ({typed_sql}) AS __src({aliases})",
        write_order(table),
        limit,
    )
    write = _copied if bulk.eligible(table) else _streamed
    try:
        written = write(session, name, table, cast, params)
    except Error:
        raise
    except Exception as exc:
        # A value that does not fit is found and named; any other error goes on to the
        # statement's boundary as it came.
        field_id = marked(exc, OUT_OF_RANGE)
        if field_id is not None:
            field = next(f for f in targets if f.field_id == field_id)
            column = f"__src.c{position[field.field_id]}"
            found = _first_outside(session, source_sql, aliases, column, field, params)
            row, value = found if found is not None else (None, "?")
            raise DataError(
                ranges.message(value, field.name, str(name), row),
                offset=0,
                table=str(name),
                column=field.name,
                row=row,
                value=None if found is None else str(value),
            ) from exc
        if error_class(exc) is DataError:
            bad = _first_bad_value(
                session, source_sql, aliases, targets, params
            ) or _literal_in_values(source.tree, targets, exc)
            if bad is not None:
                field, row, value = bad
                raise DataError(
                    f"value {value!r} does not fit column {field.name} "
                    f"({duckdb_type(field.field_type)}) of table {name} (row {row})",
                    offset=0,
                    table=str(name),
                    column=field.name,
                    row=row,
                    value=str(value),
                ) from exc
        raise
    if not written.buffered:
        session.transaction.add(name, written.files)
    return written.rows


@dataclass(frozen=True)
class _CastSource:
    """The INSERT's rows as a query, in the table's columns and types, and their order."""

    select: str
    order: str  # " ORDER BY ..." or empty
    inline_limit: int  # fewer rows than this go to the insert buffer (0: never)


@dataclass(frozen=True)
class _Written:
    files: list[DataFile]  # to stage in the transaction
    rows: int
    buffered: bool  # the rows went to the insert buffer instead (no files)


def _streamed(
    session: Context, name: TableName, table: Table, cast: _CastSource, params: Sequence[Any]
) -> _Written:
    """Rows through Arrow and PyArrow's writer: partitioned tables, object storage.

    The engine's stream is closed however the write ends, so a write that fails
    part-way leaves the session's engine free for the next statement.
    """
    with session.engine.stream(cast.select + cast.order, params) as stream:
        reader = stream.batches
        limit = cast.inline_limit
        batches: Iterable[pa.RecordBatch] = reader
        if limit > 0:
            head, count = _read_up_to(reader, limit)
            if count < limit:
                if count:
                    session.buffer_rows(name, table, _conformed(table, name, head))
                return _Written([], count, buffered=True)
            batches = itertools.chain(head, reader)
        files = write_rows(table, str(name), batches, session.engine.threads)
    return _Written(files, sum(file.record_count for file in files), buffered=False)


def _copied(
    session: Context, name: TableName, table: Table, cast: _CastSource, params: Sequence[Any]
) -> _Written:
    """Rows written by the engine's parallel Parquet writer (see ``write/bulk.py``).

    The source runs once. If it gave fewer rows than an INSERT that is buffered, they
    are read back from the file into the buffer and the file is deleted, so a small
    INSERT ... SELECT leaves no small file behind.
    """

    def run(sql: str) -> list[tuple[Any, ...]]:
        return session.engine.relation(sql, params).fetchall()

    result = bulk.copy_rows(run, table, str(name), cast.select, cast.order)
    if result.rows >= cast.inline_limit:
        return _Written(result.files, result.rows, buffered=False)
    try:
        if result.rows:
            with session.engine.stream(bulk.read_back(result.files)) as stream:
                batches = list(stream.batches)
            session.buffer_rows(name, table, _conformed(table, name, batches))
    finally:
        remove_files((f.file_path for f in result.files), table.io)
    return _Written([], result.rows, buffered=True)


def insert(session: Context, plan: nodes.Insert, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.name)
    table = session.load(name, plan.name.offset)
    source = plan.source or _default_values(len(table.schema().fields))
    count = insert_rows(session, name, table, _targets(table, name, plan), source, params)
    return Result.status_only(f"INSERT {count}", rowcount=count)
