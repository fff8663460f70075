"""sqllake's manifest decoding makes exactly the objects PyIceberg's Avro reader makes.

Compared on every manifest list and manifest of tests/corpus (written by Spark and
the Iceberg Java library, v1 and v2) and of tables sqllake writes with every transform
and partition type; the comparison also requires that the files were decoded here and
not handed back to PyIceberg.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import (
    DataFile,
    ManifestEntry,
    ManifestFile,
    _inherit_from_manifest,
    read_manifest_list,
)
from pyiceberg.typedef import Record

import sqllake
from sqllake.catalog import TableName
from sqllake.read import avro, manifests
from tests.conftest import CORPUS

IO = PyArrowFileIO()


def _same(ours: Any, theirs: Any, where: str = "") -> None:
    if isinstance(theirs, UUID):  # kept as bytes on purpose: see sqllake.read.avro
        assert isinstance(ours, bytes) and UUID(bytes=ours) == theirs, where
        return
    if isinstance(theirs, Mapping):  # PyIceberg decodes maps lazily; its writers make dicts
        assert isinstance(ours, dict), where
        theirs = dict(theirs.items())
    assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
    if isinstance(ours, Record):
        assert len(ours) == len(theirs), where
        for i in range(len(ours)):
            _same(ours[i], theirs[i], f"{where}[{i}]")
        if isinstance(ours, DataFile):
            assert getattr(ours, "_spec_id", None) == getattr(theirs, "_spec_id", None), where
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(ours, dict):
        assert ours.keys() == theirs.keys(), where
        for key in ours:
            _same(ours[key], theirs[key], f"{where}[{key}]")
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def _compare_list(path: str) -> list[ManifestFile]:
    with open(path.removeprefix("file://"), "rb") as file:
        ours = avro.manifest_list(file.read())  # raises Unsupported if left to PyIceberg
    theirs = list(read_manifest_list(IO.new_input(path)))
    _same(ours, theirs, path)
    return theirs


def _compare_manifest(manifest: ManifestFile, local: str) -> int:
    with open(local, "rb") as file:
        decoded = avro.manifest_entries(file.read())
    ours = [_inherit_from_manifest(entry, manifest) for entry in decoded]
    theirs = manifest.fetch_manifest_entry(IO, discard_deleted=False)
    _same(ours, theirs, local)
    return len(ours)


def _corpus_lists() -> list[Path]:
    return sorted(CORPUS.glob("*/metadata/snap-*.avro"))


@pytest.mark.parametrize(
    "listed", _corpus_lists(), ids=lambda p: f"{p.parent.parent.name}/{p.name}"
)
def test_files_other_engines_wrote_decode_as_pyiceberg_decodes_them(listed: Path) -> None:
    table_metadata = listed.parent
    for manifest in _compare_list(str(listed)):
        local = table_metadata / Path(manifest.manifest_path).name
        if not local.exists():  # the corpus keeps only some snapshots' manifests
            continue
        relocated = ManifestFile(*[manifest[i] for i in range(len(manifest))])
        relocated[0] = str(local)
        _compare_manifest(relocated, str(local))


def test_the_corpus_is_there_to_compare_with() -> None:
    assert len(_corpus_lists()) >= 20


PARTITIONS = [
    ("i INT", "i", "i"),
    ("b BIGINT", "bucket(8, b)", "b"),
    ("s VARCHAR", "truncate(2, s)", "s"),
    ("s VARCHAR", "s", "s"),
    ("d DATE", "d", "d"),
    ("d DATE", "month(d)", "d"),
    ("ts TIMESTAMP", "hour(ts)", "ts"),
    ("tz TIMESTAMPTZ", "day(tz)", "tz"),
    ("tz TIMESTAMPTZ", "year(tz)", "tz"),
    ("tz TIMESTAMPTZ", "tz", "tz"),
    ("x DECIMAL(9, 2)", "x", "x"),
    ("x DECIMAL(38, 10)", "truncate(10, x)", "x"),
    ("f BOOLEAN", "f", "f"),
    ("y DOUBLE", "y", "y"),
    ("r REAL", "r", "r"),
    ("bin BLOB", "bin", "bin"),
    ("u UUID", "u", "u"),
]

VALUES = {
    "i": ["1", "NULL", "-7"],
    "b": ["10", "NULL", "123456789012"],
    "s": ["'abc'", "NULL", "'zz top'"],
    "d": ["DATE '2026-01-02'", "NULL", "DATE '1969-12-31'"],
    "ts": ["TIMESTAMP '2026-01-02 03:04:05'", "NULL", "TIMESTAMP '1960-01-01 00:00:00'"],
    "tz": ["TIMESTAMPTZ '2026-01-02 03:04:05+00'", "NULL", "TIMESTAMPTZ '1999-12-31 23:59:59+00'"],
    "x": ["12.34", "NULL", "-0.01"],
    "f": ["true", "NULL", "false"],
    "y": ["1.5", "NULL", "-2.25"],
    "r": ["1.5", "NULL", "-2.25"],
    "bin": ["'\\xAB\\x00'::BLOB", "NULL", "''::BLOB"],
    "u": [
        "'6f1c7d0a-2b4e-4c1f-9a3e-1d2c3b4a5f60'",
        "NULL",
        "'00000000-0000-0000-0000-000000000001'",
    ],
}


@pytest.mark.parametrize(("column", "spec", "name"), PARTITIONS, ids=[p[1] for p in PARTITIONS])
def test_files_sqllake_writes_decode_as_pyiceberg_decodes_them(
    tmp_path: Path, column: str, spec: str, name: str
) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute(f"CREATE TABLE t (id BIGINT, {column}, note VARCHAR) PARTITIONED BY ({spec})")
    for n, value in enumerate(VALUES[name]):
        cur.execute(f"INSERT INTO t VALUES ({n}, {value}, 'n{n}'), ({n + 10}, {value}, NULL)")
    table = con.session.lakehouse.load(TableName(("default",), "t"))
    entries = 0
    for snapshot in table.snapshots():
        for manifest in _compare_list(snapshot.manifest_list):
            entries += _compare_manifest(manifest, manifest.manifest_path.removeprefix("file://"))
    assert entries >= len(VALUES[name])
    con.close()


def test_a_file_left_to_pyiceberg_is_read_by_it(tmp_path: Path) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT)")
    cur.execute("INSERT INTO t VALUES (1), (2)")
    table = con.session.lakehouse.load(TableName(("default",), "t"))
    snapshot = table.current_snapshot()
    assert snapshot is not None
    listed = Path(snapshot.manifest_list.removeprefix("file://"))
    # The same file with its codec renamed to one this decoder leaves alone
    # ("deflate" and "zstdz" are as long, so every offset stays valid).
    data = listed.read_bytes()
    assert data.count(b"deflate") == 1
    renamed = data.replace(b"deflate", b"zstdz!!")
    with pytest.raises(avro.Unsupported):
        avro.manifest_list(renamed)
    listed.write_bytes(renamed)
    manifests.clear()
    with pytest.raises(Exception, match="zstdz"):  # PyIceberg's own error, not a wrong answer
        manifests.manifests(table.io, snapshot)
    con.close()


def test_uuid_partitions_read_by_pyiceberg_are_bytes_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest left to PyIceberg still prunes UUID partitions as the decoder does."""
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT, u UUID) PARTITIONED BY (u)")
    cur.execute("INSERT INTO t VALUES (1, '6f1c7d0a-2b4e-4c1f-9a3e-1d2c3b4a5f60'), (2, NULL)")

    def unsupported(data: bytes) -> list[ManifestEntry]:
        raise avro.Unsupported("left to PyIceberg in this test")

    monkeypatch.setattr(avro, "manifest_entries", unsupported)
    manifests.clear()
    cur.execute("SELECT id FROM t WHERE u = '6f1c7d0a-2b4e-4c1f-9a3e-1d2c3b4a5f60'")
    assert cur.fetchall() == [(1,)]
    con.close()
