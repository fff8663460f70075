"""The DuckDB SELECT that reads one planned scan.

Parquet columns are matched to table columns by Iceberg field id (``read_parquet``'s
``schema`` map), so renamed columns keep their data and columns added later read as
their initial default (or NULL) from older files. Without delete files the scan is a
plain ``read_parquet`` over the planned files. With delete files, each row carries
its file and position; position deletes and equality deletes are anti-joins (equality
with NULL matching NULL), restricted by data sequence number and partition as the scan
plan recorded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyiceberg.schema import Schema
from pyiceberg.types import NestedField

from sqllake.errors import NotSupportedError
from sqllake.read.deletion_vectors import positions_table
from sqllake.read.locations import SQL_NORMALIZE
from sqllake.read.nested import NestedLayout
from sqllake.read.nested_sql import ColumnRead, column_by_name, column_read, default_text
from sqllake.read.parquet_read import ReadColumn, empty_select, read_parquet, schema_map
from sqllake.read.scan import DataFileRef, DeleteFileRef, ScanPlan, keep_missing_identity
from sqllake.sql.text import quote_identifier, quote_string, string_list
from sqllake.types import duckdb_type

if TYPE_CHECKING:
    from sqllake.read.engine import Engine


def _schema_map(fields: Sequence[NestedField], reads: dict[int, ColumnRead] | None = None) -> str:
    """``read_parquet``'s map of ``fields``; ``reads`` gives the columns that a group of
    files holds under other nested names."""
    columns = []
    for f in fields:
        read = reads.get(f.field_id) if reads else None
        columns.append(
            ReadColumn(
                f.field_id,
                _read_name(f) if read else f.name,
                read.read_type if read else duckdb_type(f.field_type),
                default_text(f),
            )
        )
    return schema_map(columns)


def _read_name(field: NestedField) -> str:
    return f"__c{field.field_id}"


def _empty(schema: Schema) -> str:
    return empty_select([(f.name, duckdb_type(f.field_type)) for f in schema.fields])


_POSITIONS = ("filename", "file_row_number")


def _layout_read(
    fields: Sequence[NestedField], layout: NestedLayout, paths: list[str], positions: bool
) -> str:
    reads = {f.field_id: column_read(f, layout, _read_name(f)) for f in fields}
    columns = [f"{reads[f.field_id].value} AS {quote_identifier(f.name)}" for f in fields]
    if positions:
        columns.extend(_POSITIONS)
    source = read_parquet(paths, _schema_map(fields, reads), positions)
    return f"SELECT {', '.join(columns)} FROM {source}"


def _name_read(
    fields: Sequence[NestedField], layout: NestedLayout, paths: list[str], positions: bool
) -> str:
    columns = [f"{column_by_name(f, layout)} AS {quote_identifier(f.name)}" for f in fields]
    if positions:
        columns.extend(_POSITIONS)
    extra = ", filename = true, file_row_number = true" if positions else ""
    return (
        f"SELECT {', '.join(columns)} FROM read_parquet({string_list(paths)}, "
        f"union_by_name = true, hive_partitioning = false{extra})"
    )


def _source(plan: ScanPlan, positions: bool) -> str:
    """What the planned files' rows are read from, under the table's columns (with each
    row's file and position when ``positions``): one ``read_parquet`` for the files that
    read by name, and one more per layout of files holding nested fields under other
    names (so many files written under a few schemas cost a few subqueries)."""
    fields = plan.schema.fields
    by_name = [f.path for f in plan.files if f.layout is None]
    layouts: dict[NestedLayout, list[str]] = defaultdict(list)
    for f in plan.files:
        if f.layout is not None:
            layouts[f.layout].append(f.path)
    if not layouts:
        return read_parquet(by_name, _schema_map(fields), positions)
    # Explicit columns in every part: UNION ALL matches them by position, and ``*`` puts
    # file_row_number before filename.
    columns = [quote_identifier(f.name) for f in fields] + list(_POSITIONS if positions else ())
    plain = (
        f"SELECT {', '.join(columns)} FROM {read_parquet(by_name, _schema_map(fields), positions)}"
    )
    parts = [plain] if by_name else []
    parts += [
        (_name_read if layout.by_name else _layout_read)(fields, layout, paths, positions)
        for layout, paths in layouts.items()
    ]
    return f"({' UNION ALL '.join(parts)})"


def _plain(plan: ScanPlan) -> str:
    return f"SELECT * FROM {_source(plan, positions=False)}"


def _files_relation(files: tuple[DataFileRef, ...], fill: dict[int, NestedField]) -> str:
    rows = []
    for f in files:
        values = dict(f.identity)
        filled = [
            values.get(fid, f"CAST(NULL AS {duckdb_type(field.field_type)})")
            for fid, field in fill.items()
        ]
        row = [
            quote_string(f.path),
            quote_string(f.recorded),
            str(f.sequence),
            quote_string(f.partition_key),
        ]
        rows.append("(" + ", ".join(row + filled) + ")")
    names = ["__path", "__recorded", "__seq", "__part", *(f"__p{fid}" for fid in fill)]
    return f"(VALUES {', '.join(rows)}) AS __f({', '.join(names)})"


def _position_deletes(deletes: tuple[DeleteFileRef, ...], vectors_view: str | None) -> str:
    """An anti-join of the data rows (``__x``) with the positions deleted. Written as
    ``ANTI JOIN``, not ``NOT EXISTS``: DuckDB then builds one hash table of the positions
    and keeps the query's filters on the data scan (a tenth of a table's rows deleted
    made TPC-H Q6 8x slower as ``NOT EXISTS``)."""
    recorded = SQL_NORMALIZE.format("file_path")
    parts = [
        f"SELECT {recorded} AS __recorded, pos AS __pos, {d.sequence} AS __seq "
        f"FROM read_parquet([{quote_string(d.path)}])"
        for d in deletes
    ]
    if vectors_view is not None:
        parts.append(f"SELECT __recorded, __pos, __seq FROM {quote_identifier(vectors_view)}")
    return (
        f" ANTI JOIN ({' UNION ALL '.join(parts)}) AS __pd "
        "ON __pd.__recorded = __x.__recorded AND __pd.__pos = __x.file_row_number "
        "AND __pd.__seq >= __x.__seq"
    )


def _equality_deletes(
    plan: ScanPlan, ids: tuple[int, ...], deletes: list[DeleteFileRef], fill: set[int]
) -> str:
    by_id = {f.field_id: f for f in plan.schema.fields}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise NotSupportedError(
            f"table {plan.table} has equality deletes on columns that are not top-level "
            f"columns of the schema read (field ids {missing})"
        )
    fields = [by_id[i] for i in ids]
    names = ", ".join(quote_identifier(f.name) for f in fields)
    parts = [
        f"SELECT {names}, {d.sequence} AS __seq, "
        f"{quote_string(d.partition_key) if d.partition_key else 'NULL::VARCHAR'} AS __part "
        f"FROM read_parquet([{quote_string(d.path)}], schema = {_schema_map(fields)})"
        for d in deletes
    ]
    matches = " AND ".join(
        f"__ed.{quote_identifier(f.name)} IS NOT DISTINCT FROM {_row_value(f, fill)}"
        for f in fields
    )
    return (
        f"NOT EXISTS (SELECT 1 FROM ({' UNION ALL '.join(parts)}) AS __ed "
        "WHERE __ed.__seq > __x.__seq AND (__ed.__part IS NULL OR __ed.__part = __x.__part) "
        f"AND {matches})"
    )


def _row_value(field: NestedField, fill: set[int]) -> str:
    """A data row's value of a column, from the manifest where the file lacks it."""
    column = f"__x.{quote_identifier(field.name)}"
    return f"COALESCE({column}, __x.__p{field.field_id})" if field.field_id in fill else column


# The columns a scan with row ids adds: each row's data file (its recorded path,
# normalized, as position deletes name it) and position in that file.
ROW_FILE = "__sqllake_file"
ROW_POS = "__sqllake_pos"


def _joined(plan: ScanPlan, vectors_view: str | None, row_ids: bool = False) -> str:
    fill_ids = {fid for f in plan.files for fid, _ in f.identity}
    fill = {f.field_id: f for f in plan.schema.fields if f.field_id in fill_ids}
    columns = ", ".join(
        [f"{_row_value(f, set(fill))} AS {quote_identifier(f.name)}" for f in plan.schema.fields]
        + (
            [f"__x.__recorded AS {ROW_FILE}", f"__x.file_row_number AS {ROW_POS}"]
            if row_ids
            else []
        )
    )
    data = (
        f"SELECT __d.*, __f.* FROM {_source(plan, positions=True)} AS __d "
        f"JOIN {_files_relation(plan.files, fill)} ON __d.filename = __f.__path"
    )
    anti = ""
    if plan.position_deletes or vectors_view is not None:
        anti = _position_deletes(plan.position_deletes, vectors_view)
    groups: dict[tuple[int, ...], list[DeleteFileRef]] = defaultdict(list)
    for delete in plan.equality_deletes:
        groups[delete.equality_ids].append(delete)
    conditions = [_equality_deletes(plan, ids, group, set(fill)) for ids, group in groups.items()]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {columns} FROM ({data}) AS __x{anti}{where}"


def scan_sql(plan: ScanPlan, vectors_view: str | None = None, row_ids: bool = False) -> str:
    """A DuckDB SELECT returning the table's columns, in order, from the planned files;
    with ``row_ids``, then each row's file and position (:data:`ROW_FILE`,
    :data:`ROW_POS`), which a DELETE, UPDATE or MERGE changes rows by.

    ``vectors_view`` names a view of the positions the plan's deletion vectors delete
    (``__recorded``, ``__pos``, ``__seq``), needed when it has any.
    """
    if plan.deletion_vectors and vectors_view is None:
        raise ValueError("a scan with deletion vectors needs the view of their positions")
    if not plan.files:
        empty = _empty(plan.schema)
        if row_ids:
            ids = f"CAST(NULL AS VARCHAR) AS {ROW_FILE}, CAST(NULL AS BIGINT) AS {ROW_POS}"
            empty = empty.replace(" LIMIT 0", f", {ids} LIMIT 0")
        return empty
    if row_ids or plan.has_deletes or any(f.identity for f in plan.files):
        return _joined(plan, vectors_view, row_ids)
    return _plain(plan)


def engine_scan_select(engine: Engine, scan: ScanPlan, row_ids: bool = False) -> str:
    """The scan's SELECT for ``engine`` (the one that will run it), with what only the
    engine can supply: which files lack their identity partition columns (from the
    footers) and the positions of deletion vectors (registered as a view). Queries, the
    change feed, row-level changes and row counts all read so."""
    needing = [f.path for f in scan.files if f.identity]
    if needing:
        # Keep identity fill-ins only for files that lack the column.
        scan = keep_missing_identity(scan, engine.field_ids(needing))
    vectors = None
    if scan.deletion_vectors:
        # One Puffin file holds the vectors of many data files, each its own entry.
        files = list(dict.fromkeys((d.path, d.sequence) for d in scan.deletion_vectors))
        vectors = engine.register(positions_table(files))
    return scan_sql(scan, vectors, row_ids)
