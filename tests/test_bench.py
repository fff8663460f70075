"""The benchmark harness runs end to end at a tiny scale and reports every case.

Not a timing assertion: it keeps ``python -m bench.run`` working as sqllake changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cases import CASES, S3_CASES
from bench.rowlevel import PEER_ENVIRONMENT
from tests.seaweed import REQUIRE_S3, weed_binary

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_suite_runs_every_case_at_a_tiny_scale(tmp_path: Path) -> None:
    """Every case; without SeaweedFS (and not required) every case but the S3 ones."""
    out = tmp_path / "results"
    expected = set(CASES)
    if weed_binary() is None and not REQUIRE_S3:
        expected -= S3_CASES
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--scale",
            "0.01",
            "--runs",
            "1",
            "--query-runs",
            "1",
            "--data-dir",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--cases",
            ",".join(name for name in CASES if name in expected),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    (result,) = out.glob("*.json")
    cases = json.loads(result.read_text())["cases"]
    assert set(cases) == expected
    for name, case in cases.items():
        assert case["status"] in ("ok", "not supported"), (name, case["error"])
        if case["status"] == "ok":
            assert case["median_seconds"] is not None and case["peak_rss_mib"] > 0, name
    assert "| load_sqllake |" in done.stdout  # the Markdown table


def test_the_start_up_benchmark_runs_every_case() -> None:
    """``python -m bench.startup`` (one run of each case) reports every case."""
    from bench.startup import CASES as STARTUP_CASES

    done = subprocess.run(
        [sys.executable, "-m", "bench.startup", "--runs", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows[1:]] == [c.name for c in STARTUP_CASES]


@pytest.mark.slow
def test_rowlevel_runs_at_a_tiny_scale(tmp_path: Path) -> None:
    """``bench.rowlevel``: sqllake's statements run or are refused, never fail, and its
    answers agree with DuckLake's where that DuckDB is prepared. (PyIceberg's side takes
    minutes even at this scale: its upserts build a filter of every key.)"""
    sides = "sqllake" + (",ducklake" if os.environ.get(PEER_ENVIRONMENT) else "")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.rowlevel",
            "--scale",
            "0.002",
            "--query-runs",
            "1",
            "--data-dir",
            str(tmp_path / "data"),
            "--sides",
            sides,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "| TRUNCATE |" in done.stdout
    assert "ANSWER DIFFERS" not in done.stdout
