"""DuckDB 1.5.5 and its iceberg extension, run from a virtual environment of their own.

sqllake needs DuckDB 2, so the DuckDB release whose iceberg extension users read
sqllake's tables with lives in another environment, prepared from
``tests/peer-duckdb.txt`` (``.ci/run`` does it). ``SQLLAKE_PEER_DUCKDB`` names its
Python; without it the tests that need it are skipped, saying how to prepare it, unless
``SQLLAKE_REQUIRE_PEER_DUCKDB=1`` (set by ``.ci/run``) makes that a failure. Nothing is
downloaded at run time: the extensions are loaded from the files their PyPI packages
install, the avro extension first (the iceberg extension needs it).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ENVIRONMENT = "SQLLAKE_PEER_DUCKDB"
REQUIRE = "SQLLAKE_REQUIRE_PEER_DUCKDB"
REQUIREMENTS = Path(__file__).with_name("peer-duckdb.txt")

# Run in the peer's Python: argv = metadata file, output Parquet file, SQL over ``t``.
_SCRIPT = """
import pathlib, sys
import duckdb, duckdb_extension_avro, duckdb_extension_iceberg
con = duckdb.connect()
for package, name in ((duckdb_extension_avro, "avro"), (duckdb_extension_iceberg, "iceberg")):
    (path,) = pathlib.Path(package.__file__).parent.glob(f"extensions/*/{name}.duckdb_extension")
    con.execute(f"LOAD '{path}'")
metadata, out, sql = sys.argv[1:4]
def literal(text):
    return "'" + text.replace("'", "''") + "'"
con.execute(f"CREATE VIEW t AS SELECT * FROM iceberg_scan({literal(metadata)})")
con.execute(f"COPY ({sql}) TO {literal(out)} (FORMAT parquet)")
print(duckdb.__version__)
"""


def peer_python() -> str:
    """The peer environment's Python; skips (or fails, when required) without one."""
    python = os.environ.get(ENVIRONMENT)
    if not python:
        message = (
            f"{ENVIRONMENT} is not set: prepare DuckDB 1.5.5 in a virtual environment of "
            f"its own (python3 -m venv peer && peer/bin/pip install -r {REQUIREMENTS}) and "
            f"set {ENVIRONMENT}=peer/bin/python"
        )
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(message)
        pytest.skip(message)
    if not Path(python).is_file():
        pytest.fail(f"{ENVIRONMENT}={python} is not a file")
    return python


def iceberg_scan(metadata_location: str, sql: str = "SELECT * FROM t") -> pa.Table:
    """``sql`` over ``t``, DuckDB 1.5.5's ``iceberg_scan`` of the table whose metadata
    file is ``metadata_location`` (a local table), as an Arrow table."""
    python = peer_python()
    metadata = metadata_location.removeprefix("file://")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rows.parquet"
        done = subprocess.run(
            [python, "-c", _SCRIPT, metadata, str(out), sql],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"DuckDB {python} failed:\n{done.stderr}")
        assert done.stdout.strip() == "1.5.5", done.stdout
        return pq.read_table(out)
