"""Row-level changes: ``python -m bench.rowlevel --scale 1`` (see bench/README.md).

TPC-H lineitem, loaded into a fresh table per side (not measured), then the same
sequence of changes on each, every statement in a process of its own:

1. DELETE of 10% of the rows (``l_quantity <= 5``, spread over every file);
2. UPDATE of 1% (``l_suppkey <= 100``);
3. MERGE of 100,000 upserts from a Parquet file: 50,000 rows that match (new quantity
   and comment) and 50,000 new keys, on (``l_orderkey``, ``l_linenumber``);
4. TPC-H Q6, the query before the next step (median of ``--query-runs`` new processes);
5. a one-row DELETE;
6. Q6 again: the first query after it;
7. INSERT OVERWRITE of the table from the source file less one ship mode (86%);
8. TRUNCATE.

Sides: sqllake in copy-on-write and in merge-on-read (the tables' ``write.delete.mode``,
``write.update.mode`` and ``write.merge.mode``); DuckLake 1.5.5 (merge-on-read, its only
mode), in the DuckDB 1.5.5 environment ``SQLLAKE_PEER_DUCKDB`` names
(``tests/peer-duckdb.txt``), its extension loaded by path; PyIceberg 0.12 (copy-on-write,
its only mode: ``delete``, ``upsert``; an UPDATE is a scan of the matching rows and an
``upsert`` of them changed, an overwrite is ``overwrite``, TRUNCATE ``delete()``). Each
side's table is checked against the others' after step 6 (row count and sums).
sqllake's statements are plain SQL: one it refuses is reported "not supported".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.cases.queries import LINEITEM_COLUMNS, Q6, literal
from bench.compiled import byte_compile_sqllake

ROOT = Path(__file__).resolve().parent
PEER_ENVIRONMENT = "SQLLAKE_PEER_DUCKDB"
MODES = ("copy-on-write", "merge-on-read")
KEY = ("l_orderkey", "l_linenumber")

_PEAK = """
import json, sys, time
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
args = json.loads(sys.argv[1])
"""

# sqllake: load, then one step (statements timed together) per process.
_SQLLAKE = (
    _PEAK
    + """
import sqllake
con = sqllake.connect(args["warehouse"], autocommit=True)
cur = con.cursor()
if args["step"] == "load":
    modes = ", ".join(f"'write.{w}.mode' = '{args['mode']}'" for w in ("delete", "update", "merge"))
    cur.execute(f"CREATE TABLE lineitem {args['columns']} WITH ({modes}, "
                "'write.maintenance.auto' = 'false')")
    cur.execute(f"INSERT INTO lineitem SELECT * FROM read_parquet('{args['lineitem']}')")
    print(json.dumps({"status": "ok"}))
    sys.exit(0)
# The catalog opens before the measured section, as DuckLake's ATTACH and PyIceberg's
# load_table do: the statement is measured, not the connection.
cur.execute("SELECT count(*) FROM information_schema.tables").fetchall()
try:
    began = time.perf_counter()
    for sql in args["sql"]:
        cur.execute(sql)
        result = cur.fetchall() if cur.description else None
    elapsed = time.perf_counter() - began
except sqllake.NotSupportedError as exc:
    print(json.dumps({"status": "not supported", "reason": str(exc).splitlines()[0]}))
    sys.exit(0)
print(json.dumps({"status": "ok", "seconds": elapsed, "rows": cur.rowcount,
                  "result": [list(map(str, r)) for r in result] if result else None,
                  "peak_mib": peak_mib()}))
"""
)

# DuckLake: the same SQL in DuckDB 1.5.5 with the ducklake extension loaded by path.
_DUCKLAKE = (
    _PEAK
    + """
import pathlib, duckdb, duckdb_extension_ducklake
(path,) = pathlib.Path(duckdb_extension_ducklake.__file__).parent.glob(
    "extensions/*/ducklake.duckdb_extension")
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"LOAD '{path}'")
folder = args["warehouse"]
con.execute(f"ATTACH 'ducklake:{folder}/meta.ducklake' AS lake (DATA_PATH '{folder}/data/')")
con.execute("USE lake")
if args["step"] == "load":
    con.execute(f"CREATE TABLE lineitem AS SELECT * FROM read_parquet('{args['lineitem']}')")
    print(json.dumps({"status": "ok"}))
    sys.exit(0)
began = time.perf_counter()
for sql in args["sql"]:
    result = con.execute(sql).fetchall()
elapsed = time.perf_counter() - began
one = result[0][0] if result and len(result) == 1 and len(result[0]) == 1 else None
rows = one if isinstance(one, int) else -1
print(json.dumps({"status": "ok", "seconds": elapsed, "rows": rows,
                  "result": [list(map(str, r)) for r in result] if result else None,
                  "peak_mib": peak_mib()}))
"""
)

# PyIceberg: each step through its own API.
_PYICEBERG = (
    _PEAK
    + """
import duckdb, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
def read(path, required=False):
    # PyIceberg's filters take plain strings, not string views; its upserts want the
    # table's nullability (DuckDB writes every column optional).
    data = pq.read_table(path)
    fields = [pa.field(f.name, pa.string() if f.type == pa.string_view() else f.type,
                       f.nullable and not required) for f in data.schema]
    return data.cast(pa.schema(fields))
folder = args["warehouse"]
catalog = SqlCatalog("bench", uri=f"sqlite:///{folder}/catalog.db", warehouse=f"file://{folder}")
step = args["step"]
if step == "load":
    data = read(args["lineitem"])
    catalog.create_namespace("default")
    table = catalog.create_table("default.lineitem", schema=data.schema)
    table.append(data)
    print(json.dumps({"status": "ok"}))
    sys.exit(0)
table = catalog.load_table("default.lineitem")
key = ["l_orderkey", "l_linenumber"]
result, rows = None, -1
began = time.perf_counter()
if step in ("delete", "delete_one", "truncate"):
    table.delete(args.get("filter") or "true") if step != "truncate" else table.delete()
elif step == "update":
    changed = table.scan(row_filter=args["filter"]).to_arrow()
    at = changed.schema.get_field_index("l_comment")
    changed = changed.set_column(at, changed.schema.field(at),
                                 pc.binary_join_element_wise(changed["l_comment"], "!", ""))
    table.upsert(changed, join_cols=key)
elif step == "merge":
    table.upsert(read(args["source"], required=True), join_cols=key)
elif step == "overwrite":
    data = read(args["lineitem"])
    table.overwrite(data.filter(pc.field("l_shipmode") != "AIR"))
elif step in ("query", "check"):
    arrow = table.scan(selected_fields=tuple(args.get("fields") or ("*",))).to_arrow()
    duckdb.execute("SET enable_progress_bar = false")
    result = duckdb.sql(args["sql"][0].replace("lineitem", "arrow")).fetchall()
elapsed = time.perf_counter() - began
snapshot = catalog.load_table("default.lineitem").current_snapshot()
summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
if step not in ("query", "check"):
    rows = int(summary.get("deleted-records", 0)) + int(summary.get("added-records", 0))
print(json.dumps({"status": "ok", "seconds": elapsed, "rows": rows,
                  "result": [list(map(str, r)) for r in result] if result else None,
                  "peak_mib": peak_mib()}))
"""
)

CHECK = "SELECT count(*), sum(l_quantity), sum(l_tax), count(DISTINCT l_comment) FROM lineitem"


# PyIceberg reads the columns Q6 needs into Arrow; DuckDB runs Q6 over them.
Q6_SCAN: dict[str, object] = {
    "step": "query",
    "fields": ["l_extendedprice", "l_discount", "l_shipdate", "l_quantity"],
}


@dataclass(frozen=True)
class Step:
    name: str
    sql: tuple[str, ...]  # sqllake's statements
    ducklake: tuple[str, ...] | None = None  # DuckLake's, when they differ
    pyiceberg: dict[str, object] = field(default_factory=dict)  # its step and arguments
    query: bool = False  # a query: the median of several new processes
    target: str = "<= fastest peer"


def suppliers(scale: float) -> int:
    """The ``l_suppkey`` bound of 1% of the rows (TPC-H has 10,000 suppliers per SF)."""
    return max(1, round(100 * scale))


def upserts(scale: float) -> int:
    """Matching rows (and new keys) of the MERGE: 50,000 each from SF1 up."""
    return max(100, round(50_000 * min(scale, 1.0)))


def steps(source: str, lineitem: str, one: tuple[int, int], scale: float) -> list[Step]:
    merge = (
        f"MERGE INTO lineitem AS t USING read_parquet({literal(source)}) AS s "
        "ON t.l_orderkey = s.l_orderkey AND t.l_linenumber = s.l_linenumber "
        "WHEN MATCHED THEN UPDATE SET l_quantity = s.l_quantity, l_comment = s.l_comment "
        "WHEN NOT MATCHED THEN INSERT *"
    )
    q6 = Q6.format(source="lineitem")
    one_row = f"l_orderkey = {one[0]} AND l_linenumber = {one[1]}"
    updated = f"l_suppkey <= {suppliers(scale)}"
    overwrite = f"SELECT * FROM read_parquet({literal(lineitem)}) WHERE l_shipmode <> 'AIR'"
    return [
        Step(
            "delete 10%",
            ("DELETE FROM lineitem WHERE l_quantity <= 5",),
            pyiceberg={"step": "delete", "filter": "l_quantity <= 5"},
        ),
        Step(
            "update 1%",
            (f"UPDATE lineitem SET l_comment = l_comment || '!' WHERE {updated}",),
            pyiceberg={"step": "update", "filter": updated},
        ),
        Step(
            f"merge {2 * upserts(scale):,} upserts",
            (merge,),
            pyiceberg={"step": "merge", "source": source},
        ),
        Step("Q6 before the one-row delete", (q6,), pyiceberg=Q6_SCAN, query=True, target=""),
        Step(
            "delete 1 row",
            (f"DELETE FROM lineitem WHERE {one_row}",),
            pyiceberg={"step": "delete_one", "filter": one_row},
            target="<= fastest peer; merge-on-read < 0.5 s",
        ),
        Step(
            "Q6 after the one-row delete",
            (q6,),
            pyiceberg=Q6_SCAN,
            query=True,
            target="<= 1.2x the query before",
        ),
        Step("check", (CHECK,), pyiceberg={"step": "check"}, target=""),
        Step(
            "INSERT OVERWRITE (86% of the rows)",
            (f"INSERT OVERWRITE lineitem {overwrite}",),
            ("BEGIN", "DELETE FROM lineitem", f"INSERT INTO lineitem {overwrite}", "COMMIT"),
            {"step": "overwrite", "lineitem": lineitem},
        ),
        Step("TRUNCATE", ("TRUNCATE lineitem",), ("DELETE FROM lineitem",), {"step": "truncate"}),
    ]


@dataclass(frozen=True)
class Side:
    name: str
    python: str
    script: str
    mode: str


def _run(python: str, script: str, payload: dict[str, object], timeout: float) -> dict[str, object]:
    try:
        done = subprocess.run(
            [python, "-c", script, json.dumps(payload)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "reason": f"stopped after {timeout:.0f} s"}
    if done.returncode != 0 or not done.stdout.strip():
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"status": "error", "reason": lines[-1][:300]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _stage(folder: Path, lineitem: str, scale: float) -> tuple[str, tuple[int, int]]:
    """The MERGE source (50,000 matching rows changed, 50,000 new keys) and the key of
    the row the one-row DELETE removes; DuckDB in a child, nothing measured."""
    source = folder / "merge_source.parquet"
    script = f"""
import duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
src = "read_parquet({literal(lineitem)})"
con.execute(f'''COPY (
  (SELECT * REPLACE (CAST(l_quantity + 1 AS DECIMAL(15, 2)) AS l_quantity,
                     'merged' AS l_comment) FROM {{src}}
   WHERE l_quantity > 5 AND l_suppkey > {suppliers(scale)} AND l_partkey % 23 = 0
   ORDER BY l_orderkey, l_linenumber LIMIT {upserts(scale)})
  UNION ALL
  (SELECT * REPLACE (l_orderkey + 1000000000 AS l_orderkey, 'new' AS l_comment) FROM {{src}}
   ORDER BY l_orderkey, l_linenumber LIMIT {upserts(scale)})
) TO {literal(str(source))} (FORMAT parquet)''')
print(con.execute(f"SELECT l_orderkey, l_linenumber FROM {{src}} WHERE l_quantity > 5 "
                  "AND l_suppkey > {suppliers(scale)} AND l_partkey % 23 <> 0 "
                  "ORDER BY l_orderkey DESC, "
                  "l_linenumber LIMIT 1").fetchone())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    order, line = done.stdout.strip().strip("()").split(",")
    return str(source), (int(order), int(line))


def _lineitem(scale: float, data: Path) -> str:
    folder = data / f"sf{scale:g}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.datagen", str(folder), str(scale)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip() or "data generation failed")
    return str(json.loads(done.stdout.strip().splitlines()[-1])["lineitem"])


def _sides(requested: list[str], peer: str | None) -> tuple[list[Side], list[str]]:
    sides, notes = [], []
    for mode in MODES:
        short = "CoW" if mode == MODES[0] else "MoR"
        if "sqllake" in requested:
            sides.append(Side(f"sqllake {short}", sys.executable, _SQLLAKE, mode))
    if "ducklake" in requested:
        if peer:
            sides.append(Side("DuckLake (MoR)", peer, _DUCKLAKE, "merge-on-read"))
        else:
            notes.append(
                f"DuckLake: not run, {PEER_ENVIRONMENT} names no DuckDB 1.5.5 "
                "environment (python3 -m venv peer && peer/bin/pip install -r "
                "tests/peer-duckdb.txt)"
            )
    if "pyiceberg" in requested:
        sides.append(Side("PyIceberg (CoW)", sys.executable, _PYICEBERG, "copy-on-write"))
    return sides, notes


def _measure(
    side: Side, step: Step, base: dict[str, object], runs: int, timeout: float
) -> dict[str, object]:
    payload = dict(base)
    if side.script is _PYICEBERG:
        payload.update(step.pyiceberg, sql=list(step.sql))
    else:
        sql = step.ducklake if side.script is _DUCKLAKE and step.ducklake else step.sql
        payload.update(step=step.name, sql=list(sql))
    results = [_run(side.python, side.script, payload, timeout) for _ in range(runs)]
    ok = [r for r in results if r.get("status") == "ok"]
    if len(ok) < len(results):
        return next(r for r in results if r.get("status") != "ok")
    chosen = dict(ok[0])
    chosen["seconds"] = statistics.median(float(str(r["seconds"])) for r in ok)
    return chosen


def _cell(result: dict[str, object]) -> str:
    if result.get("status") == "timeout":
        return f"> {str(result['reason']).split()[-2]}"
    if result.get("status") != "ok":
        return f"{result.get('status')}"
    return f"{float(str(result['seconds'])):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rowlevel")
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor")
    parser.add_argument("--query-runs", type=int, default=5, help="new processes per query")
    parser.add_argument("--sides", default="sqllake,ducklake,pyiceberg")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per step")
    args = parser.parse_args(argv)
    lineitem = _lineitem(args.scale, args.data_dir)
    byte_compile_sqllake()
    sides, notes = _sides(args.sides.split(","), os.environ.get(PEER_ENVIRONMENT))
    table: dict[str, dict[str, dict[str, object]]] = {}
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        source, one = _stage(Path(tmp), lineitem, args.scale)
        plan = steps(source, lineitem, one, args.scale)
        for side in sides:
            folder = Path(tmp) / side.name.replace(" ", "_").replace("(", "").replace(")", "")
            base: dict[str, object] = {
                "warehouse": str(folder),
                "lineitem": lineitem,
                "mode": side.mode,
                "columns": LINEITEM_COLUMNS,
            }
            folder.mkdir(parents=True)
            loaded = _run(side.python, side.script, {**base, "step": "load"}, args.timeout)
            for step in plan:
                runs = args.query_runs if step.query else 1
                result = (
                    loaded
                    if loaded.get("status") != "ok"
                    else _measure(side, step, base, runs, args.timeout)
                )
                table.setdefault(step.name, {})[side.name] = result
                print(f"{side.name}: {step.name}: {_cell(result)}", file=sys.stderr)
    print(_report(args.scale, sides, plan, table, notes))
    failed = any(r.get("status") == "error" for results in table.values() for r in results.values())
    return 1 if failed else 0


def _report(
    scale: float,
    sides: list[Side],
    plan: list[Step],
    table: dict[str, dict[str, dict[str, object]]],
    notes: list[str],
) -> str:
    names = [s.name for s in sides]
    lines = [
        f"Row-level changes on TPC-H SF{scale:g} lineitem (seconds):",
        "",
        "| statement | " + " | ".join(names) + " | target |",
        "|---|" + "---:|" * len(names) + "---|",
    ]
    for step in plan:
        if step.name == "check":
            continue
        cells = [_cell(table[step.name][n]) for n in names]
        lines.append(f"| {step.name} | " + " | ".join(cells) + f" | {step.target} |")
    # Only sides that ran every step before the check hold comparable tables.
    before = plan[: [step.name for step in plan].index("check") + 1]
    checks = {
        n: json.dumps(table["check"][n].get("result"))
        for n in names
        if all(table[step.name][n].get("status") == "ok" for step in before)
    }
    if len(checks) > 1:
        agree = "the same" if len(set(checks.values())) == 1 else "ANSWER DIFFERS"
        lines += [
            "",
            f"Tables after the one-row delete ({', '.join(checks)}: row count and "
            f"sums): {agree}" + ("" if agree == "the same" else f" {json.dumps(checks)}"),
        ]
    reasons: dict[tuple[str, str], list[str]] = {}
    for step in plan:
        for n in names:
            result = table[step.name][n]
            if result.get("status") != "ok":
                reasons.setdefault((n, str(result.get("reason", ""))), []).append(step.name)
    lines += [""] + [f"- {n}, {', '.join(which)}: {why}" for (n, why), which in reasons.items()]
    return "\n".join(lines + [f"- {note}" for note in notes])


if __name__ == "__main__":
    sys.exit(main())
