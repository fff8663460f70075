"""The case registry: case name -> where its function lives, and how it is reported.

Functions are named by module and attribute rather than imported here so that the
child process of a DuckDB case never imports sqllake or PyIceberg: each child's peak
RSS is then that engine's own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaseSpec:
    name: str
    module: str  # imported by the child only
    function: str
    group: str  # cases of one group are shown together
    peer: str | None = None  # the case this one's time is divided by
    max_ratio: float | None = None  # target for seconds / peer seconds
    max_rss_mib: float | None = None  # target for peak RSS
    rss_target_scale: float = 0.0  # the RSS target applies from this scale factor on
    reads_tables: bool = True  # reads the prepared sqllake tables (loads write their own)
    short: bool = False  # a query of a fraction of a second: run at least --query-runs times


_SQLLAKE = "bench.cases.sqllake_cases"
_DUCKDB = "bench.cases.duckdb_cases"
_PYICEBERG = "bench.cases.pyiceberg_cases"
_S3_SQLLAKE = "bench.cases.s3_sqllake"
_S3_PYICEBERG = "bench.cases.s3_pyiceberg"

CASES: dict[str, CaseSpec] = {
    spec.name: spec
    for spec in (
        CaseSpec("load_duckdb_copy", _DUCKDB, "load_copy", "bulk load", reads_tables=False),
        CaseSpec(
            "load_sqllake",
            _SQLLAKE,
            "load",
            "bulk load",
            peer="load_duckdb_copy",
            max_ratio=1.3,
            max_rss_mib=1024,
            rss_target_scale=10,
            reads_tables=False,
        ),
        CaseSpec(
            "load_pyiceberg",
            _PYICEBERG,
            "append",
            "bulk load",
            peer="load_duckdb_copy",
            reads_tables=False,
        ),
        CaseSpec("q1_duckdb", _DUCKDB, "q1", "TPC-H Q1", short=True),
        CaseSpec(
            "q1_sqllake", _SQLLAKE, "q1", "TPC-H Q1", peer="q1_duckdb", max_ratio=1.1, short=True
        ),
        CaseSpec("q6_duckdb", _DUCKDB, "q6", "TPC-H Q6", short=True),
        CaseSpec(
            "q6_sqllake", _SQLLAKE, "q6", "TPC-H Q6", peer="q6_duckdb", max_ratio=1.1, short=True
        ),
        # The same queries run a second time in the process: a session's later queries.
        CaseSpec("q1_duckdb_warm", _DUCKDB, "q1_warm", "TPC-H Q1, second run", short=True),
        CaseSpec(
            "q1_sqllake_warm",
            _SQLLAKE,
            "q1_warm",
            "TPC-H Q1, second run",
            peer="q1_duckdb_warm",
            max_ratio=1.1,
            short=True,
        ),
        CaseSpec("q6_duckdb_warm", _DUCKDB, "q6_warm", "TPC-H Q6, second run", short=True),
        CaseSpec(
            "q6_sqllake_warm",
            _SQLLAKE,
            "q6_warm",
            "TPC-H Q6, second run",
            peer="q6_duckdb_warm",
            max_ratio=1.1,
            short=True,
        ),
        CaseSpec("scan_duckdb", _DUCKDB, "scan", "streaming scan"),
        CaseSpec(
            "scan_sqllake",
            _SQLLAKE,
            "scan",
            "streaming scan",
            peer="scan_duckdb",
            max_rss_mib=400,
        ),
        CaseSpec("day_duckdb", _DUCKDB, "one_day", "one-day query"),
        CaseSpec("day_sqllake", _SQLLAKE, "one_day", "one-day query", peer="day_duckdb"),
        # Object storage: S3 on SeaweedFS, against PyIceberg on the same server.
        CaseSpec("load_s3_pyiceberg", _S3_PYICEBERG, "append", "S3 bulk load", reads_tables=False),
        CaseSpec(
            "load_s3_sqllake",
            _S3_SQLLAKE,
            "load",
            "S3 bulk load",
            peer="load_s3_pyiceberg",
            max_ratio=1.0,
            reads_tables=False,
        ),
        CaseSpec("q1_s3_pyiceberg", _S3_PYICEBERG, "q1", "S3 TPC-H Q1", short=True),
        CaseSpec(
            "q1_s3_sqllake",
            _S3_SQLLAKE,
            "q1",
            "S3 TPC-H Q1",
            peer="q1_s3_pyiceberg",
            max_ratio=1.0,
            short=True,
        ),
        CaseSpec("q6_s3_pyiceberg", _S3_PYICEBERG, "q6", "S3 TPC-H Q6", short=True),
        CaseSpec(
            "q6_s3_sqllake",
            _S3_SQLLAKE,
            "q6",
            "S3 TPC-H Q6",
            peer="q6_s3_pyiceberg",
            max_ratio=1.0,
            short=True,
        ),
    )
}

# The cases that need the S3 server (the runner starts it).
S3_CASES = frozenset(name for name, spec in CASES.items() if ".s3_" in spec.module)

# Not measured: they build the sqllake tables the query cases read, once per run.
PREPARE = CaseSpec("prepare", _SQLLAKE, "prepare", "setup")
PREPARE_S3 = CaseSpec("prepare_s3", _S3_SQLLAKE, "prepare", "setup")
