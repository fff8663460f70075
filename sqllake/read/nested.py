"""Which names each data file gives the fields inside its structs.

DuckDB's ``read_parquet(schema = ...)`` finds top-level columns by Iceberg field id but
the fields of a struct by name (without regard to case). That reads right while every
struct field kept its name in every schema of the table, no name passed to another
field, and each struct kept a field in common with its older versions. When the
table's history broke one of these (a nested rename, a nested field dropped and added
again under its name, all fields of a struct replaced), the files written before need
their own names: those come from the Parquet footer's field ids (``footers.py``).

Structs are keyed by the field id of what holds them (a column, a list element, a map
key or value, or a field of an outer struct); the top level is key 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from pyiceberg.schema import Schema
from pyiceberg.types import IcebergType, ListType, MapType, StructType

ROOT = 0  # the key of the top-level struct (Iceberg field ids start at 1)


# struct key -> {field id: name} for every struct of a schema or file
Structs = dict[int, dict[int, str]]


@dataclass(frozen=True)
class NestedLayout:
    """The struct fields of one data file: (struct key, field id, name in the file).

    Files with equal layouts are read by one ``read_parquet``, so a table of many files
    written under a few schemas costs a few subqueries.
    """

    fields: frozenset[tuple[int, int, str]]
    by_name: bool = False  # the file has no field ids: its columns are found by name

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


def nested_misread(read: Structs, other: Structs) -> bool:
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
    return any(nested_misread(wanted, schema_structs(schema)) for schema in schemas)
