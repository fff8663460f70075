"""Tables that age well: a commit's cost does not grow with the table's history, small
manifests are merged on append, and metadata files that fall out of the log are deleted.
Asserted on counts of files and of work done, not on time. (Automatic maintenance is
off here, so the counts are those of these mechanisms alone; see test_auto_maintenance.)"""

from __future__ import annotations

from pathlib import Path

import pyiceberg.catalog
import pyiceberg.table
import pytest

import sqllake
from sqllake.catalog import TableName
from tests.conftest import CatalogTarget, rows

T = TableName(("default",), "t")


def _cycles(con: sqllake.Connection, count: int, start: int = 0) -> None:
    for c in range(start, start + count):
        con.execute("INSERT INTO t SELECT i, 'x' FROM range(?, ? + 10) r(i)", (c * 10, c * 10))
        con.execute("FLUSH t")


def _metadata_files(target: CatalogTarget) -> list[Path]:
    return sorted((target.warehouse / "default" / "t" / "metadata").glob("*.metadata.json"))


def test_commits_never_rebuild_the_metadata_from_its_history(
    con: sqllake.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    con.execute("CREATE TABLE t (id BIGINT, v VARCHAR)")
    _cycles(con, 3)
    rebuilt: list[int] = []
    for module in (pyiceberg.table, pyiceberg.catalog):
        original = module.update_table_metadata

        def counting(*args: object, _original: object = original, **kwargs: object) -> object:
            rebuilt.append(1)
            return _original(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(module, "update_table_metadata", counting)
    _cycles(con, 5, start=3)
    con.execute("ALTER TABLE t ADD COLUMN w INT")
    assert rebuilt == []  # each update was applied once, on top of the last
    assert rows(con, "SELECT count(*), count(DISTINCT id) FROM t") == [(80, 80)]


def test_a_streaming_table_keeps_few_manifests_and_metadata_files(
    con: sqllake.Connection, target: CatalogTarget
) -> None:
    con.execute(
        "CREATE TABLE t (id BIGINT, v VARCHAR) WITH ("
        "'commit.manifest.min-count-to-merge' = '4', 'write.maintenance.auto' = 'false')"
    )
    _cycles(con, 30)
    table = con.session.lakehouse.load(T)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    assert len(snapshot.manifests(table.io)) <= 4
    assert len(table.metadata.snapshots) == 30
    assert len(_metadata_files(target)) == 11  # the current file and the ten before it
    assert rows(con, "SELECT count(*), count(DISTINCT id) FROM t") == [(300, 300)]
    assert table.scan().to_arrow().num_rows == 300  # PyIceberg reads the same rows
    explain = "\n".join(r[0] for r in rows(con, "EXPLAIN SELECT * FROM t"))
    assert "30 of 30 data files" in explain


@pytest.mark.parametrize(("enabled", "kept"), [("false", 13), ("true", 4)])
def test_old_metadata_files_follow_the_table_properties(
    con: sqllake.Connection, target: CatalogTarget, enabled: str, kept: int
) -> None:
    con.execute(
        "CREATE TABLE t (id BIGINT, v VARCHAR) WITH ("
        f"'write.metadata.delete-after-commit.enabled' = '{enabled}', "
        "'write.metadata.previous-versions-max' = '3', 'write.maintenance.auto' = 'false')"
    )
    _cycles(con, 12)
    assert len(_metadata_files(target)) == kept
    table = con.session.lakehouse.load(T)
    assert len(table.metadata.metadata_log) == 3
    assert rows(con, "SELECT count(*) FROM t") == [(120,)]
