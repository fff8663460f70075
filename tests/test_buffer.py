"""The insert buffer: small writes are durable at once, visible everywhere, flushed exactly once."""

from __future__ import annotations

import datetime
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from sqllake.catalog import TableName
from sqllake.write import buffer as buffer_module
from sqllake.write.buffer import SEQUENCE_PROPERTY
from tests.conftest import CatalogTarget

T = TableName(("default",), "t")
UTC = datetime.UTC


def _data_files(target: CatalogTarget, table: str = "t") -> list[Path]:
    return sorted((target.warehouse / "default" / table / "data").glob("**/*.parquet"))


def _pyiceberg(target: CatalogTarget) -> SqlCatalog:
    uri = target.catalog or f"sqlite:///{target.warehouse}/catalog.db"
    return SqlCatalog("sqllake", uri=uri, warehouse=f"file://{target.warehouse}")


def test_small_inserts_are_buffered_visible_and_flushed_once(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR, ts TIMESTAMPTZ)")
    for i in range(20):
        ts = datetime.datetime(2026, 1, 1, tzinfo=UTC) + datetime.timedelta(hours=i)
        cur.execute("INSERT INTO t VALUES (?, ?, ?)", (i, f"n{i}", ts))
    cur.execute("INSERT INTO t VALUES (100, 'x', '2026-01-02 00:00:00+00'), (101, NULL, NULL)")
    assert _data_files(target) == []
    assert con.session.lakehouse.load(T).current_snapshot() is None

    other = target.connect(autocommit=True)
    cur2 = other.cursor()
    cur2.execute("SELECT count(*), sum(id) FROM t")
    assert cur2.fetchone() == (22, sum(range(20)) + 201)

    cur.execute("FLUSH t")
    assert cur.rowcount == 22
    assert len(_data_files(target)) == 1
    table = con.session.lakehouse.load(T)
    assert len(table.metadata.snapshots) == 1
    assert table.current_snapshot().summary[SEQUENCE_PROPERTY] == "21"
    cur2.execute("SELECT count(*), sum(id) FROM t")
    assert cur2.fetchone() == (22, sum(range(20)) + 201)
    catalog = _pyiceberg(target)
    assert catalog.load_table("default.t").scan().to_arrow().num_rows == 22
    catalog.engine.dispose()
    other.close()
    con.close()


def test_time_travel_does_not_see_buffered_rows(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT)")
    cur.execute("INSERT INTO t VALUES (1)")
    cur.execute("FLUSH t")
    snapshot = con.session.lakehouse.load(T).current_snapshot().snapshot_id
    cur.execute("INSERT INTO t VALUES (2)")
    cur.execute(f"SELECT count(*) FROM t FOR VERSION AS OF {snapshot}")
    assert cur.fetchone() == (1,)
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (2,)


def test_closing_a_connection_flushes_what_it_buffered(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    con.cursor().execute("CREATE TABLE t (id BIGINT)")
    con.cursor().execute("INSERT INTO t VALUES (1), (2)")
    con.close()
    assert len(_data_files(target)) == 1
    catalog = _pyiceberg(target)
    assert catalog.load_table("default.t").scan().to_arrow().num_rows == 2
    catalog.engine.dispose()


def test_a_crash_between_commit_and_cleanup_counts_rows_once(
    con: sqllake.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT)")
    cur.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])  # one transaction
    for i in range(5, 8):
        cur.execute("INSERT INTO t VALUES (?)", (i,))

    def crash(self: object, table: object, seq: int) -> None:
        raise KeyboardInterrupt("killed after the commit, before the buffer was cleaned")

    monkeypatch.setattr(buffer_module.InsertBuffer, "delete_through", crash)
    with pytest.raises(sqllake.OperationalError):
        cur.execute("FLUSH t")
    monkeypatch.undo()
    # The flush committed; its rows are still in the buffer but at or below the mark.
    cur.execute("SELECT count(*), count(DISTINCT id) FROM t")
    assert cur.fetchone() == (8, 8)
    cur.execute("FLUSH t")  # finishes the cleanup, moves nothing twice
    assert cur.rowcount == 0
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (8,)


def test_inline_rows_zero_turns_the_buffer_off(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    con.close()
    con = sqllake.connect(
        str(target.warehouse), catalog=target.catalog, autocommit=True, inline_rows=0
    )
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT)")
    cur.execute("INSERT INTO t VALUES (1)")
    assert len(_data_files(target)) == 1
    cur.execute("CREATE TABLE u (id BIGINT) WITH ('write.inline.rows' = '5')")
    con.close()


def test_table_property_sets_the_inline_threshold(
    con: sqllake.Connection, target: CatalogTarget
) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT) WITH ('write.inline.rows' = '3')")
    cur.execute("INSERT INTO t VALUES (1), (2)")
    assert _data_files(target) == []
    cur.execute("INSERT INTO t VALUES (3), (4), (5)")
    assert len(_data_files(target)) == 1
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (5,)


def test_rows_buffered_before_a_schema_change_read_in_the_new_schema(
    con: sqllake.Connection,
) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'a')")
    cur.execute("ALTER TABLE t RENAME COLUMN name TO label")
    cur.execute("ALTER TABLE t ALTER COLUMN id TYPE BIGINT")
    cur.execute("ALTER TABLE t ADD COLUMN extra VARCHAR")
    cur.execute("INSERT INTO t VALUES (2, 'b', 'x')")
    cur.execute("SELECT id, label, extra FROM t ORDER BY id")
    assert cur.fetchall() == [(1, "a", None), (2, "b", "x")]
    cur.execute("FLUSH t")
    cur.execute("SELECT id, label, extra FROM t ORDER BY id")
    assert cur.fetchall() == [(1, "a", None), (2, "b", "x")]


_WRITER = textwrap.dedent(
    """
    import sys, sqllake
    warehouse, catalog = sys.argv[1], sys.argv[2] or None
    worker, count = int(sys.argv[3]), int(sys.argv[4])
    con = sqllake.connect(warehouse, catalog=catalog, autocommit=True)
    cur = con.cursor()
    for i in range(count):
        cur.execute("INSERT INTO t VALUES (?, ?)", (worker, i))
        if i % 97 == 0:
            cur.execute("FLUSH t")
        print(i, flush=True)
    if count > 200:
        cur.execute("INSERT INTO t SELECT ?, 100000 + range FROM range(20000)", (worker,))
    con.close()
    print("done", flush=True)
    """
)


def _spawn(target: CatalogTarget, worker: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WRITER,
            str(target.warehouse),
            target.catalog or "",
            str(worker),
            str(count),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_concurrent_writers_lose_and_duplicate_nothing(target: CatalogTarget) -> None:
    """Four processes each insert 500 single rows (flushing now and then) plus a bulk load."""
    con = target.connect(autocommit=True)
    con.cursor().execute("CREATE TABLE t (worker INT, i BIGINT)")
    workers = [_spawn(target, w, 500) for w in range(4)]
    for process in workers:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        assert out.strip().endswith("done")
    cur = con.cursor()
    cur.execute("SELECT count(*), count(DISTINCT (worker, i)) FROM t")
    assert cur.fetchone() == (4 * 20500, 4 * 20500)
    cur.execute("FLUSH t")
    cur.execute("SELECT worker, count(*) FROM t GROUP BY worker ORDER BY worker")
    assert cur.fetchall() == [(w, 20500) for w in range(4)]
    con.close()


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_no_acknowledged_row(tmp_path: Path) -> None:
    """50 writers killed at random moments of inserts and flushes: every acknowledged row
    is there once, nothing is there twice, and PyIceberg agrees after a final flush."""
    target = CatalogTarget("sqlite", tmp_path / "lakehouse", None)
    con = target.connect(autocommit=True)
    con.cursor().execute("CREATE TABLE t (worker INT, i BIGINT)")
    con.close()
    rng = random.Random(7)
    acknowledged: set[tuple[int, int]] = set()
    for trial in range(50):
        process = _spawn(target, trial, 150)
        time.sleep(rng.uniform(0.6, 1.6))
        os.kill(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        acknowledged |= {(trial, int(line)) for line in out.split() if line.isdigit()}
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("SELECT worker, i FROM t")
    rows = cur.fetchall()
    assert len(rows) == len(set(rows)), "a row was counted twice"
    assert acknowledged <= set(rows), "an acknowledged row was lost"
    cur.execute("FLUSH t")
    cur.execute("SELECT count(*) FROM t")
    (after_flush,) = cur.fetchone()
    assert after_flush == len(rows)
    con.close()
    catalog = _pyiceberg(target)
    assert catalog.load_table("default.t").scan().to_arrow().num_rows == len(rows)
    catalog.engine.dispose()
