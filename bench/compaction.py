"""Compaction: ``python -m bench.compaction --files 1000`` (see bench/README.md).

A table of ``--files`` small Parquet files (``--rows-per-file`` rows each, one snapshot),
built twice the same way (not measured). Then, each in a process of its own:

- sqllake: ``CALL system.rewrite_data_files('t')``, streaming the rows into files of the
  target size, one ``replace`` snapshot;
- PyIceberg 0.12, which has no compaction: its nearest equivalent, reading the whole
  table into memory (``scan().to_arrow()``) and writing it back (``overwrite``), one
  ``overwrite`` snapshot;
- DuckLake's ``ducklake_merge_adjacent_files``, where its extension can be installed.

Reports seconds, peak RSS, the data files before and after, and checks the rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_PEAK = """
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

# Builds the table: one transaction, one INSERT (one file) per --rows-per-file rows.
_BUILD = """
import json, sys
import sqllake
warehouse, files, per_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = sqllake.connect(warehouse, inline_rows=0)
cur = con.cursor()
cur.execute(
    "CREATE TABLE t (id BIGINT, kind VARCHAR, ts TIMESTAMPTZ, v DOUBLE) "
    "WITH ('write.maintenance.auto' = 'false')"
)
con.commit()
for f in range(files):
    cur.execute(
        "INSERT INTO t SELECT range, 'kind' || (range % 7), "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' + range * INTERVAL 1 SECOND, range * 0.5 "
        "FROM range(?, ?)",
        (f * per_file, (f + 1) * per_file),
    )
con.commit()
cur.execute('SELECT count(*) FROM "t$files"')
print(json.dumps({"files": cur.fetchone()[0]}))
con.close()
"""

_SQLLAKE = (
    _PEAK
    + """
import json, sys, time
import sqllake
warehouse, rows = sys.argv[1], int(sys.argv[2])
con = sqllake.connect(warehouse, autocommit=True)
cur = con.cursor()
began = time.perf_counter()
cur.execute("CALL system.rewrite_data_files('t')")
rewritten, added, size, _ = cur.fetchone()
elapsed = time.perf_counter() - began
cur.execute('SELECT count(*) FROM "t$files"')
after = cur.fetchone()[0]
cur.execute("SELECT count(*), sum(id) FROM t")
assert cur.fetchone() == (rows, rows * (rows - 1) // 2)
print(json.dumps({"seconds": elapsed, "peak_mib": peak_mib(), "files_after": after,
                  "rewritten": rewritten}))
"""
)

_PYICEBERG = (
    _PEAK
    + """
import json, sys, time
from pyiceberg.catalog.sql import SqlCatalog
warehouse, rows = sys.argv[1], int(sys.argv[2])
catalog = SqlCatalog("sqllake", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
table = catalog.load_table("default.t")
began = time.perf_counter()
data = table.scan().to_arrow()
table.overwrite(data)
elapsed = time.perf_counter() - began
table = catalog.load_table("default.t")
after = len(list(table.scan().plan_files()))
check = table.scan().to_arrow()
assert check.num_rows == rows and check.column("id").to_pylist() is not None
print(json.dumps({"seconds": elapsed, "peak_mib": peak_mib(), "files_after": after,
                  "rewritten": None}))
"""
)

_DUCKLAKE = """
import duckdb, json
con = duckdb.connect()
try:
    con.execute("INSTALL ducklake")
    print(json.dumps({"available": True}))
except Exception as exc:
    print(json.dumps({"available": False, "reason": str(exc).splitlines()[0]}))
"""


def _run(script: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compaction")
    parser.add_argument("--files", type=int, default=1000, help="small files to compact")
    parser.add_argument("--rows-per-file", type=int, default=1000, help="rows in each file")
    args = parser.parse_args(argv)
    rows = args.files * args.rows_per_file
    lines = [
        "| side | seconds | peak RSS MiB | data files before | after | snapshot |",
        "|---|---:|---:|---:|---:|---|",
    ]
    sides = (
        ("sqllake rewrite_data_files", _SQLLAKE, "replace"),
        ("PyIceberg scan + overwrite", _PYICEBERG, "overwrite"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, script, operation in sides:
            warehouse = Path(tmp) / name.split()[0]
            built = _run(_BUILD, str(warehouse), str(args.files), str(args.rows_per_file))
            result = _run(script, str(warehouse), str(rows))
            lines.append(
                f"| {name} | {float(str(result['seconds'])):.2f} | "
                f"{float(str(result['peak_mib'])):.0f} | {built['files']} | "
                f"{result['files_after']} | {operation} |"
            )
    ducklake = _run(_DUCKLAKE)
    if not ducklake["available"]:
        lines.append(
            f"| DuckLake merge_adjacent_files | - | - | - | - | not available here: "
            f"{ducklake['reason']} |"
        )
    print(f"Compaction of {args.files:,} files of {args.rows_per_file:,} rows ({rows:,} rows):\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
