"""Start-up: whole ``sqllake`` processes beside a Python process that imports DuckDB.

``python -m bench.startup --runs 21`` (see bench/README.md). Each run of each case is a
new process, timed from its start to its exit by this one; the cases go round-robin so
that a change in the machine's speed is spread over all of them. The floor is
``python -c "import duckdb; duckdb.sql('SELECT 1').fetchall()"``: what any Python
program that runs SQL in DuckDB pays before its first answer.

sqllake's modules are byte-compiled first, as an installed wheel is
(``bench/compiled.py``).

Beside the wall time (the target) each run's CPU time (user + system, of the child) is
reported: on a machine shared with other work it moves less than the wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.compiled import byte_compile_sqllake

FLOOR = "floor"


@dataclass(frozen=True)
class Case:
    name: str
    arguments: tuple[str, ...]  # after the interpreter (the floor) or after `sqllake`
    target: float | None  # at most this many times the floor's median wall time


CASES = (
    Case(FLOOR, ("-c", "import duckdb; duckdb.sql('SELECT 1').fetchall()"), None),
    Case("version", ("--version",), 1.5),
    Case("help", ("--help",), 1.5),
    Case("select_1", ("-c", "SELECT 1"), 2.0),
    Case("count", ("-c", "SELECT count(*) FROM t"), 4.0),
)


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float


def _sqllake(warehouse: Path) -> list[str]:
    # The installed entry point, as a user runs it.
    script = Path(sys.executable).with_name("sqllake")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "sqllake"]
    return [*program, "--warehouse", str(warehouse)]


def _command(case: Case, warehouse: Path) -> list[str]:
    if case.name == FLOOR:
        return [sys.executable, *case.arguments]
    return [*_sqllake(warehouse), *case.arguments]


def _run(command: list[str], cwd: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu)


def _prepare(warehouse: Path, cwd: Path) -> None:
    """A small table ``t`` in a new warehouse (SQLite catalog), its rows in Parquet."""
    sql = "CREATE TABLE t (id BIGINT, name VARCHAR); INSERT INTO t VALUES (1, 'a'), (2, 'b')"
    _run([*_sqllake(warehouse), "-c", sql, "-c", "FLUSH t"], cwd)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=21, help="runs per case; medians are reported")
    args = p.parse_args(argv)
    byte_compile_sqllake()
    scratch = Path(tempfile.mkdtemp(prefix="sqllake-startup-"))
    try:
        warehouse = scratch / "lakehouse"
        _prepare(warehouse, scratch)
        runs: dict[str, list[Run]] = {case.name: [] for case in CASES}
        for _ in range(args.runs):
            for case in CASES:
                runs[case.name].append(_run(_command(case, warehouse), scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    floor = statistics.median(r.wall for r in runs[FLOOR])
    floor_cpu = statistics.median(r.cpu for r in runs[FLOOR])
    print(f"{args.runs} runs per case, load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| case | median s | vs floor | CPU s | CPU vs floor | target | met |")
    print("|---|---:|---:|---:|---:|---|---|")
    for case in CASES:
        wall = statistics.median(r.wall for r in runs[case.name])
        cpu = statistics.median(r.cpu for r in runs[case.name])
        target = f"<= {case.target:g}x" if case.target else ""
        met = "" if case.target is None else ("yes" if wall <= case.target * floor else "**no**")
        print(
            f"| {case.name} | {wall:.3f} | {wall / floor:.2f}x | {cpu:.3f} | "
            f"{cpu / floor_cpu:.2f}x | {target} | {met} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
