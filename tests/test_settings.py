"""DuckDB settings the session honours beyond the engine's own queries."""

from __future__ import annotations

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
