"""Decoded manifests are kept per process: a second query of a snapshot decodes nothing,
pruning still runs per query, and the cache stays within its bound."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiceberg.io import FileIO
from pyiceberg.manifest import ManifestEntry, ManifestFile

import sqllake
from sqllake.read import manifests


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The manifest paths decoded from here on."""
    manifests.clear()
    seen: list[str] = []
    original = manifests._read_live_entries

    def counting(io: FileIO, manifest: ManifestFile) -> tuple[ManifestEntry, ...]:
        seen.append(manifest.manifest_path)
        return original(io, manifest)

    monkeypatch.setattr(manifests, "_read_live_entries", counting)
    return seen


def _lake(tmp_path: Path) -> sqllake.Cursor:
    cur = sqllake.connect(str(tmp_path / "wh"), autocommit=True).cursor()
    cur.execute("CREATE TABLE t (id BIGINT, k INT) PARTITIONED BY (k)")
    for k in range(3):  # three snapshots, one manifest each
        cur.execute(f"INSERT INTO t SELECT range, {k} FROM range(20000)")
    return cur


def test_a_second_query_decodes_no_manifest_and_still_prunes(
    tmp_path: Path, decoded: list[str]
) -> None:
    cur = _lake(tmp_path)
    manifests.clear()
    decoded.clear()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (60000,)
    assert len(decoded) == 3
    decoded.clear()
    cur.execute("SELECT count(*) FROM t WHERE k = 1")
    assert cur.fetchone() == (20000,)
    cur.execute("EXPLAIN SELECT count(*) FROM t WHERE k = 2")
    assert "1 of 3 data files" in cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (60000,)
    assert decoded == []


def test_a_new_snapshot_decodes_only_its_own_manifest(tmp_path: Path, decoded: list[str]) -> None:
    cur = _lake(tmp_path)
    cur.execute("SELECT count(*) FROM t")
    cur.execute("INSERT INTO t SELECT range, 9 FROM range(20000)")
    decoded.clear()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (80000,)
    assert len(decoded) == 1


def test_the_cache_keeps_at_most_its_bound(
    tmp_path: Path, decoded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manifests, "_entries", manifests._Lru(2))  # two entries in all
    cur = _lake(tmp_path)
    for _ in range(2):
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchone() == (60000,)
    # Three one-entry manifests do not fit in two: the least recently used is read again.
    assert len(decoded) > 3
