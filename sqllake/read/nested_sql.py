"""SQL reading a column of files whose struct fields carry other names than the table's.

The file's column is read as the table's type spelled with the file's field names, so
DuckDB finds every field and casts it (nested promotions included); ``struct_pack``
then rebuilds each struct under the table's names, with NULL (or the field's initial
default) for the fields the file lacks. Lists and maps are rebuilt element by element.
A struct that has none of the fields read in the file is read through one of the
file's own fields, as text, which only tells whether the struct is NULL. Files without
field ids are read by their own names and types, and cast.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.types import (
    IcebergType,
    ListType,
    MapType,
    NestedField,
    StringType,
    StructType,
)

from sqllake.read.nested import ROOT, NestedLayout
from sqllake.sql.text import quote_identifier, quote_string
from sqllake.types import default_text as initial_text
from sqllake.types import duckdb_type


@dataclass(frozen=True)
class ColumnRead:
    read_type: str  # the DuckDB type the file's column is read as
    value: str  # SQL giving the column under the table's names and types


def default_text(field: NestedField) -> str | None:
    """A field's initial default as the text DuckDB casts from (None: no default)."""
    default = field.initial_default
    if default is None:
        return None
    try:
        return initial_text(default, field.field_type)
    except (TypeError, ValueError, NotImplementedError, AssertionError):
        # A type PyIceberg has no JSON form for keeps its Python value's text.
        return str(default).lower() if isinstance(default, bool) else str(default)


def _missing(field: NestedField) -> str:
    text = default_text(field)
    return (
        f"CAST({'NULL' if text is None else quote_string(text)} AS {duckdb_type(field.field_type)})"
    )


def _unchanged(owner: int, itype: IcebergType, layout: NestedLayout) -> bool:
    """Whether the file holds every struct field below under the same name."""
    if isinstance(itype, StructType):
        held = layout.children(owner)
        return all(
            held.get(f.field_id) == f.name and _unchanged(f.field_id, f.field_type, layout)
            for f in itype.fields
        )
    if isinstance(itype, ListType):
        return _unchanged(itype.element_id, itype.element_type, layout)
    if isinstance(itype, MapType):
        return _unchanged(itype.key_id, itype.key_type, layout) and _unchanged(
            itype.value_id, itype.value_type, layout
        )
    return True


def _file_type(owner: int, itype: IcebergType, layout: NestedLayout) -> IcebergType:
    """``itype`` under the file's field names, without the fields the file lacks."""
    if isinstance(itype, StructType):
        held = layout.children(owner)
        kept = [
            NestedField(f.field_id, held[f.field_id], _file_type(f.field_id, f.field_type, layout))
            for f in itype.fields
            if f.field_id in held
        ]
        if not kept:
            probe_id, probe_name = min(held.items())
            kept = [NestedField(probe_id, probe_name, StringType())]
        return StructType(*kept)
    if isinstance(itype, ListType):
        return ListType(itype.element_id, _file_type(itype.element_id, itype.element_type, layout))
    if isinstance(itype, MapType):
        return MapType(
            itype.key_id,
            _file_type(itype.key_id, itype.key_type, layout),
            itype.value_id,
            _file_type(itype.value_id, itype.value_type, layout),
        )
    return itype


def _value(source: str, owner: int, itype: IcebergType, layout: NestedLayout, depth: int) -> str:
    """``source`` (read as ``_file_type``) rebuilt under the table's names."""
    if _unchanged(owner, itype, layout):
        return source
    if isinstance(itype, StructType):
        held = layout.children(owner)
        members = []
        for f in itype.fields:
            member = (
                _value(
                    f"struct_extract({source}, {quote_string(held[f.field_id])})",
                    f.field_id,
                    f.field_type,
                    layout,
                    depth,
                )
                if f.field_id in held
                else _missing(f)
            )
            members.append(f"{quote_identifier(f.name)} := {member}")
        return f"CASE WHEN {source} IS NULL THEN NULL ELSE struct_pack({', '.join(members)}) END"
    item = f"__n{depth}"
    if isinstance(itype, ListType):
        element = _value(item, itype.element_id, itype.element_type, layout, depth + 1)
        return f"list_transform({source}, lambda {item}: {element})"
    assert isinstance(itype, MapType)  # _unchanged is True for every other type
    key = _value(f"{item}.key", itype.key_id, itype.key_type, layout, depth + 1)
    value = _value(f"{item}.value", itype.value_id, itype.value_type, layout, depth + 1)
    return (
        f"map_from_entries(list_transform(map_entries({source}), "
        f"lambda {item}: struct_pack(key := {key}, value := {value})))"
    )


def column_by_name(field: NestedField, layout: NestedLayout) -> str:
    """Top-level ``field`` from files without field ids, read with their own names and
    types (the layout's ids come from the table's name mapping)."""
    held = layout.children(ROOT)
    if field.field_id not in held:
        return _missing(field)
    # The file's own types: the cast promotes them, and, for structs, matches members by
    # name, leaving out the ones the table dropped.
    value = _value(
        quote_identifier(held[field.field_id]), field.field_id, field.field_type, layout, 0
    )
    return f"CAST({value} AS {duckdb_type(field.field_type)})"


def column_read(field: NestedField, layout: NestedLayout, source: str) -> ColumnRead:
    """How to read top-level ``field`` from files of ``layout`` into column ``source``."""
    if field.field_id not in layout.children(ROOT) or _unchanged(
        field.field_id, field.field_type, layout
    ):
        return ColumnRead(duckdb_type(field.field_type), source)
    return ColumnRead(
        duckdb_type(_file_type(field.field_id, field.field_type, layout)),
        _value(source, field.field_id, field.field_type, layout, 0),
    )
