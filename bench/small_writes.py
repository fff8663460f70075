"""Small writes: ``python -m bench.small_writes --rows 2000`` (see bench/README.md).

Single-row ``INSERT ... VALUES`` statements, each its own transaction, through one
connection on the embedded SQLite catalog: in autocommit mode with bound parameters, in
PEP 249's default mode (autocommit off, ``commit()`` after each row), and the same rows as
SQL text with literals. Beside them PyIceberg appends of one row each
(DuckLake needs its DuckDB extension downloaded at run time, which this machine cannot
do; the run says so). Reports durable rows per second, the data and
metadata files each side created, and snapshots; then a SELECT over 10,000 buffered
rows against the same query after the flush. Each side runs in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_SQLLAKE = """
import datetime, json, sys, time
import sqllake
warehouse, rows = sys.argv[1], int(sys.argv[2])
con = sqllake.connect(warehouse, autocommit=True)
cur = con.cursor()
cur.execute("CREATE TABLE events (id BIGINT, kind VARCHAR, ts TIMESTAMPTZ)")
start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
began = time.perf_counter()
for i in range(rows):
    cur.execute("INSERT INTO events VALUES (?, ?, ?)", (i, "click", start))
elapsed = time.perf_counter() - began
"""

# PEP 249's default mode: autocommit off, one commit() per row.
_SQLLAKE_PEP249 = """
import datetime, json, sys, time
import sqllake
warehouse, rows = sys.argv[1], int(sys.argv[2])
con = sqllake.connect(warehouse)
cur = con.cursor()
cur.execute("CREATE TABLE events (id BIGINT, kind VARCHAR, ts TIMESTAMPTZ)")
con.commit()
start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
began = time.perf_counter()
for i in range(rows):
    cur.execute("INSERT INTO events VALUES (?, ?, ?)", (i, "click", start))
    con.commit()
elapsed = time.perf_counter() - began
con.autocommit = True
"""

# The same rows as SQL text with literals: every statement is new text to parse.
_SQLLAKE_LITERALS = """
import json, sys, time
import sqllake
warehouse, rows = sys.argv[1], int(sys.argv[2])
con = sqllake.connect(warehouse, autocommit=True)
cur = con.cursor()
cur.execute("CREATE TABLE events (id BIGINT, kind VARCHAR, ts TIMESTAMPTZ)")
began = time.perf_counter()
for i in range(rows):
    cur.execute(f"INSERT INTO events VALUES ({i}, 'click', TIMESTAMPTZ '2026-01-01 00:00:00+00')")
elapsed = time.perf_counter() - began
"""

# Both sqllake sides end here; the FLUSH is not timed.
_FLUSHED = """
cur.execute("FLUSH events")
cur.execute("SELECT count(*) FROM events")
assert cur.fetchone() == (rows,)
print(json.dumps({"seconds": elapsed}))
"""

_PYICEBERG = """
import json, sys, time
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
warehouse, rows = sys.argv[1], int(sys.argv[2])
catalog = SqlCatalog("bench", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
catalog.create_namespace("default")
schema = pa.schema([("id", pa.int64()), ("kind", pa.string())])
table = catalog.create_table("default.events", schema)
began = time.perf_counter()
for i in range(rows):
    table.append(pa.table({"id": [i], "kind": ["click"]}, schema=schema))
elapsed = time.perf_counter() - began
assert table.scan().to_arrow().num_rows == rows
print(json.dumps({"seconds": elapsed}))
"""

_DUCKLAKE = """
import duckdb, json
con = duckdb.connect()
try:
    con.execute("INSTALL ducklake")
    print(json.dumps({"available": True}))
except Exception as exc:
    print(json.dumps({"available": False, "reason": str(exc).splitlines()[0]}))
"""

_BUFFERED_READ = """
import json, sys, time
import sqllake
warehouse = sys.argv[1]
con = sqllake.connect(warehouse, autocommit=True)
cur = con.cursor()
cur.execute("CREATE TABLE b (id BIGINT, v DOUBLE)")
# Fewer rows than inline_rows (10,000): one INSERT that the buffer takes whole.
cur.execute("INSERT INTO b SELECT range, range * 0.5 FROM range(9999)")
assert not list(__import__("pathlib").Path(warehouse, "default", "b").rglob("*.parquet"))
query = "SELECT count(*), sum(v) FROM b WHERE id % 7 = 0"

def timed() -> float:
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        cur.execute(query)
        cur.fetchall()
        best = min(best, time.perf_counter() - began)
    return best

buffered = timed()
cur.execute("FLUSH b")
flushed = timed()
print(json.dumps({"buffered": buffered, "flushed": flushed}))
"""


def _run(script: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _files(root: Path) -> tuple[int, int]:
    data = sum(1 for p in root.rglob("*.parquet"))
    metadata = sum(1 for p in root.rglob("*") if p.suffix in (".avro", ".json"))
    return data, metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.small_writes")
    parser.add_argument("--rows", type=int, default=2000, help="single-row INSERTs by sqllake")
    parser.add_argument(
        "--pyiceberg-rows",
        type=int,
        default=300,
        help="single-row appends by PyIceberg (each rewrites more metadata than the last, "
        "so its rate only falls as the table grows: a few hundred give its best case)",
    )
    args = parser.parse_args(argv)
    lines = ["| side | rows/s | data files | metadata files | note |", "|---|---:|---:|---:|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        sides = (
            ("sqllake", _SQLLAKE + _FLUSHED, args.rows, "bound parameters (?, ?, ?)"),
            (
                "sqllake PEP 249",
                _SQLLAKE_PEP249 + _FLUSHED,
                args.rows,
                "autocommit off, commit() after each row",
            ),
            ("sqllake literals", _SQLLAKE_LITERALS + _FLUSHED, args.rows, "literals in the SQL"),
            ("pyiceberg append", _PYICEBERG, args.pyiceberg_rows, "one snapshot per row"),
        )
        for name, script, rows, note in sides:
            warehouse = Path(tmp) / name.replace(" ", "_")
            warehouse.mkdir()
            result = _run(script, str(warehouse), str(rows))
            rate = rows / float(str(result["seconds"]))
            data, metadata = _files(warehouse)
            lines.append(f"| {name} ({rows} rows) | {rate:,.0f} | {data} | {metadata} | {note} |")
        ducklake = _run(_DUCKLAKE)
        if not ducklake["available"]:
            lines.append(f"| DuckLake | - | - | - | not available here: {ducklake['reason']} |")
        reads = _run(_BUFFERED_READ, str(Path(tmp) / "reads"))
    buffered, flushed = float(str(reads["buffered"])), float(str(reads["flushed"]))
    print("Single-row INSERTs, each its own transaction:\n")
    print("\n".join(lines))
    print(
        f"\nSELECT over 9,999 buffered rows: {buffered * 1000:.1f} ms; the same after the "
        f"flush: {flushed * 1000:.1f} ms ({buffered / flushed:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
