"""Random histories, then expire_snapshots: checked against a model of which files each
snapshot needs.

Each example builds a table's history from appends (flushes), compactions, tags,
branches (some with their own snapshot retention), dropped refs and moves of ``main``
to older snapshots (which leave snapshots no ref reaches), then expires with a random
``retain_last`` and ``older_than``. Before expiring, the data files each snapshot
needs and the rows it reads are recorded (PyIceberg plans them). Afterwards:

- the snapshots kept are those the retention rules keep (an independent model);
- every kept snapshot has every file it needs, and reads the same rows;
- the data files deleted are exactly those that only expired snapshots needed;
- every branch and tag, and ``main``, still points where it did.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table.metadata import TableMetadata

import sqllake
from sqllake.write.expire import MAX_SNAPSHOT_AGE, ExpiryRequest, may_expire, plan_expiry

APPEND = st.tuples(st.just("append"), st.sampled_from(["eu", "us", "apac"]))
OPERATIONS = st.lists(
    st.one_of(
        APPEND,  # appends are most of a table's history
        APPEND,
        APPEND,
        st.tuples(st.just("compact"), st.none()),
        st.tuples(st.just("tag"), st.none()),
        st.tuples(st.just("branch"), st.integers(min_value=0, max_value=3)),
        st.tuples(st.just("drop_ref"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("move_main"), st.integers(min_value=0, max_value=10)),
    ),
    min_size=6,
    max_size=20,
)


def _snapshot_ids(metadata: TableMetadata) -> list[int]:
    return [s.snapshot_id for s in sorted(metadata.snapshots, key=lambda s: s.sequence_number)]


def _apply(cur: Any, metadata: TableMetadata | None, step: int, operation: tuple[Any, ...]) -> None:
    kind, value = operation
    refs = sorted(n for n in (metadata.refs if metadata else {}) if n != "main")
    snapshots = _snapshot_ids(metadata) if metadata else []
    if kind == "append":
        cur.execute("INSERT INTO t VALUES (?, ?)", (step, value))
        cur.execute("FLUSH t")
    elif not snapshots:
        return  # nothing to compact, tag or move yet
    elif kind == "compact":
        cur.execute("CALL system.rewrite_data_files('t', options => MAP {'rewrite-all': 'true'})")
    elif kind == "tag":
        cur.execute(f"ALTER TABLE t CREATE TAG tag{step}")
    elif kind == "branch":
        keep = f" WITH SNAPSHOT RETENTION {value} SNAPSHOTS" if value else ""
        cur.execute(f"ALTER TABLE t CREATE BRANCH branch{step}{keep}")
    elif kind == "drop_ref" and refs:
        name = refs[value % len(refs)]
        cur.execute(f"ALTER TABLE t DROP {'TAG' if name.startswith('tag') else 'BRANCH'} {name}")
    elif kind == "move_main":
        cur.execute(
            "CALL system.set_current_snapshot('t', ?)", (snapshots[value % len(snapshots)],)
        )


def _ancestors(metadata: TableMetadata, snapshot_id: int) -> list[Any]:
    found, current = [], metadata.snapshot_by_id(snapshot_id)
    while current is not None:
        found.append(current)
        parent = current.parent_snapshot_id
        current = metadata.snapshot_by_id(parent) if parent is not None else None
    return found


def _model_kept(metadata: TableMetadata, older_than: int, retain_last: int) -> set[int]:
    """Iceberg's retention, written out plainly (no ref has a maximum age here)."""
    kept = {ref.snapshot_id for ref in metadata.refs.values()}
    on_branches: set[int] = set()
    for ref in metadata.refs.values():
        if ref.snapshot_ref_type.value != "branch":
            continue
        minimum = ref.min_snapshots_to_keep or retain_last
        chain = _ancestors(metadata, ref.snapshot_id)
        on_branches |= {s.snapshot_id for s in chain}
        for position, snapshot in enumerate(chain):
            if position >= minimum and snapshot.timestamp_ms < older_than:
                break
            kept.add(snapshot.snapshot_id)
    for snapshot in metadata.snapshots:
        if snapshot.snapshot_id not in on_branches and snapshot.timestamp_ms >= older_than:
            kept.add(snapshot.snapshot_id)
    return kept


def _needs(catalog: SqlCatalog, snapshot_id: int) -> set[str]:
    table = catalog.load_table("default.t")
    return {task.file.file_path for task in table.scan(snapshot_id=snapshot_id).plan_files()}


def _read(con: sqllake.Connection, snapshot_id: int) -> Counter[tuple[Any, ...]]:
    cur = con.cursor()
    cur.execute(f"SELECT id, region FROM t FOR VERSION AS OF {snapshot_id}")
    return Counter(cur.fetchall())


def _exists(location: str) -> bool:
    return Path(location.removeprefix("file://")).exists()


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    operations=OPERATIONS,
    retain_last=st.integers(min_value=1, max_value=4),
    cutoff=st.integers(min_value=0, max_value=24),
)
def test_expiry_keeps_exactly_what_kept_snapshots_need(
    operations: list[tuple[Any, ...]], retain_last: int, cutoff: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        warehouse = Path(folder) / "lakehouse"
        con = sqllake.connect(str(warehouse), autocommit=True)
        cur = con.cursor()
        cur.execute("CREATE TABLE t (id BIGINT, region VARCHAR) PARTITIONED BY (region)")
        catalog = SqlCatalog(
            "sqllake", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}"
        )
        start = [("append", "eu"), ("append", "us")]  # histories worth expiring
        for step, operation in enumerate(start + operations):
            loaded = catalog.load_table("default.t").metadata
            _apply(cur, loaded if loaded.snapshots else None, step, operation)
        before = catalog.load_table("default.t").metadata
        ids = _snapshot_ids(before)
        if not ids:
            return
        needs = {i: _needs(catalog, i) for i in ids}
        reads = {i: _read(con, i) for i in ids}
        # older_than: a snapshot's own moment (those before it may go), or now.
        stamps = sorted(s.timestamp_ms for s in before.snapshots)
        older_than = stamps[cutoff] if cutoff < len(stamps) else int(time.time() * 1000) + 1
        expected = _model_kept(before, older_than, retain_last)

        cur.execute(
            "CALL system.expire_snapshots('t', older_than => make_timestamp(? * 1000), "
            "retain_last => ?)",
            (older_than, retain_last),
        )
        counts = cur.fetchall()[0]
        after = catalog.load_table("default.t").metadata
        kept = set(_snapshot_ids(after))
        assert kept == expected
        for snapshot_id in kept:
            assert all(_exists(f) for f in needs[snapshot_id]), snapshot_id
            assert _read(con, snapshot_id) == reads[snapshot_id]
        still_needed = set().union(*(needs[i] for i in kept))
        only_expired = set().union(*(needs[i] for i in ids if i not in kept)) - still_needed
        assert {f for f in only_expired if not _exists(f)} == only_expired
        assert counts[0] == len(only_expired)
        assert {n: r.snapshot_id for n, r in after.refs.items()} == {
            n: r.snapshot_id for n, r in before.refs.items()
        }
        catalog.engine.dispose()
        con.close()


def test_may_expire_is_false_only_when_a_plan_by_the_table_settings_is_empty(
    tmp_path: Path,
) -> None:
    con = sqllake.connect(str(tmp_path / "lakehouse"), autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT)")
    for value in range(4):
        cur.execute("INSERT INTO t VALUES (?)", (value,))
        cur.execute("FLUSH t")
    cur.execute("ALTER TABLE t CREATE TAG kept")
    con.close()
    catalog = SqlCatalog(
        "sqllake",
        uri=f"sqlite:///{tmp_path}/lakehouse/catalog.db",
        warehouse=f"file://{tmp_path}/lakehouse",
    )
    metadata = catalog.load_table("default.t").metadata
    age = 1000
    metadata = metadata.model_copy(
        update={"properties": {**metadata.properties, MAX_SNAPSHOT_AGE: str(age)}}
    )
    stamps = sorted(s.timestamp_ms for s in metadata.snapshots)
    outcomes = set()
    for now in [stamps[0] + age - 1, stamps[0] + age, stamps[0] + age + 1, stamps[-1] + age + 1]:
        planned = not plan_expiry(metadata, ExpiryRequest(now_ms=now)).empty
        assert may_expire(metadata, now) or not planned
        outcomes.add((may_expire(metadata, now), planned))
    assert (False, False) in outcomes and (True, True) in outcomes
    catalog.engine.dispose()
