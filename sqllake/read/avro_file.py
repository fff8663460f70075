"""Avro object container files without PyIceberg: the framing and the value readers.

An Iceberg manifest list or manifest is an Avro container: a header (magic, a map of
metadata holding the writer's schema and codec, a sync marker), then blocks of records,
each block null- or deflate-compressed and closed by the sync marker. The readers here
decode Avro's binary values; :mod:`sqllake.read.avro` pairs them with PyIceberg's read
schemas, and :func:`plain_reader` makes records plain dicts (the light read path, which
needs a few fields and no PyIceberg). Any other shape raises :class:`Unsupported`: the
caller then reads the file another way, so a file is never decoded two ways.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any

# A reader takes the buffer and a position and returns the value and the next position.
Reader = Callable[[bytes, int], tuple[Any, int]]


class Unsupported(Exception):
    """A file, or a shape in it, this module leaves to another reader."""


# What a malformed file raises here; the caller lets another reader try and report.
MALFORMED = (Unsupported, ValueError, IndexError, KeyError, TypeError, struct.error, zlib.error)

_MAGIC = b"Obj\x01"
_SYNC_SIZE = 16


def read_long(buf: bytes, pos: int) -> tuple[int, int]:
    """Avro's zig-zag variable-length integer."""
    byte = buf[pos]
    if byte < 0x80:
        return (byte >> 1) ^ -(byte & 1), pos + 1
    value, shift, pos = byte & 0x7F, 7, pos + 1
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def read_bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = read_long(buf, pos)
    end = pos + size
    if size < 0 or end > len(buf):
        raise Unsupported("a length runs past the block")
    return buf[pos:end], end


def read_string(buf: bytes, pos: int) -> tuple[str, int]:
    raw, pos = read_bytes(buf, pos)
    return raw.decode(), pos


def _boolean(buf: bytes, pos: int) -> tuple[bool, int]:
    return buf[pos] == 1, pos + 1


_FLOAT = struct.Struct("<f").unpack_from
_DOUBLE = struct.Struct("<d").unpack_from


def _float(buf: bytes, pos: int) -> tuple[float, int]:
    return _FLOAT(buf, pos)[0], pos + 4


def _double(buf: bytes, pos: int) -> tuple[float, int]:
    return _DOUBLE(buf, pos)[0], pos + 8


PRIMITIVES: dict[str, Reader] = {
    "boolean": _boolean,
    "int": read_long,
    "long": read_long,
    "float": _float,
    "double": _double,
    "string": read_string,
    "bytes": read_bytes,
}


def optional(inner: Reader) -> Reader:
    """A union of null (branch 0) and one type."""

    def read(buf: bytes, pos: int) -> tuple[Any, int]:
        branch, pos = read_long(buf, pos)
        return inner(buf, pos) if branch > 0 else (None, pos)

    return read


def blocks(item: Reader) -> Reader:
    """An Avro array."""

    def read(buf: bytes, pos: int) -> tuple[list[Any], int]:
        out: list[Any] = []
        while True:
            count, pos = read_long(buf, pos)
            if count == 0:
                return out, pos
            if count < 0:  # a negative count is followed by the block's size in bytes
                count = -count
                _, pos = read_long(buf, pos)
            for _ in range(count):
                value, pos = item(buf, pos)
                out.append(value)

    return read


def pairs(key: Reader, value: Reader) -> Reader:
    """An Avro map, or Iceberg's map as an array of key-value records."""

    def read(buf: bytes, pos: int) -> tuple[dict[Any, Any], int]:
        out: dict[Any, Any] = {}
        while True:
            count, pos = read_long(buf, pos)
            if count == 0:
                return out, pos
            if count < 0:
                count = -count
                _, pos = read_long(buf, pos)
            for _ in range(count):
                k, pos = key(buf, pos)
                out[k], pos = value(buf, pos)

    return read


def fixed(size: int, convert: Callable[[bytes], Any] = bytes) -> Reader:
    def read(buf: bytes, pos: int) -> tuple[Any, int]:
        end = pos + size
        if end > len(buf):
            raise Unsupported("a fixed value runs past the block")
        return convert(buf[pos:end]), end

    return read


_HEADER = pairs(read_string, read_bytes)  # the file's metadata: an Avro map of bytes


def records(data: bytes, reader_of: Callable[[str], Reader]) -> list[Any]:
    """Every record of a container file, read by ``reader_of(writer schema text)``."""
    if data[:4] != _MAGIC:
        raise Unsupported("not an Avro file")
    meta, pos = _HEADER(data, len(_MAGIC))
    sync = data[pos : pos + _SYNC_SIZE]
    pos += _SYNC_SIZE
    codec = meta.get("avro.codec", b"null")
    if codec not in (b"null", b"deflate"):
        raise Unsupported(f"codec {codec!r}")
    read = reader_of(meta["avro.schema"].decode())
    out: list[Any] = []
    while pos < len(data):
        count, pos = read_long(data, pos)
        block, pos = read_bytes(data, pos)
        if data[pos : pos + _SYNC_SIZE] != sync:
            raise Unsupported("a block does not end in the file's sync marker")
        pos += _SYNC_SIZE
        if codec == b"deflate":
            block = zlib.decompress(block, -15)
        at = 0
        for _ in range(count):
            record, at = read(block, at)
            out.append(record)
        if at != len(block):
            raise Unsupported("a block holds more than its records")
    return out


def plain_reader(writer: Any) -> Reader:
    """A reader of the writer's schema making records dicts by field name; logical
    types stay their Avro values (days, microseconds, fixed bytes)."""
    if isinstance(writer, list):
        if len(writer) != 2 or writer[0] != "null":
            raise Unsupported(f"union {writer}")
        return optional(plain_reader(writer[1]))
    if isinstance(writer, str):
        if writer not in PRIMITIVES:
            raise Unsupported(f"type {writer}")
        return PRIMITIVES[writer]
    if not isinstance(writer, dict):
        raise Unsupported(f"type {writer}")
    kind = writer.get("type")
    if kind == "record":
        return _plain_record(writer["fields"])
    if kind == "array":
        items = writer["items"]
        if writer.get("logicalType") == "map" and isinstance(items, dict):
            fields = {f["name"]: f for f in items.get("fields", ())}
            if set(fields) == {"key", "value"}:
                return pairs(
                    plain_reader(fields["key"]["type"]), plain_reader(fields["value"]["type"])
                )
        return blocks(plain_reader(items))
    if kind == "map":
        return pairs(read_string, plain_reader(writer["values"]))
    if kind == "fixed":
        return fixed(int(writer["size"]))
    if isinstance(kind, (str, list, dict)):
        return plain_reader(kind)
    raise Unsupported(f"type {writer}")


def _plain_record(fields: list[dict[str, Any]]) -> Reader:
    steps = tuple((str(f["name"]), plain_reader(f["type"])) for f in fields)

    def read(buf: bytes, pos: int) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        for name, reader in steps:
            out[name], pos = reader(buf, pos)
        return out, pos

    return read
