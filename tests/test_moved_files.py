"""Moved tables whose files lie outside the table's recorded location.

PyIceberg writes these tables (``write.data.path`` beside the table folder, the
object-store layout in a folder beside the schema's, data anywhere else); the tests
then move or copy them, leaving nothing at the old paths, register them and read them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from tests.conftest import CatalogTarget, rows
from tests.other_catalog import OtherCatalog

ROWS = [(1, "a"), (2, "b"), (3, "c"), (4, "d")]


def _write(root: Path, name: str, properties: dict[str, str]) -> Path:
    """A table PyIceberg writes at ``root/db/name`` in two appends; its metadata file."""
    root.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog("writer", uri=f"sqlite:///{root}/writer.db", warehouse=f"file://{root}")
    try:
        catalog.create_namespace_if_not_exists("db")
        schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
        table = catalog.create_table(
            f"db.{name}", schema, location=f"file://{root}/db/{name}", properties=properties
        )
        for part in (ROWS[:2], ROWS[2:]):
            table.append(pa.Table.from_pylist([{"id": i, "name": n} for i, n in part], schema))
        return Path(table.metadata_location.removeprefix("file://"))
    finally:
        catalog.engine.dispose()


def _parquet(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def _register(con: sqllake.Connection, name: str, metadata: Path, path_map: str = "") -> None:
    extra = f", path_map => {path_map}" if path_map else ""
    con.cursor().execute(f"CALL system.register_table('{name}', '{metadata}'{extra})")


def test_data_folder_beside_the_table_is_read_after_a_move(
    con: sqllake.Connection, target: CatalogTarget, tmp_path: Path
) -> None:
    root = tmp_path / "wh"
    metadata = _write(root, "t", {"write.data.path": f"file://{root}/db/t_data"})
    assert len(_parquet(root / "db" / "t_data")) == 2 and not _parquet(root / "db" / "t")

    moved = tmp_path / "copy" / "wh"
    shutil.move(root, moved)
    _register(con, "t", moved / metadata.relative_to(root))
    assert rows(con, "SELECT * FROM t ORDER BY id") == ROWS
    assert rows(con, "SELECT count(*) FROM t WHERE id >= 3") == [(2,)]
    with target.connect() as fresh:
        assert rows(fresh, "SELECT * FROM t ORDER BY id") == ROWS


def test_object_store_layout_beside_the_schema_folder_is_read_from_a_copy(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    root = tmp_path / "wh"
    properties = {
        "write.object-storage.enabled": "true",
        "write.data.path": f"file://{root}/objects",
    }
    metadata = _write(root, "t", properties)
    assert len(_parquet(root / "objects")) == 2

    copy = tmp_path / "downloaded"
    shutil.copytree(root, copy)
    shutil.rmtree(root)
    _register(con, "t", copy / metadata.relative_to(root))
    assert rows(con, "SELECT * FROM t ORDER BY id") == ROWS


def _moved_apart(tmp_path: Path) -> tuple[Path, Path]:
    """A table whose data lay in an unrelated folder, both moved to unrelated places:
    (the moved metadata file, the data's old folder)."""
    root, data = tmp_path / "wh", tmp_path / "bucket" / "t_data"
    metadata = _write(root, "t", {"write.data.path": f"file://{data}"})
    shutil.move(root, tmp_path / "copy")
    shutil.move(data.parent, tmp_path / "archive")
    return tmp_path / "copy" / metadata.relative_to(root), data


def test_a_file_not_found_after_mapping_is_an_operational_error_naming_it(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    metadata, old_data = _moved_apart(tmp_path)
    _register(con, "t", metadata)
    with pytest.raises(sqllake.OperationalError, match="path_map") as raised:
        rows(con, "SELECT * FROM t")
    message = str(raised.value)
    assert f"file {old_data}/" in message and ".parquet does not exist" in message
    assert "table default.t cannot be read" in message

    # Mapped, but one file is gone from where the map says: that file is named.
    con.cursor().execute("DROP TABLE t")
    new_data = tmp_path / "archive" / "t_data"
    _register(con, "t", metadata, f"MAP {{'{old_data}': '{new_data}'}}")
    gone = _parquet(new_data)[0]
    gone.unlink()
    with pytest.raises(sqllake.OperationalError, match=f"file {gone} \\(recorded as "):
        rows(con, "SELECT * FROM t")


def test_path_map_reads_files_moved_anywhere_and_is_remembered(
    con: sqllake.Connection, target: CatalogTarget, tmp_path: Path
) -> None:
    metadata, old_data = _moved_apart(tmp_path)
    _register(con, "t", metadata, f"MAP {{'file://{old_data.parent}/': '{tmp_path}/archive/'}}")
    assert rows(con, "SELECT * FROM t ORDER BY id") == ROWS

    with target.connect(autocommit=True) as fresh:
        assert rows(fresh, "SELECT * FROM t ORDER BY id") == ROWS
        fresh.cursor().execute("ALTER TABLE t RENAME TO u")
    with target.connect(autocommit=True) as fresh:
        assert rows(fresh, "SELECT count(*), sum(id) FROM u") == [(4, 10)]
        # A table registered again under the old name does not inherit the map.
        fresh.cursor().execute(f"CALL system.register_table('t', '{metadata}')")
        with pytest.raises(sqllake.OperationalError, match="does not exist"):
            rows(fresh, "SELECT * FROM t")


def test_a_table_dropped_and_registered_again_reads_through_its_new_map(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    metadata, old_data = _moved_apart(tmp_path)
    _register(con, "t", metadata)
    with pytest.raises(sqllake.OperationalError, match="does not exist"):
        rows(con, "SELECT * FROM t")
    con.cursor().execute("DROP TABLE t")
    _register(con, "t", metadata, f"MAP {{'{old_data}': '{tmp_path}/archive/t_data'}}")
    assert rows(con, "SELECT * FROM t ORDER BY id") == ROWS


def test_writes_to_a_table_read_through_a_path_map_are_refused(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    """The table itself has not moved, only its data: still, a write would put files and
    metadata where the table's metadata says, not where the map reads them."""
    data = tmp_path / "bucket" / "t_data"
    metadata = _write(tmp_path / "wh", "t", {"write.data.path": f"file://{data}"})
    shutil.move(data.parent, tmp_path / "archive")
    _register(con, "t", metadata, f"MAP {{'{data}': '{tmp_path}/archive/t_data'}}")
    before = sorted(metadata.parent.iterdir())
    with pytest.raises(sqllake.NotSupportedError, match="cannot write"):
        con.cursor().execute("INSERT INTO t VALUES (5, 'e')")
    assert rows(con, "SELECT * FROM t ORDER BY id") == ROWS
    assert not data.exists() and sorted(metadata.parent.iterdir()) == before


def test_path_map_needs_a_catalog_with_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other catalogs (REST, Glue...) have no database to keep the map in: refused; the
    folders beside a moved table are still found without one."""
    root = tmp_path / "wh"
    metadata = _write(root, "t", {"write.data.path": f"file://{root}/db/t_data"})
    shutil.move(root, tmp_path / "copy")
    moved = tmp_path / "copy" / metadata.relative_to(root)
    other = OtherCatalog("other", uri=f"sqlite:///{tmp_path}/other.db", warehouse="file:///x")
    monkeypatch.setattr("sqllake.catalog._open", lambda settings: other)
    with sqllake.connect(str(tmp_path / "lake"), catalog="other", autocommit=True) as con:
        assert con.session.lakehouse.sql_engine is None
        with pytest.raises(sqllake.NotSupportedError, match="path_map needs a SQL catalog"):
            _register(con, "t", moved, f"MAP {{'/x': '{tmp_path}'}}")
        assert rows(con, "SHOW TABLES") == []
        _register(con, "t", moved)
        assert rows(con, "SELECT * FROM t ORDER BY id") == ROWS
