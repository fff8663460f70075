"""Bulk writes and full scans stream: memory stays flat however large the data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# A child's own peak: Linux's VmHWM. ``ru_maxrss`` would carry over the RSS of the
# forking pytest process, which late in a full run is larger than the budget itself.
_PEAK = """
import resource
from pathlib import Path

def peak_mb():
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
"""

# ``layout`` follows the column list: the table's options or its partitioning.
_LOAD = """
import sqllake
con = sqllake.connect({warehouse!r}, autocommit=True)
cur = con.cursor()
cur.execute("CREATE TABLE {table} (id BIGINT, label VARCHAR, x DOUBLE) {layout}")
cur.execute("INSERT INTO {table} SELECT range, md5(range::VARCHAR) || md5((range + 1)::VARCHAR), "
            "random() FROM range({rows})")
print(peak_mb())
"""
WITH_TARGET_SIZE = "WITH ('write.target-file-size-bytes' = '67108864')"

_READ = """
import sqllake
con = sqllake.connect({warehouse!r}, autocommit=True)
cur = con.cursor()
cur.execute({query!r})
rows = sum(batch.num_rows for batch in cur.fetch_record_batch(rows=100_000))
assert rows == {rows}, rows
print(peak_mb())
"""

BUDGET_MB = 400


def _peak_mb(script: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK + script], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_bulk_load_and_streaming_scan_stay_within_a_small_budget(tmp_path: Path) -> None:
    """12 million rows of about 90 bytes (over 1 GB as Arrow) load, and are then scanned in
    record batches, and read as the change feed, each in a process of its own, within a
    budget a third of the data."""
    rows, warehouse = 12_000_000, str(tmp_path / "wh")
    script = _LOAD.format(warehouse=warehouse, rows=rows, table="big", layout=WITH_TARGET_SIZE)
    load_mb = _peak_mb(script)
    assert load_mb < BUDGET_MB, f"peak RSS {load_mb} MB while loading"
    scan_mb = _peak_mb(_READ.format(warehouse=warehouse, rows=rows, query="SELECT * FROM big"))
    assert scan_mb < BUDGET_MB, f"peak RSS {scan_mb} MB while scanning"
    feed = "SELECT * FROM table_changes('big')"
    changes_mb = _peak_mb(_READ.format(warehouse=warehouse, rows=rows, query=feed))
    assert changes_mb < BUDGET_MB, f"peak RSS {changes_mb} MB while reading the change feed"
    files = list((tmp_path / "wh" / "default" / "big" / "data").glob("*.parquet"))
    assert len(files) > 1  # rotated at the target size


# A partitioned write runs PyArrow's writer on one thread per core with 32 files open;
# the allocator keeps more per thread than DuckDB's single writer does.
PARTITIONED_BUDGET_MB = 480


@pytest.mark.slow
def test_a_partitioned_load_stays_within_the_budget(tmp_path: Path) -> None:
    """16 million rows (1.8 GB as Arrow) spread over 32 partitions in every batch: the
    open partitions share one buffer budget instead of holding a row group each."""
    rows, warehouse = 16_000_000, str(tmp_path / "wh")
    layout = "PARTITIONED BY (bucket(32, id))"
    load_mb = _peak_mb(_LOAD.format(warehouse=warehouse, rows=rows, table="spread", layout=layout))
    assert load_mb < PARTITIONED_BUDGET_MB, f"peak RSS {load_mb} MB while loading 32 partitions"
    count = _READ.format(warehouse=warehouse, rows=rows, query="SELECT * FROM spread")
    assert _peak_mb(count) < BUDGET_MB
