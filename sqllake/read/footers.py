"""The layout of each data file, from its Parquet footer (field ids and names).

Read only for tables that need it: those whose history makes nested names misleading
(``nested.history_misreads``) and those with a name mapping
(``schema.name-mapping.default``), whose files may have been written without field ids
by another engine or added in place. A file without ids is matched through the name
mapping, by the names it has; with no mapping it is refused, since a renamed field
cannot be told from a new one. Footers are read in parallel and cached by path and
size, as data files never change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.schema import Schema
from pyiceberg.table.name_mapping import MappedField, NameMapping

from sqllake.errors import NotSupportedError
from sqllake.read.nested import ROOT, NestedLayout, nested_misread, schema_structs
from sqllake.storage import parquet_schema

_FIELD_ID = b"PARQUET:field_id"
_FOOTER_THREADS = 8  # the reads wait on I/O
_CACHE_SIZE = 100_000

File = tuple[str, int]  # path as DuckDB opens it, size in bytes


@dataclass(frozen=True)
class _Node:
    """A field of a footer: its name in the file, how a name mapping calls it ("element",
    "key" and "value" inside lists and maps), its field id if the file has one."""

    name: str
    key: str
    field_id: int | None
    struct: bool
    children: tuple[_Node, ...]


def _parts(field: pa.Field) -> Iterator[tuple[pa.Field, str]]:
    kind = field.type
    if isinstance(kind, pa.StructType):
        for i in range(kind.num_fields):
            yield kind.field(i), kind.field(i).name
    elif isinstance(kind, pa.MapType):
        yield kind.key_field, "key"
        yield kind.item_field, "value"
    elif isinstance(kind, pa.ListType | pa.LargeListType | pa.FixedSizeListType):
        yield kind.value_field, "element"


def _node(field: pa.Field, key: str) -> _Node:
    raw = (field.metadata or {}).get(_FIELD_ID)
    return _Node(
        field.name,
        key,
        int(raw) if raw is not None else None,
        isinstance(field.type, pa.StructType),
        tuple(_node(child, child_key) for child, child_key in _parts(field)),
    )


def _collect(
    nodes: Iterable[_Node],
    mapped: Iterable[MappedField],
    owner: int,
    named: bool,
    out: set[tuple[int, int, str]],
) -> None:
    by_name = {name: m for m in mapped for name in m.names}
    for node in nodes:
        mapping = by_name.get(node.key)
        field_id = node.field_id
        if field_id is None and mapping is not None:
            field_id = mapping.field_id
        if field_id is None:
            continue  # not a field of the table (the spec says: ignore it)
        if named:
            out.add((owner, field_id, node.name))
        _collect(node.children, mapping.fields if mapping else (), field_id, node.struct, out)


def _layout(columns: tuple[_Node, ...], mapping: NameMapping | None, path: str) -> NestedLayout:
    if mapping is None and not all(_complete(c) for c in columns):
        raise NotSupportedError(
            f"data file {path} lacks Iceberg field ids and the table has no name mapping "
            "(schema.name-mapping.default); sqllake cannot tell which fields it holds"
        )
    out: set[tuple[int, int, str]] = set()
    _collect(columns, mapping.root if mapping else (), ROOT, True, out)
    return NestedLayout(frozenset(out), by_name=any(c.field_id is None for c in columns))


def _complete(node: _Node) -> bool:
    return node.field_id is not None and all(_complete(c) for c in node.children)


# A file with every field id caches its layout; one without caches its footer, which
# the table's name mapping (that may change) resolves on each read. Oldest go first.
_cache: dict[File, NestedLayout | tuple[_Node, ...]] = {}
_shared: dict[NestedLayout, NestedLayout] = {}  # files of one schema share their layout


def _footer(file: File) -> NestedLayout | tuple[_Node, ...]:
    columns = tuple(_node(field, field.name) for field in parquet_schema(file[0]))
    if not all(_complete(c) for c in columns):
        return columns
    layout = _layout(columns, None, file[0])
    if len(_shared) >= _CACHE_SIZE:
        _shared.clear()
    return _shared.setdefault(layout, layout)


def _footers(files: list[File]) -> dict[File, NestedLayout | tuple[_Node, ...]]:
    found = {file: _cache[file] for file in files if file in _cache}
    missing = [file for file in files if file not in found]
    if len(missing) < _FOOTER_THREADS:
        read = [_footer(file) for file in missing]
    else:
        with ThreadPoolExecutor(_FOOTER_THREADS) as pool:
            read = list(pool.map(_footer, missing))
    for file, footer in zip(missing, read, strict=True):
        if len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
        _cache[file] = found[file] = footer
    return found


def special_layouts(
    files: list[File], read: Schema, mapping: NameMapping | None
) -> dict[str, NestedLayout]:
    """The layouts of the files that the plain read by field id would get wrong: files
    without field ids, and files whose nested names mislead under ``read``."""
    wanted = schema_structs(read)
    verdicts: dict[NestedLayout, bool] = {}
    out = {}
    for (path, _), footer in _footers(files).items():
        layout = footer if isinstance(footer, NestedLayout) else _layout(footer, mapping, path)
        if layout not in verdicts:
            verdicts[layout] = layout.by_name or nested_misread(wanted, layout.structs)
        if verdicts[layout]:
            out[path] = layout
    return out
