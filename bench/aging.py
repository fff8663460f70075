"""Aging: ``python -m bench.aging --cycles 1500`` (see bench/README.md).

One table on the embedded SQLite catalog, with default settings, takes cycles of an
INSERT of 10 rows and a FLUSH, as a stream of small writes does for months. Reports the
cycle time at the start (cycles 11-110) and at the end (the last 100), wall-clock and
the process's CPU time (which other work on a shared machine disturbs less), the first query
of a new process on the aged table against the same query on a table of one flush, the
bytes of the metadata folder and the live data files. Every figure comes from a process
of its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_AGE = """
import json, sys, time
import sqllake
warehouse, cycles = sys.argv[1], int(sys.argv[2])
con = sqllake.connect(warehouse, autocommit=True)
con.execute("CREATE TABLE t (id BIGINT, kind VARCHAR, amount DOUBLE)")
times, cpu = [], []
for c in range(cycles):
    began, began_cpu = time.perf_counter(), time.process_time()
    con.execute("INSERT INTO t SELECT i, 'k' || (i % 7), i * 0.5 FROM range(?, ? + 10) r(i)",
                (c * 10, c * 10))
    con.execute("FLUSH t")
    times.append(time.perf_counter() - began)
    cpu.append(time.process_time() - began_cpu)
con.close()
print(json.dumps({"times": times, "cpu": cpu}))
"""

_FIRST_QUERY = """
import json, sys, time
began = time.perf_counter()
import sqllake
con = sqllake.connect(sys.argv[1], autocommit=True)
rows = con.execute("SELECT kind, count(*), sum(amount) FROM t GROUP BY kind").fetchall()
elapsed = time.perf_counter() - began
explain = "\\n".join(r[0] for r in con.execute("EXPLAIN SELECT * FROM t").fetchall())
print(json.dumps({"seconds": elapsed, "rows": len(rows), "explain": explain}))
"""


def _run(script: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=7200
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _first_query(warehouse: Path, runs: int) -> tuple[float, str]:
    results = [_run(_FIRST_QUERY, str(warehouse)) for _ in range(runs)]
    scan = next(line for line in str(results[-1]["explain"]).splitlines() if "scan" in line)
    return statistics.median(float(str(r["seconds"])) for r in results), scan


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(cycles: int, runs: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        aged, fresh = Path(tmp) / "aged", Path(tmp) / "fresh"
        aging = _run(_AGE, str(aged), str(cycles))
        times = [float(t) for t in aging["times"]]  # type: ignore[attr-defined]
        cpu = [float(t) for t in aging["cpu"]]  # type: ignore[attr-defined]
        _run(_AGE, str(fresh), "1")
        start = statistics.mean(times[10:110])
        end = statistics.mean(times[-100:])
        cpu_start, cpu_end = statistics.mean(cpu[10:110]), statistics.mean(cpu[-100:])
        aged_query, aged_scan = _first_query(aged, runs)
        fresh_query, _ = _first_query(fresh, runs)
        table = aged / "default" / "t"
        metadata = _folder_bytes(table / "metadata")
        live = aged_scan
    return [
        f"| cycles 11-110 | {start * 1000:.1f} ms | |",
        f"| last 100 cycles | {end * 1000:.1f} ms | {end / start:.2f}x (target <= 1.5x) |",
        f"| CPU time, cycles 11-110 | {cpu_start * 1000:.1f} ms | |",
        f"| CPU time, last 100 cycles | {cpu_end * 1000:.1f} ms | {cpu_end / cpu_start:.2f}x |",
        f"| first query, new table | {fresh_query * 1000:.0f} ms | |",
        f"| first query, aged table | {aged_query * 1000:.0f} ms | "
        f"{aged_query / fresh_query:.2f}x (target <= 1.5x) |",
        f"| metadata folder | {metadata / 2**20:.1f} MiB | target <= 32 MiB |",
        f"| live data files | {live} | target <= 64 |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aging")
    parser.add_argument("--cycles", type=int, nargs="+", default=[1500])
    parser.add_argument("--runs", type=int, default=5, help="first-query runs (median)")
    args = parser.parse_args(argv)
    for cycles in args.cycles:
        print(f"\n{cycles:,} cycles of INSERT 10 rows + FLUSH:\n")
        print("| measure | value | against |\n|---|---:|---|")
        print("\n".join(measure(cycles, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
