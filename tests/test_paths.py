"""Names become paths: no schema or table name leads outside the warehouse, and PURGE
deletes only files under the table's own folder."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sqllake
from sqllake.catalog import TableName, path_segment
from tests.conftest import CatalogTarget, rows


def _outside(tmp_path: Path, warehouse: Path) -> set[Path]:
    """Everything under ``tmp_path`` that is not the warehouse or inside it."""
    return {p for p in tmp_path.rglob("*") if not p.is_relative_to(warehouse)}


def test_names_that_climb_stay_inside_the_warehouse(
    con: sqllake.Connection, target: CatalogTarget, tmp_path: Path
) -> None:
    outside_before = _outside(tmp_path, target.warehouse)
    con.execute('CREATE SCHEMA "../.."')
    con.execute('CREATE TABLE "../.."."../../x" (a INT)')
    con.execute('CREATE TABLE "../../y" (a INT)')
    con.execute('CREATE TABLE "." (a INT)')
    con.execute('INSERT INTO "../.."."../../x" VALUES (1)')
    con.execute('INSERT INTO "../../y" VALUES (2)')
    con.execute('FLUSH "../.."."../../x"')
    con.execute('FLUSH "../../y"')
    assert rows(con, 'SELECT a FROM "../.."."../../x"') == [(1,)]
    assert rows(con, 'SELECT a FROM "../../y"') == [(2,)]
    outside_after = _outside(tmp_path, target.warehouse)
    assert outside_after == outside_before
    for name in [TableName(("../..",), "../../x"), TableName(("default",), "../../y")]:
        location = con.session.lakehouse.load(name).metadata.location
        assert Path(location.removeprefix("file://")).resolve().is_relative_to(target.warehouse)
    con.execute('DROP TABLE "../../y" PURGE')
    assert _outside(tmp_path, target.warehouse) == outside_before


@pytest.mark.parametrize(
    "name", ["a/b", "a%2Fb", "q?", "h#1", "star*", "[x]", "{a,b}", "c:d", "..", "it's"]
)
def test_names_with_path_characters_round_trip(con: sqllake.Connection, name: str) -> None:
    quoted = name.replace('"', '""')
    con.execute(f'CREATE TABLE "{quoted}" (a INT)')
    con.execute(f'INSERT INTO "{quoted}" VALUES (7)')
    con.execute(f'FLUSH "{quoted}"')
    assert rows(con, f'SELECT a FROM "{quoted}"') == [(7,)]
    assert rows(con, f'SELECT count(*) FROM "{quoted}$files"') == [(1,)]


def test_two_names_never_share_a_folder() -> None:
    names = ["a/b", "a%2Fb", "a%252Fb", ".", "%2E", "..", "%2E%2E", "a b", "a%20b"]
    assert len({path_segment(n) for n in names}) == len(names)
    assert all("/" not in path_segment(n) and path_segment(n) not in (".", "..") for n in names)


def test_an_empty_name_is_refused(con: sqllake.Connection) -> None:
    with pytest.raises(sqllake.ProgrammingError, match="cannot be empty"):
        con.execute('CREATE TABLE "" (a INT)')


def test_purge_keeps_files_outside_the_table_folder(
    lake: sqllake.Connection, tmp_path: Path
) -> None:
    lake.execute("CREATE TABLE t (a BIGINT)")
    lake.execute("INSERT INTO t VALUES (1)")
    outside = tmp_path / "shared-data" / "keep.parquet"
    outside.parent.mkdir()
    pq.write_table(pa.table({"a": pa.array([2], pa.int64())}), outside)
    # Another engine adds a file that lies outside the table's folder.
    table = lake.session.lakehouse.load(TableName(("default",), "t"))
    table.add_files([str(outside)])
    assert rows(lake, "SELECT a FROM t ORDER BY a") == [(1,), (2,)]
    folder = Path(table.metadata.location.removeprefix("file://"))
    lake.execute("DROP TABLE t PURGE")
    assert outside.is_file()
    assert not [p for p in folder.rglob("*") if p.is_file()]
