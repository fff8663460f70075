"""Input data, generated once per scale factor and cached under the data folder.

Run as ``python -m bench.datagen FOLDER SCALE`` by the runner, so that DuckDB's memory
never grows the runner's process (a child's peak RSS can start from its parent's).

TPC-H lineitem comes from DuckDB's ``tpch`` extension when it is already installed
(it is not bundled in the wheel and cannot be downloaded offline), else from the
``tpchgen-cli`` package. Files are written under a temporary name and renamed, so an
interrupted generation is never mistaken for a cached one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from bench.cases.queries import literal

EVENT_DAYS = 365


class MissingGenerator(RuntimeError):
    pass


def lineitem(folder: Path, scale: float) -> Path:
    target = folder / "lineitem.parquet"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "lineitem.parquet.partial"
    if not _duckdb_dbgen(partial, scale):
        _tpchgen_cli(partial, scale)
    partial.rename(target)
    return target


def _duckdb_dbgen(target: Path, scale: float) -> bool:
    # Autoinstall off: without a network it would only fail slowly.
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute("LOAD tpch")
    except duckdb.Error:
        return False
    con.execute(f"CALL dbgen(sf={scale})")
    con.execute(f"COPY lineitem TO {literal(str(target))} (FORMAT parquet)")
    return True


def _tpchgen_cli(target: Path, scale: float) -> None:
    found = shutil.which("tpchgen-cli") or shutil.which(
        "tpchgen-cli", path=str(Path(sys.executable).parent)
    )
    if found is None:
        raise MissingGenerator(
            "No TPC-H generator: DuckDB's tpch extension is not installed and tpchgen-cli "
            "is missing. Install it with: pip install tpchgen-cli"
        )
    out = target.parent / "tpchgen"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [found, "parquet", f"--scale-factor={scale}", "--tables=lineitem", f"--output-dir={out}"],
        check=True,
    )
    (out / "lineitem.parquet").rename(target)
    shutil.rmtree(out)


def event_rows(scale: float) -> int:
    """About a million rows per scale factor, and at least 100 a day."""
    return max(EVENT_DAYS * 100, round(1_000_000 * scale))


def events(folder: Path, scale: float) -> Path:
    """Rows spread evenly over the 365 days of 2025 (UTC), for a ``day(ts)`` partitioning."""
    target = folder / "events.parquet"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "events.parquet.partial"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""COPY (
            SELECT i AS id,
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + INTERVAL (i % {EVENT_DAYS}) DAY
                       + INTERVAL ((i * 7919) % 86400) SECOND AS ts,
                   ((i % 1000) / 10.0)::DOUBLE AS v,
                   'event ' || i AS note
            FROM range({event_rows(scale)}) AS r(i)
        ) TO {literal(str(partial))} (FORMAT parquet)"""
    )
    partial.rename(target)
    return target


def main(argv: list[str]) -> int:
    folder, scale = Path(argv[0]), float(argv[1])
    try:
        paths = {"lineitem": str(lineitem(folder, scale)), "events": str(events(folder, scale))}
        paths["event_rows"] = str(event_rows(scale))
    except MissingGenerator as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
