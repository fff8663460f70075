"""Bulk writes and full scans stream: memory stays flat however large the data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_LOAD = """
import resource, sqllake
con = sqllake.connect({warehouse!r}, autocommit=True)
cur = con.cursor()
cur.execute("CREATE TABLE big (id BIGINT, label VARCHAR, x DOUBLE) "
            "WITH ('write.target-file-size-bytes' = '67108864')")
cur.execute("INSERT INTO big SELECT range, md5(range::VARCHAR) || md5((range + 1)::VARCHAR), "
            "random() FROM range({rows})")
after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
cur.execute("SELECT * FROM big")
rows = sum(batch.num_rows for batch in cur.fetch_record_batch(rows=100_000))
assert rows == {rows}, rows
print(after_load, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
def test_bulk_load_and_streaming_scan_stay_within_a_small_budget(tmp_path: Path) -> None:
    """12 million rows of about 90 bytes (over 1 GB as Arrow) load and scan in well under
    that: the budget below is a third of the data's size."""
    rows = 12_000_000
    script = _LOAD.format(warehouse=str(tmp_path / "wh"), rows=rows)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    load_mb, scan_mb = (int(v) for v in done.stdout.split())
    assert load_mb < 400, f"peak RSS {load_mb} MB while loading"
    assert scan_mb < 400, f"peak RSS {scan_mb} MB while scanning"
    files = list((tmp_path / "wh" / "default" / "big" / "data").glob("*.parquet"))
    assert len(files) > 1  # rotated at the target size
