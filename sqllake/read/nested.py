"""Which names each data file gives the fields inside its structs.

DuckDB's ``read_parquet(schema = ...)`` finds top-level columns by Iceberg field id but
the fields of a struct by name (without regard to case). That reads right while every
struct field kept its name in every schema of the table, no name passed to another
field, and each struct kept a field in common with its older versions. When the
table's history broke one of these (a nested rename, a nested field dropped and added
again under its name, all fields of a struct replaced), the files written before need
their own names: those come from the Parquet footer's field ids. Footers are cached by
path and size, as data files never change.

Structs are keyed by the field id of what holds them (a column, a list element, a map
key or value, or a field of an outer struct); the top level is key 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.schema import Schema
from pyiceberg.types import IcebergType, ListType, MapType, StructType

from sqllake.errors import NotSupportedError

ROOT = 0  # the key of the top-level struct (Iceberg field ids start at 1)

_FIELD_ID = b"PARQUET:field_id"
_FOOTER_THREADS = 8  # footers of a large table are read in parallel; the reads wait on I/O

# struct key -> {field id: name} for every struct of a schema or file
Structs = dict[int, dict[int, str]]


@dataclass(frozen=True)
class NestedLayout:
    """The struct fields of one data file: (struct key, field id, name in the file).

    Files with equal layouts are read by one ``read_parquet``, so a table of many files
    written under a few schemas costs a few subqueries.
    """

    fields: frozenset[tuple[int, int, str]]

    @cached_property
    def structs(self) -> Structs:
        found: Structs = {}
        for owner, field_id, name in self.fields:
            found.setdefault(owner, {})[field_id] = name
        return found

    def children(self, owner: int) -> dict[int, str]:
        return self.structs.get(owner, {})


def _type_structs(owner: int, itype: IcebergType, out: Structs) -> None:
    if isinstance(itype, StructType):
        out[owner] = {f.field_id: f.name for f in itype.fields}
        for f in itype.fields:
            _type_structs(f.field_id, f.field_type, out)
    elif isinstance(itype, ListType):
        _type_structs(itype.element_id, itype.element_type, out)
    elif isinstance(itype, MapType):
        _type_structs(itype.key_id, itype.key_type, out)
        _type_structs(itype.value_id, itype.value_type, out)


def schema_structs(schema: Schema) -> Structs:
    out: Structs = {}
    _type_structs(ROOT, schema.as_struct(), out)
    return out


def _misread(wanted: dict[int, str], held: dict[int, str]) -> bool:
    """Whether reading ``held`` (a struct as written) by the names of ``wanted`` (the
    same struct as read) goes wrong: a field under another name, a name now given to
    another field, or no field in common (DuckDB refuses that cast)."""
    if not wanted.keys() & held.keys():
        return True
    held_names = {name.lower(): field_id for field_id, name in held.items()}
    for field_id, name in wanted.items():
        if field_id in held:
            if held[field_id].lower() != name.lower():
                return True
        elif name.lower() in held_names:
            return True
    return False


def _nested_misread(read: Structs, other: Structs) -> bool:
    return any(
        owner != ROOT and owner in read and _misread(read[owner], held)
        for owner, held in other.items()
    )


def history_misreads(schemas: Iterable[Schema], read: Schema) -> bool:
    """Whether a file written under any schema of the table could read wrongly by name
    under ``read``; False keeps every read of the table free of footer work."""
    wanted = schema_structs(read)
    if len(wanted) == 1:  # no struct below the top level
        return False
    return any(_nested_misread(wanted, schema_structs(schema)) for schema in schemas)


def _field_id(field: pa.Field, path: str, where: str) -> int:
    raw = (field.metadata or {}).get(_FIELD_ID)
    if raw is None:
        # Without ids a renamed field cannot be told from a new one: refuse, don't guess.
        raise NotSupportedError(
            f"data file {where} has no Iceberg field id for {path}, and the table renamed "
            "or re-added nested fields; sqllake cannot match its nested fields"
        )
    return int(raw)


def _children(field: pa.Field) -> Iterator[pa.Field]:
    kind = field.type
    if isinstance(kind, pa.StructType):
        yield from (kind.field(i) for i in range(kind.num_fields))
    elif isinstance(kind, pa.MapType):
        yield from (kind.key_field, kind.item_field)
    elif isinstance(kind, pa.ListType | pa.LargeListType | pa.FixedSizeListType):
        yield kind.value_field


def _walk(
    field: pa.Field, field_id: int, path: str, where: str, out: set[tuple[int, int, str]]
) -> None:
    named = isinstance(field.type, pa.StructType)
    for child in _children(field):
        child_path = f"{path}.{child.name}"
        child_id = _field_id(child, child_path, where)
        if named:
            out.add((field_id, child_id, child.name))
        _walk(child, child_id, child_path, where, out)


def _footer_layout(file: tuple[str, int]) -> NestedLayout:
    path = file[0]
    schema = pq.read_schema(path)
    out: set[tuple[int, int, str]] = set()
    for column in schema:
        column_id = _field_id(column, column.name, path)
        out.add((ROOT, column_id, column.name))
        _walk(column, column_id, column.name, path, out)
    return NestedLayout(frozenset(out))


# (path, size) -> layout; the size guards against a file replaced under the same name.
# Oldest entries go first once full. Equal layouts are shared (files of one schema).
_CACHE_SIZE = 100_000
_cache: dict[tuple[str, int], NestedLayout] = {}
_shared: dict[NestedLayout, NestedLayout] = {}


def _remember(file: tuple[str, int], layout: NestedLayout) -> NestedLayout:
    if len(_shared) >= _CACHE_SIZE:
        _shared.clear()
    layout = _shared.setdefault(layout, layout)
    if len(_cache) >= _CACHE_SIZE:
        del _cache[next(iter(_cache))]
    _cache[file] = layout
    return layout


def file_layouts(files: list[tuple[str, int]]) -> dict[tuple[str, int], NestedLayout]:
    """The layout of each data file (path, size), from its footer unless cached."""
    found = {file: _cache[file] for file in files if file in _cache}
    missing = [file for file in files if file not in found]
    if len(missing) < _FOOTER_THREADS:
        layouts = [_footer_layout(file) for file in missing]
    else:
        with ThreadPoolExecutor(_FOOTER_THREADS) as pool:
            layouts = list(pool.map(_footer_layout, missing))
    found.update(
        (file, _remember(file, layout)) for file, layout in zip(missing, layouts, strict=True)
    )
    return found


def misread_layouts(files: list[tuple[str, int]], read: Schema) -> dict[str, NestedLayout]:
    """The layouts of the files (path, size) that read wrongly by name under ``read``;
    the others are left out and read as usual."""
    wanted = schema_structs(read)
    verdicts: dict[NestedLayout, bool] = {}
    out = {}
    for (path, _), layout in file_layouts(files).items():
        if layout not in verdicts:
            verdicts[layout] = _nested_misread(wanted, layout.structs)
        if verdicts[layout]:
            out[path] = layout
    return out
