"""Iceberg v3 deletion vectors: deleted row positions kept as bitmaps in Puffin files.

A Puffin file ends with a footer (``PFA1``, a JSON payload, its length, flags,
``PFA1``) that lists its blobs. A ``deletion-vector-v1`` blob names the data file it
applies to (property ``referenced-data-file``) and holds, after a 4-byte big-endian
length and the magic ``D1 D3 39 64``, a 64-bit Roaring bitmap in the portable format,
then a big-endian CRC-32 of magic and bitmap. Reading the footer needs nothing from the
manifest entry but the file's path, so PyIceberg's v2-era entries are enough.

Each data file has at most one live vector, and a newer vector holds every position of
the one it replaces, so applying every vector a Puffin file holds is exact.

PyIceberg 0.12 has a public reader (``PuffinFile`` and ``deletion_vectors_from_puffin_file``)
but it is not used: it reads the whole file rather than the footer and the blobs, takes
every blob for a deletion vector whatever its type, checks no CRC, and decodes 4 to 5
times slower (one million positions: 1.19 s against 0.31 s here, measured with 0.12.0).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

import pyarrow as pa
from pyroaring import BitMap64

from sqllake.errors import NotSupportedError, OperationalError
from sqllake.read.locations import normalize
from sqllake.storage import file_size, read_range

PUFFIN_MAGIC = b"PFA1"
VECTOR_MAGIC = bytes([0xD1, 0xD3, 0x39, 0x64])
BLOB_TYPE = "deletion-vector-v1"
_FOOTER_TAIL = 12  # payload length (4), flags (4), magic (4)


@dataclass(frozen=True)
class DeletionVector:
    referenced: str  # normalized path of the data file it applies to
    positions: tuple[int, ...]


def _read(path: str, offset: int, length: int) -> bytes:
    return read_range(path, offset, length)


def _footer(path: str) -> list[dict[str, object]]:
    size = file_size(path)
    if size is None or size < len(PUFFIN_MAGIC) * 2 + _FOOTER_TAIL:
        raise OperationalError(f"{path} is not a Puffin file")
    tail = _read(path, size - _FOOTER_TAIL, _FOOTER_TAIL)
    if tail[8:] != PUFFIN_MAGIC:
        raise OperationalError(f"{path} is not a Puffin file (no footer magic)")
    payload_size = int.from_bytes(tail[:4], "little")
    flags = int.from_bytes(tail[4:8], "little")
    if flags & 1:
        raise NotSupportedError(f"{path} has a compressed Puffin footer")
    payload = _read(path, size - _FOOTER_TAIL - payload_size, payload_size)
    blobs = json.loads(payload).get("blobs", [])
    return [b for b in blobs if isinstance(b, dict)]


def decode(blob: bytes, path: str) -> tuple[int, ...]:
    """The positions of one deletion-vector blob, checked."""
    size = int.from_bytes(blob[:4], "big")
    if blob[4:8] != VECTOR_MAGIC or size + 8 != len(blob):
        raise OperationalError(f"a deletion vector in {path} is malformed")
    body = blob[4 : 4 + size]
    if zlib.crc32(body) != int.from_bytes(blob[4 + size :], "big"):
        raise OperationalError(f"a deletion vector in {path} fails its checksum")
    return tuple(BitMap64.deserialize(body[4:]))


def encode(positions: list[int]) -> bytes:
    """A deletion-vector blob of ``positions`` (the inverse of :func:`decode`)."""
    body = VECTOR_MAGIC + BitMap64(positions).serialize()
    return len(body).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")


def read_vectors(path: str) -> list[DeletionVector]:
    """Every deletion vector of a Puffin file."""
    vectors = []
    for blob in _footer(path):
        if blob.get("type") != BLOB_TYPE:
            continue
        if blob.get("compression-codec"):
            raise NotSupportedError(f"{path} has a compressed deletion vector")
        properties = blob.get("properties") or {}
        referenced = (
            properties.get("referenced-data-file") if isinstance(properties, dict) else None
        )
        if not referenced:
            raise OperationalError(f"a deletion vector in {path} names no data file")
        data = _read(path, int(str(blob["offset"])), int(str(blob["length"])))
        vectors.append(DeletionVector(normalize(str(referenced)), decode(data, path)))
    return vectors


def positions_table(files: list[tuple[str, int]]) -> pa.Table:
    """(recorded path, position, sequence) of every vector in the given Puffin files."""
    paths: list[str] = []
    positions: list[int] = []
    sequences: list[int] = []
    for path, sequence in files:
        for vector in read_vectors(path):
            paths.extend([vector.referenced] * len(vector.positions))
            positions.extend(vector.positions)
            sequences.extend([sequence] * len(vector.positions))
    return pa.table(
        {
            "__recorded": pa.array(paths, pa.string()),
            "__pos": pa.array(positions, pa.int64()),
            "__seq": pa.array(sequences, pa.int64()),
        }
    )
