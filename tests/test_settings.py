"""DuckDB settings the session honours beyond the engine's own queries."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import sqllake
from sqllake.write import rows, threads


def test_threads_bounds_the_threads_that_encode_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts: list[int] = []

    class Recording(threads.KeyedThreads):
        def __init__(self, count: int | None = None) -> None:
            super().__init__(count)
            counts.append(self._count)

    monkeypatch.setattr(rows, "KeyedThreads", Recording)
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT, p INT) PARTITIONED BY (p)")
    cur.execute("SET threads = 1")
    cur.execute("INSERT INTO t SELECT range, range % 4 FROM range(1000)")
    cur.execute("SET threads = 2")
    cur.execute("INSERT INTO t SELECT range, range % 4 FROM range(1000)")
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (2000,)
    con.close()
    assert counts == [1, 2]


def test_every_duckdb_test_type_fetches(tmp_path: Path) -> None:
    """Query results of every DuckDB type fetch through the DB-API, as DuckDB's own
    client gives them: dates beyond Python's years as their text."""
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute("SELECT date, timestamp, timestamp_ns, timestamp_tz FROM test_all_types()")
    low, high, empty = cur.fetchall()
    assert (low[0], high[0]) == ("5877642-06-25 (BC)", "5881580-07-10")
    assert high[2] == datetime.datetime(2262, 4, 11, 23, 47, 16, 854775)
    assert empty == (None, None, None, None)
    cur.execute("SELECT * FROM test_all_types()")
    assert len(cur.fetchall()) == 3
    con.close()
