"""Manifest lists and manifests decoded into PyIceberg's own objects, without its Avro reader.

PyIceberg reads an Avro file by converting the file's schema to an Iceberg schema and
resolving it against its read schema, both through pydantic models and visitors. For
the few small files a query plans from, that set-up costs several times the decoding
(about 2 ms for a one-entry manifest list in a new process, 0.2 ms here), and it is paid
again for every file. Here the writer's schema is turned directly into closures that
decode bytes into the very ``ManifestFile`` / ``ManifestEntry`` / ``DataFile`` records
PyIceberg's reader makes, with the same read schemas, defaults, enums and promotions,
and the closures are kept per writer schema.

One value differs on purpose: a UUID partition value is kept as its 16 bytes, the
representation PyIceberg's literals and manifest writer use, where its reader would make
a ``uuid.UUID`` that no bound literal equals.

The container framing and the value readers are :mod:`sqllake.read.avro_file`'s. Only the
shapes Iceberg writers produce are decoded: null or deflate blocks, unions of
null first and one type, Iceberg's logical maps, and the primitive and logical types
PyIceberg maps the same way. Anything else raises :class:`Unsupported`, and the caller
reads that file with PyIceberg instead, so a file is never decoded differently.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from pyiceberg.manifest import (
    DEFAULT_READ_VERSION,
    MANIFEST_ENTRY_SCHEMAS,
    MANIFEST_LIST_FILE_SCHEMAS,
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    PartitionFieldSummary,
)
from pyiceberg.typedef import Record
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
)
from pyiceberg.utils.decimal import bytes_to_decimal, decimal_required_bytes

from sqllake.read.avro_file import MALFORMED as MALFORMED
from sqllake.read.avro_file import (
    PRIMITIVES,
    Reader,
    blocks,
    fixed,
    optional,
    pairs,
    read_long,
    records,
)
from sqllake.read.avro_file import Unsupported as Unsupported

# The Iceberg types each Avro primitive may be read as: its own, or a promotion.
_READS_AS: dict[str, tuple[type[IcebergType], ...]] = {
    "boolean": (BooleanType,),
    "int": (IntegerType, LongType),
    "long": (LongType,),
    "float": (FloatType, DoubleType),
    "double": (DoubleType,),
    "string": (StringType,),
    "bytes": (BinaryType,),
}


def _uuid(writer: dict[str, Any]) -> Reader:
    # Kept as the 16 bytes PyIceberg's UUID literals hold: its reader makes UUID objects,
    # which its evaluators never find equal to a literal, so a filter on a UUID partition
    # column would drop every file.
    if writer.get("size") != 16:
        raise Unsupported("uuid of an unexpected size")
    return fixed(16)


def _decimal(writer: dict[str, Any]) -> Reader:
    # PyIceberg reads a decimal as a fixed of the size its precision needs.
    precision, scale = int(writer["precision"]), int(writer["scale"])
    if writer.get("size") != decimal_required_bytes(precision):
        raise Unsupported("decimal of an unexpected size")

    def decimal(raw: bytes) -> Decimal:
        return bytes_to_decimal(raw, scale)

    return fixed(int(writer["size"]), decimal)


# (logical type, Avro type) -> reader; dates and times stay integers (days, microseconds)
# as PyIceberg reads them.
_LOGICAL: dict[tuple[str, str], Callable[[dict[str, Any]], Reader]] = {
    ("date", "int"): lambda _: read_long,
    ("time-micros", "long"): lambda _: read_long,
    ("timestamp-micros", "long"): lambda _: read_long,
    ("uuid", "fixed"): _uuid,
    ("decimal", "fixed"): _decimal,
}


def _enum(kind: Callable[[Any], Enum], inner: Reader) -> Reader:
    def read(buf: bytes, pos: int) -> tuple[Any, int]:
        value, pos = inner(buf, pos)
        return kind(value), pos

    return read


class _Resolver:
    """Writer schema + PyIceberg's read schema -> a reader, as PyIceberg's resolver pairs them."""

    def __init__(
        self,
        types: dict[int, Callable[..., Record]],
        enums: dict[int, Callable[[Any], Enum]],
    ) -> None:
        self._types = types
        self._enums = enums

    def resolve(self, writer: Any, expected: IcebergType | None, context: int) -> Reader:
        if isinstance(writer, list):
            # PyIceberg reads branch 0 as null and any other as the value.
            if len(writer) != 2 or writer[0] != "null":
                raise Unsupported(f"union {writer}")
            return optional(self.resolve(writer[1], expected, context))
        if isinstance(writer, str):
            return self._primitive(writer, expected)
        if not isinstance(writer, dict):
            raise Unsupported(f"type {writer}")
        kind = writer.get("type")
        logical = writer.get("logicalType")
        if logical is not None:
            return self._logical(writer, logical, kind, expected)
        if kind == "record":
            return self._record(writer, expected, context)
        if kind == "array":
            if "element-id" not in writer:
                raise Unsupported("array without element-id")
            element = expected.element_type if isinstance(expected, ListType) else None
            if expected is not None and element is None:
                raise Unsupported("array read as a non-list")
            return blocks(self.resolve(writer["items"], element, int(writer["element-id"])))
        if kind == "fixed" and expected is None:
            return fixed(int(writer["size"]))
        if isinstance(kind, str):
            return self._primitive(kind, expected)
        raise Unsupported(f"type {writer}")

    @staticmethod
    def _primitive(name: str, expected: IcebergType | None) -> Reader:
        reader = PRIMITIVES.get(name)
        if reader is None:
            raise Unsupported(f"primitive {name}")
        if expected is not None and not isinstance(expected, _READS_AS[name]):
            raise Unsupported(f"{name} read as {expected}")
        return reader

    def _logical(self, writer: dict[str, Any], logical: str, kind: Any, expected: Any) -> Reader:
        if logical == "map" and kind == "array":
            return self._map(writer, expected)
        if expected is not None:  # logical types occur only where any value is read
            raise Unsupported(f"{logical} read as {expected}")
        make = _LOGICAL.get((logical, kind)) if isinstance(kind, str) else None
        if make is None:
            raise Unsupported(f"logical type {logical} on {kind}")
        return make(writer)

    def _map(self, writer: dict[str, Any], expected: Any) -> Reader:
        if expected is not None and not isinstance(expected, MapType):
            raise Unsupported("map read as a non-map")
        items = writer["items"]
        fields = {field["name"]: field for field in items["fields"]}
        if items.get("type") != "record" or set(fields) != {"key", "value"}:
            raise Unsupported("malformed key-value record")
        key, value = fields["key"], fields["value"]
        return pairs(
            self.resolve(key["type"], expected.key_type if expected else None, key["field-id"]),
            self.resolve(
                value["type"], expected.value_type if expected else None, value["field-id"]
            ),
        )

    def _record(self, writer: dict[str, Any], expected: IcebergType | None, context: int) -> Reader:
        make = self._types.get(context, Record)
        fields = writer["fields"]
        if any("field-id" not in field for field in fields):
            raise Unsupported("record field without field-id")
        if expected is not None and not isinstance(expected, StructType):
            raise Unsupported("record read as a non-struct")
        if expected is None or len(expected.fields) == 0:
            # An empty read struct (a data file's partition) takes the file's fields as they are.
            readers = [self.resolve(f["type"], None, int(f["field-id"])) for f in fields]
            return _struct(make, len(readers), list(enumerate(readers)), [])
        positions = {field.field_id: pos for pos, field in enumerate(expected.fields)}
        steps: list[tuple[int | None, Reader]] = []
        for field in fields:
            field_id = int(field["field-id"])
            pos = positions.get(field_id)
            read_as = expected.fields[pos].field_type if pos is not None else None
            reader = self.resolve(field["type"], read_as, field_id)
            if (enum := self._enums.get(field_id)) is not None:
                if isinstance(field["type"], list):  # PyIceberg would make an enum of a null
                    raise Unsupported(f"optional enum field {field['name']}")
                reader = _enum(enum, reader)
            steps.append((pos, reader))
        written = {int(field["field-id"]) for field in fields}
        defaults = [
            (pos, _default(f)) for pos, f in enumerate(expected.fields) if f.field_id not in written
        ]
        return _struct(make, len(expected.fields), steps, defaults)


def _default(field: NestedField) -> Any:
    if field.initial_default is not None:
        return field.initial_default
    if field.required:
        raise Unsupported(f"required field {field.name} is not in the file")
    return None


def _struct(
    make: Callable[..., Record],
    width: int,
    steps: list[tuple[int | None, Reader]],
    defaults: list[tuple[int, Any]],
) -> Reader:
    steps_ = tuple(steps)
    template = [None] * width
    for pos, value in defaults:
        template[pos] = value

    def read(buf: bytes, pos: int) -> tuple[Record, int]:
        values = list(template)
        for at, reader in steps_:
            value, pos = reader(buf, pos)
            if at is not None:
                values[at] = value
        return make(*values), pos

    return read


_MANIFEST_LIST = _Resolver({-1: ManifestFile, 508: PartitionFieldSummary}, {517: ManifestContent})
_MANIFEST = _Resolver(
    {-1: ManifestEntry, 2: DataFile},
    {0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
)
_LIST_SCHEMA = MANIFEST_LIST_FILE_SCHEMAS[DEFAULT_READ_VERSION].as_struct()
_ENTRY_SCHEMA = MANIFEST_ENTRY_SCHEMAS[DEFAULT_READ_VERSION].as_struct()

# Readers by writer schema text: every manifest of a table's spec has the same schema.
_readers: dict[tuple[str, int], Reader] = {}
_readers_lock = threading.Lock()
_MAX_READERS = 256


def _reader(schema_text: str, resolver: _Resolver, expected: StructType) -> Reader:
    key = (schema_text, id(resolver))
    with _readers_lock:
        found = _readers.get(key)
    if found is not None:
        return found
    made = resolver.resolve(json.loads(schema_text), expected, -1)
    with _readers_lock:
        if len(_readers) >= _MAX_READERS:
            _readers.clear()
        _readers[key] = made
    return made


def manifest_list(data: bytes) -> list[ManifestFile]:
    """The manifests a manifest list names, as PyIceberg's ``read_manifest_list`` reads them."""
    return records(data, partial(_reader, resolver=_MANIFEST_LIST, expected=_LIST_SCHEMA))


def manifest_entries(data: bytes) -> list[ManifestEntry]:
    """Every entry of a manifest, deleted ones included, before inheriting from its list."""
    return records(data, partial(_reader, resolver=_MANIFEST, expected=_ENTRY_SCHEMA))
