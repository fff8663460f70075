"""Runs of each case -> medians, peaks, ratios against peers and targets -> Markdown + JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.cases import CASES, CaseSpec
from bench.model import Detail, RunRecord, Status

MIB = 1024  # peaks are reported in KiB
REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("sqllake", "duckdb", "pyiceberg", "pyarrow", "tpchgen-cli")


@dataclass(frozen=True)
class CaseResult:
    name: str
    group: str
    status: Status
    seconds: tuple[float, ...]  # one per successful run
    median_seconds: float | None
    peak_rss_mib: float | None  # the highest of the runs' peaks
    import_rss_mib: float | None  # the process after imports, before the case ran
    detail: Detail  # from the last run
    error: str = ""


@dataclass(frozen=True)
class Verdict:
    """One case held against its peer and its targets."""

    case: str
    peer: str | None
    ratio: float | None
    target: str
    met: bool | None  # None: no target, or it does not apply at this scale
    same_answer: bool | None  # both engines returned the same rows (None: not compared)


def summarize(spec: CaseSpec, records: list[RunRecord], error: str) -> CaseResult:
    timed = [r.outcome.seconds for r in records if r.outcome.seconds is not None]
    status: Status = "error" if error else records[-1].outcome.status if records else "error"
    return CaseResult(
        name=spec.name,
        group=spec.group,
        status=status,
        seconds=tuple(timed),
        median_seconds=statistics.median(timed) if timed else None,
        peak_rss_mib=max(r.peak_rss_kib for r in records) / MIB if records else None,
        import_rss_mib=max(r.import_rss_kib for r in records) / MIB if records else None,
        detail=records[-1].outcome.detail if records else {},
        error=error,
    )


def judge(result: CaseResult, results: dict[str, CaseResult], scale: float) -> Verdict:
    spec = CASES[result.name]
    peer = results.get(spec.peer) if spec.peer else None
    ratio = None
    if peer and peer.median_seconds and result.median_seconds is not None:
        ratio = result.median_seconds / peer.median_seconds
    targets: list[str] = []
    checks: list[bool] = []
    if spec.max_ratio is not None:
        targets.append(f"<= {spec.max_ratio}x {spec.peer}")
        if ratio is not None:
            checks.append(ratio <= spec.max_ratio)
    if spec.max_rss_mib is not None:
        applies = scale >= spec.rss_target_scale
        where = f" (at SF >= {spec.rss_target_scale:g})" if spec.rss_target_scale else ""
        targets.append(f"RSS < {spec.max_rss_mib:g} MiB{where}")
        if applies and result.peak_rss_mib is not None:
            checks.append(result.peak_rss_mib < spec.max_rss_mib)
    met = all(checks) if checks else None
    same = None
    if peer and "digest" in result.detail and "digest" in peer.detail:
        same = result.detail["digest"] == peer.detail["digest"]
    return Verdict(result.name, spec.peer, ratio, "; ".join(targets), met, same)


def machine() -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO)
        return done.stdout.strip() if done.returncode == 0 else "-"

    meminfo = Path("/proc/meminfo")
    total_kib = int(meminfo.read_text().split()[1]) if meminfo.exists() else 0
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(total_kib / MIB / MIB, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{pkg: version(pkg) for pkg in PACKAGES},
        # The figures are of the work tree as it was, uncommitted changes included.
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "sqllake_tree_dirty": bool(git("status", "--porcelain", "--", "sqllake")),
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _facts(result: CaseResult, verdict: Verdict) -> str:
    if result.error:
        return result.error.strip().splitlines()[-1][:120] if result.error.strip() else "error"
    facts = [f"{k}={v}" for k, v in result.detail.items() if k != "digest"]
    if verdict.same_answer is not None:
        facts.append("same answer as peer" if verdict.same_answer else "**ANSWER DIFFERS**")
    return ", ".join(facts)


def markdown(results: list[CaseResult], verdicts: dict[str, Verdict]) -> str:
    lines = [
        "| case | status | median s | peak RSS MiB | after imports MiB | vs peer | target | met "
        "| facts |",
        "|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        v = verdicts[r.name]
        ratio = f"{v.ratio:.2f}x" if v.ratio is not None else "-"
        met = {True: "yes", False: "**no**", None: "-"}[v.met]
        lines.append(
            f"| {r.name} | {r.status} | {_fmt(r.median_seconds)} | {_fmt(r.peak_rss_mib, 0)} "
            f"| {_fmt(r.import_rss_mib, 0)} | {ratio} | {v.target or '-'} | {met} "
            f"| {_facts(r, v)} |"
        )
    return "\n".join(lines)


def write_json(
    path: Path, settings: dict[str, Any], results: list[CaseResult], verdicts: dict[str, Verdict]
) -> None:
    doc = {
        "settings": settings,
        "machine": machine(),
        "cases": {r.name: asdict(r) for r in results},
        "verdicts": {name: asdict(v) for name, v in verdicts.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def setup_line(prepared: dict[str, Any]) -> str:
    """How the partitioned table came out, since the one-day figures depend on it."""
    if not prepared:
        return "partitioned table: not built (no selected case reads it)"
    if prepared.get("events_reason"):
        return f"partitioned table: {prepared['events_reason']}"
    return (
        f"partitioned table: loaded in {prepared['events_load_s']:.1f} s as "
        f"{prepared['events_file_count']} data files for 365 days"
    )
