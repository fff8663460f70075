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
from decimal import Decimal
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


_COLUMNS = (
    "k INT, b BOOLEAN, i INT, l BIGINT, d DOUBLE, m DECIMAL(18, 4), s VARCHAR, dt DATE, "
    "ts TIMESTAMP, tz TIMESTAMPTZ"
)
# (column, literals): each literal alone, and each tuple of them as rows of one VALUES.
_LITERAL_CASES: list[tuple[str, tuple[str, ...]]] = [
    ("b", ("TRUE", "FALSE", "'true'", "1")),
    ("i", ("0", "-1", "007", "2147483647", "-2147483648", "2147483648", "1.5", "'12'", "1e3")),
    ("l", ("123456789012345678", "9223372036854775807", "-5", "1_000", "0.0")),
    ("d", ("1.5", "0.1", "-0.0", "-0", "3.14159265358979", "0.1234567890123456", "1e300")),
    ("d", ("12345678901234567", "2", ".5", "-.25", "'1.5'", "TRUE")),
    ("m", ("1.5", "-0.001", "1.23456", "12345678901234.5678", "123456789012345", "5")),
    ("s", ("'abc'", "'it''s'", "''", "'a\\b'", "'h\u00e9llo'", "1", "TRUE", "-'x'")),
    (
        "dt",
        (
            "'2026-02-28'",
            "DATE '2024-02-29'",
            "'2026-02-30'",
            "'2026-1-1'",
            "TIMESTAMP '2026-01-01'",
        ),
    ),
    ("ts", ("'2026-01-01 12:34:56.123456'", "TIMESTAMP '2026-01-01'", "'2026-01-01T00:00:00'")),
    (
        "ts",
        (
            "'2026-01-01 00:00:00+05'",
            "TIMESTAMPTZ '2026-01-01 00:00:00+00'",
            "'2026-01-01 1:02:03'",
            "'2026-01-01'",
        ),
    ),
    ("tz", ("TIMESTAMPTZ '2026-01-01 00:00:00+00'", "'2026-01-01 10:00:00+05:30'", "'2026-01-01'")),
    (
        "tz",
        ("TIMESTAMP '2026-01-01 00:00:00'", "'2026-01-01T01:02:03Z'", "'2026-06-01 00:00:00-07'"),
    ),
    ("tz", ("TIMESTAMP '2026-01-01 00:00:00+03'", "'2026-01-01 00:00:00.1234567+00'")),
    ("m", ("NULL", "DATE '2026-01-01'")),
]


def _random_literals(rng: random.Random) -> list[tuple[str, tuple[str, ...]]]:
    """Doubles and decimals of 1 to 18 digits, and instants with offsets."""
    cases: list[tuple[str, tuple[str, ...]]] = []
    for _ in range(60):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
        point = rng.randint(0, len(digits))
        number = (rng.choice(["", "-"]) + digits[:point] + "." + digits[point:]).rstrip(".")
        cases.append((rng.choice(["d", "m"]), (number or "0",)))
    for _ in range(15):
        instant = datetime.datetime(2000, 1, 1) + datetime.timedelta(
            seconds=rng.randint(0, 10**9), microseconds=rng.randint(0, 10**6 - 1)
        )
        offset = rng.choice(["", "Z", "+00", "-07:00", "+05:30", "+14"])
        cases.append(("tz", (f"'{instant.isoformat(sep=' ')}{offset}'",)))
    return cases


def _insert_outcomes(
    con: sqllake.Connection, table: str, cases: list[tuple[str, tuple[str, ...]]]
) -> list[tuple[int, str | None]]:
    cur, outcomes, k = con.cursor(), [], 0
    for column, literals in cases:
        statements = [[(k + n, literal)] for n, literal in enumerate(literals)]
        statements.append([(k + len(literals) + n, lit) for n, lit in enumerate(literals)])
        for rows in statements:
            values = ", ".join(f"({key}, {literal})" for key, literal in rows)
            try:
                cur.execute(f"INSERT INTO {table} (k, {column}) VALUES {values}")
                outcomes.append((rows[0][0], None))
            except sqllake.Error as exc:
                message = str(exc).replace(f"default.{table}", "default.t")
                outcomes.append((rows[0][0], f"{type(exc).__name__}: {message}"))
        k += 2 * len(literals) + 1
    return outcomes


def test_literals_without_the_engine_read_as_the_engine_reads_them(
    target: CatalogTarget,
) -> None:
    """Single-row INSERTs of literals skip the engine (see write/literals.py) where the
    value is certain; every literal gives what the engine's own path gives."""
    cases = _LITERAL_CASES + _random_literals(random.Random(11))
    buffered = target.connect(autocommit=True)
    buffered.cursor().execute(f"CREATE TABLE fast ({_COLUMNS})")
    buffered.cursor().execute(f"CREATE TABLE slow ({_COLUMNS})")
    engine = target.connect(autocommit=False)  # no buffer: every INSERT runs in the engine
    assert _insert_outcomes(buffered, "fast", cases) == _insert_outcomes(engine, "slow", cases)
    engine.commit()
    cur = buffered.cursor()
    cur.execute("SELECT * FROM fast ORDER BY k")
    fast = cur.fetchall()
    cur.execute("SELECT * FROM slow ORDER BY k")
    assert fast == cur.fetchall()
    engine.close()
    buffered.close()


def test_common_single_row_inserts_do_not_start_the_engine(
    con: sqllake.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE t (id BIGINT NOT NULL, kind VARCHAR, ts TIMESTAMPTZ, v DECIMAL(9, 2))"
    )

    def no_engine(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine ran")

    monkeypatch.setattr(con.session.engine, "relation", no_engine)
    start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    cur.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (1, "click", start, None))
    cur.execute("INSERT INTO t VALUES (2, 'view', TIMESTAMPTZ '2026-01-01 00:00:00+00', 1.5)")
    cur.execute("INSERT INTO t (id, kind) VALUES (-3, 'it''s')")
    cur.execute("INSERT INTO t VALUES (4, ?, '2026-01-01T00:00:00Z', NULL)", ("x",))
    with pytest.raises(sqllake.IntegrityError, match=r"NULL value in column id .*\(row 1\)"):
        cur.execute("INSERT INTO t VALUES (NULL, 'y', NULL, NULL)")
    monkeypatch.undo()
    cur.execute("SELECT id, kind, ts, v FROM t ORDER BY id")
    assert cur.fetchall() == [
        (-3, "it's", None, None),
        (1, "click", start, None),
        (2, "view", start, Decimal("1.50")),
        (4, "x", start, None),
    ]


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
