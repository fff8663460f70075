"""Maintenance never loses a row or removes a file something still needs: compaction
racing with other writers, commits whose answer is lost, orphans, rollbacks, and the
change feed and subscriptions over replace snapshots."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from sqllake.catalog import Lakehouse
from sqllake.compat import pyiceberg as compat
from sqllake.errors import UnconfirmedCommitError
from sqllake.write.buffer import InsertBuffer
from tests.conftest import CatalogTarget, rows


def _table_files(target: CatalogTarget) -> set[Path]:
    return {p for p in (target.warehouse / "default" / "t").rglob("*") if p.is_file()}


def _setup(target: CatalogTarget, flushes: int = 6) -> sqllake.Connection:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT, region VARCHAR) PARTITIONED BY (region)")
    for i in range(flushes):
        cur.execute("INSERT INTO t VALUES (?, ?)", (i, "eu" if i % 2 else "us"))
        cur.execute("FLUSH t")
    return con


def _ids(con: sqllake.Connection) -> list[int]:
    return sorted(i for (i,) in rows(con, "SELECT id FROM t"))


def _pyiceberg(target: CatalogTarget) -> SqlCatalog:
    uri = target.catalog or f"sqlite:///{target.warehouse}/catalog.db"
    return SqlCatalog("sqllake", uri=uri, warehouse=f"file://{target.warehouse}")


COMPACT = "CALL system.rewrite_data_files('t', options => MAP {'min-input-files': '2'})"


def _before_replace(monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], None]) -> None:
    """Run ``meanwhile`` (another writer's commit) once, while the compaction stages its
    commit: the compaction's pointer move then finds the table changed."""
    real = compat.replace_files
    done: list[bool] = []

    def racing(*args: Any, **kwargs: Any) -> None:
        if not done:
            done.append(True)
            meanwhile()
        real(*args, **kwargs)

    monkeypatch.setattr(compat, "replace_files", racing)


def test_compaction_racing_with_an_append_keeps_every_row(
    target: CatalogTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = _setup(target)
    other = target.connect(autocommit=True)

    def append() -> None:
        other.cursor().execute("INSERT INTO t VALUES (100, 'eu')")
        other.cursor().execute("FLUSH t")

    _before_replace(monkeypatch, append)
    cur = con.cursor()
    cur.execute(COMPACT)
    assert cur.fetchone()[:2] == (6, 2)
    assert _ids(con) == [*range(6), 100]
    operations = rows(con, 'SELECT operation FROM "t$snapshots" ORDER BY committed_at')
    assert operations[-2:] == [("append",), ("replace",)]
    # The appended file was not part of the rewrite: it is still there, beside the two.
    assert rows(con, 'SELECT count(*) FROM "t$files"') == [(3,)]
    other.close()
    con.close()


def test_compaction_against_a_concurrent_delete_of_its_files_fails_cleanly(
    target: CatalogTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = _setup(target)
    catalog = _pyiceberg(target)

    def delete() -> None:  # another engine deletes a row: its file is removed
        catalog.load_table("default.t").delete("id = 2")

    _before_replace(monkeypatch, delete)
    files = _table_files(target)
    with pytest.raises(sqllake.OperationalError, match="conflicts with a concurrent commit") as e:
        con.cursor().execute(COMPACT)
    assert "removed" in str(e.value) and "nothing was rewritten" in str(e.value)
    # Nothing committed, and the files the compaction wrote are gone again.
    assert rows(con, 'SELECT operation FROM "t$snapshots" ORDER BY committed_at')[-1] != (
        "replace",
    )
    new = {p for p in _table_files(target) - files if p.suffix == ".parquet"}
    written_by_delete = {
        Path(f.removeprefix("file://")) for (f,) in rows(con, 'SELECT file_path FROM "t$files"')
    }
    assert new <= written_by_delete
    assert _ids(con) == [0, 1, 3, 4, 5]
    catalog.engine.dispose()
    con.close()


def test_a_lost_commit_answer_keeps_every_file(
    target: CatalogTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = _setup(target)
    real = Lakehouse.commit

    def lost(self: Lakehouse, changes: Any) -> None:
        real(self, changes)  # it landed, but the answer never came
        raise UnconfirmedCommitError("the connection dropped")

    cur = con.cursor()
    cur.execute(COMPACT)
    files = _table_files(target)
    monkeypatch.setattr(Lakehouse, "commit", lost)
    with pytest.raises(UnconfirmedCommitError):
        cur.execute("CALL system.expire_snapshots('t', older_than => now(), retain_last => 1)")
    # Expired, maybe: but nothing was deleted, not even the files only old snapshots needed.
    assert files <= _table_files(target)
    cur.execute("INSERT INTO t VALUES (50, 'eu')")
    with pytest.raises(UnconfirmedCommitError):
        cur.execute("FLUSH t")
    before = _table_files(target)
    with pytest.raises(UnconfirmedCommitError):
        cur.execute("CALL system.rewrite_data_files('t', options => MAP {'rewrite-all': 'true'})")
    assert before < _table_files(target)  # the rewrite's new files were kept
    monkeypatch.undo()
    assert _ids(con) == [*range(6), 50]
    con.close()


def test_expiry_keeps_what_branches_and_tags_need(target: CatalogTarget) -> None:
    con = _setup(target, flushes=2)
    cur = con.cursor()
    cur.execute("ALTER TABLE t CREATE BRANCH audit")
    cur.execute("ALTER TABLE t CREATE TAG before_compaction")
    cur.execute("CALL system.rewrite_data_files('t', options => MAP {'rewrite-all': 'true'})")
    cur.execute("CALL system.expire_snapshots('t', older_than => now(), retain_last => 1)")
    assert cur.fetchone() == (0, 0, 0, 0, 1, 0)  # the first flush only
    for ref in ("audit", "before_compaction"):
        cur.execute(f"SELECT id FROM t FOR VERSION AS OF '{ref}' ORDER BY id")
        assert cur.fetchall() == [(0,), (1,)]
    cur.execute("ALTER TABLE t DROP BRANCH audit")
    cur.execute("ALTER TABLE t DROP TAG before_compaction")
    cur.execute("CALL system.expire_snapshots('t', older_than => now(), retain_last => 1)")
    assert cur.fetchone() == (2, 0, 0, 2, 1, 0)
    assert _ids(con) == [0, 1]
    con.close()


def test_expiry_by_snapshot_id_and_rollback_by_id(target: CatalogTarget) -> None:
    con = _setup(target, flushes=3)
    cur = con.cursor()
    cur.execute('SELECT snapshot_id FROM "t$snapshots" ORDER BY committed_at')
    first, second, third = (i for (i,) in cur.fetchall())
    cur.execute("CALL system.rollback_to_snapshot('t', ?)", (second,))
    assert cur.fetchall() == [(third, second)]
    assert _ids(con) == [0, 1]
    with pytest.raises(sqllake.ProgrammingError, match="not an ancestor"):
        cur.execute("CALL system.rollback_to_snapshot('t', ?)", (third,))
    cur.execute("CALL system.set_current_snapshot('t', ?)", (third,))
    assert _ids(con) == [0, 1, 2]
    with pytest.raises(sqllake.ProgrammingError, match="cannot expire: main points at it"):
        cur.execute("CALL system.expire_snapshots('t', snapshot_ids => [?])", (third,))
    cur.execute("CALL system.expire_snapshots('t', snapshot_ids => [?])", (first,))
    assert cur.fetchone() == (0, 0, 0, 0, 1, 0)
    cur.execute('SELECT snapshot_id FROM "t$snapshots" ORDER BY committed_at')
    assert cur.fetchall() == [(second,), (third,)]
    con.close()


def test_orphans_are_old_unreferenced_files_in_the_table_folders(target: CatalogTarget) -> None:
    con = _setup(target, flushes=2)
    table = target.warehouse / "default" / "t"
    old = time.time() - 4 * 24 * 3600
    strays = [table / "data" / "region=eu" / "stray.parquet", table / "metadata" / "x.avro"]
    young = table / "data" / "young.parquet"
    # Another table's folder inside this one (a nested schema's table lives there).
    nested = table / "data" / "inner" / "metadata" / "v1.metadata.json"
    for path in [*strays, young, nested]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for path in [*strays, nested]:
        os.utime(path, (old, old))
    referenced = _table_files(target) - {*strays, young, nested}
    for path in referenced:  # referenced files may be old too
        os.utime(path, (old, old))
    cur = con.cursor()
    cur.execute("CALL system.remove_orphan_files('t', dry_run => true)")
    found = sorted(location for (location,) in cur.fetchall())
    assert found == sorted(f"file://{p}" for p in strays)
    assert all(p.exists() for p in strays)
    cur.execute("CALL system.remove_orphan_files(table => 't')")
    assert len(cur.fetchall()) == 2
    assert not any(p.exists() for p in strays)
    assert young.exists() and nested.exists()
    assert referenced <= _table_files(target)
    cur.execute("CALL system.remove_orphan_files('t', older_than => now() + INTERVAL 1 MINUTE)")
    assert cur.fetchall() == [(f"file://{young}",)]
    assert _ids(con) == [0, 1]
    con.close()


def test_replace_snapshots_are_no_changes_and_subscriptions_skip_them(
    target: CatalogTarget,
) -> None:
    con = _setup(target, flushes=3)
    sub = con.subscribe("etl", tables=["t"], since="earliest")
    events = [e for e in sub.poll() if e.kind == "snapshot"]
    assert [e.operation for e in events] == ["append"] * 3
    events[-1].ack()
    cur = con.cursor()
    cur.execute("CALL system.rewrite_data_files('t', options => MAP {'rewrite-all': 'true'})")
    cur.execute("CALL system.rewrite_manifests('t')")
    assert sub.poll() == []
    cur.execute("SELECT count(*) FROM table_changes('t')")
    assert cur.fetchone() == (3,)
    cur.execute("INSERT INTO t VALUES (9, 'eu')")
    cur.execute("FLUSH t")
    (event,) = sub.poll()
    assert event.operation == "append"
    assert event.rows().column("id").to_pylist() == [9]
    event.ack()
    # A restarted subscriber resumes after the append, past both replaces.
    again = con.subscribe("etl", tables=["t"])
    assert again.poll() == []
    con.close()


_APPENDER = textwrap.dedent(
    """
    import sys, sqllake
    con = sqllake.connect(sys.argv[1], catalog=sys.argv[2] or None, autocommit=True)
    cur = con.cursor()
    for i in range(int(sys.argv[3])):
        cur.execute("INSERT INTO t VALUES (?, ?)", (i, "eu" if i % 3 else "us"))
        cur.execute("FLUSH t")
    con.close()
    print("done", flush=True)
    """
)
_COMPACTOR = textwrap.dedent(
    """
    import os, sys, time, sqllake
    con = sqllake.connect(sys.argv[1], catalog=sys.argv[2] or None, autocommit=True)
    cur = con.cursor()
    compacted = conflicts = 0
    while not os.path.exists(sys.argv[3]):  # until the appender is done
        time.sleep(0.05)
        try:
            cur.execute(
                "CALL system.rewrite_data_files('t', options => MAP {'min-input-files': '2'})"
            )
            compacted += cur.fetchone()[0] > 0
        except sqllake.OperationalError:
            conflicts += 1  # another writer kept moving the table: fine, nothing lost
    con.close()
    print("done", compacted, conflicts, flush=True)
    """
)


@pytest.mark.slow
def test_concurrent_appends_and_compactions_in_two_processes_lose_nothing(
    target: CatalogTarget,
) -> None:
    con = target.connect(autocommit=True)
    con.cursor().execute("CREATE TABLE t (id BIGINT, region VARCHAR) PARTITIONED BY (region)")

    def spawn(script: str, argument: str) -> subprocess.Popen[str]:
        arguments = [str(target.warehouse), target.catalog or "", argument]
        return subprocess.Popen(
            [sys.executable, "-c", script, *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    stop = target.warehouse.parent / "appender-done"
    appender, compactor = spawn(_APPENDER, "120"), spawn(_COMPACTOR, str(stop))
    out, err = appender.communicate(timeout=600)
    assert appender.returncode == 0 and out.startswith("done"), err
    stop.touch()
    out, err = compactor.communicate(timeout=600)
    assert compactor.returncode == 0 and out.startswith("done"), err
    assert int(out.split()[1]) > 0  # the race was real: compactions landed between appends
    assert rows(con, "SELECT count(*), count(DISTINCT id) FROM t") == [(120, 120)]
    assert rows(con, "SELECT count(*) FROM t FOR VERSION AS OF 'main'") == [(120,)]
    operations = {op for (op,) in rows(con, 'SELECT operation FROM "t$snapshots"')}
    assert operations == {"append", "replace"}
    con.close()


def test_a_compaction_carries_the_insert_buffer_mark_past_another_engines_expiry(
    target: CatalogTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows a flush committed but could not delete from the buffer (it stopped right
    after its commit) are skipped by readers while the snapshot recording the flush is
    there. A compaction records the mark again, so an expiry by another engine, which
    leaves nothing of the buffer alone, still counts each row once."""
    con = _setup(target, flushes=3)
    monkeypatch.setattr(InsertBuffer, "delete_through", lambda *args: None)
    cur = con.cursor()
    cur.execute("INSERT INTO t VALUES (10, 'eu')")
    cur.execute("FLUSH t")  # committed; the row stays in the buffer too
    monkeypatch.undo()
    assert _ids(con) == [0, 1, 2, 10]
    cur.execute(COMPACT)
    catalog = _pyiceberg(target)
    table = catalog.load_table("default.t")
    table.maintenance.expire_snapshots().older_than(datetime.datetime.now(datetime.UTC)).commit()
    assert len(catalog.load_table("default.t").metadata.snapshots) == 1
    catalog.engine.dispose()
    assert _ids(con) == [0, 1, 2, 10]
    con.close()


def test_expiry_first_drops_buffered_rows_a_flush_already_committed(
    target: CatalogTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mark of the flush that committed them goes with its snapshot: expiring it
    deletes those rows from the buffer first (as the next flush would)."""
    con = _setup(target, flushes=1)
    monkeypatch.setattr(InsertBuffer, "delete_through", lambda *args: None)
    cur = con.cursor()
    cur.execute("INSERT INTO t VALUES (10, 'eu')")
    cur.execute("FLUSH t")  # committed; the row stays in the buffer too
    monkeypatch.undo()
    direct = sqllake.connect(str(target.warehouse), catalog=target.catalog, inline_rows=0)
    direct.cursor().execute("INSERT INTO t VALUES (20, 'us')")  # a snapshot without a mark
    direct.commit()
    direct.close()
    cur.execute("CALL system.expire_snapshots('t', older_than => now(), retain_last => 1)")
    assert rows(con, 'SELECT count(*) FROM "t$snapshots"') == [(1,)]
    assert _ids(con) == [0, 10, 20]
    con.close()
