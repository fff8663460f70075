"""Tables read from a folder other than the location their metadata records.

A copied table keeps recording the original paths; sqllake maps them onto the folder
that holds the metadata (``sqllake.read.locations``). Tests delete the original after
copying, so a read that still touched it would fail instead of passing by accident.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from pyiceberg.table import Table

import sqllake
from sqllake.catalog import TableName
from sqllake.read.locations import SQL_NORMALIZE, PathMapping, Relocation, normalize
from tests.conftest import CatalogTarget, rows
from tests.iceberg_writes import commit_deletes, equality_delete_file, position_delete_file


def _table(con: sqllake.Connection, name: str) -> Table:
    return con.session.lakehouse.load(TableName(("default",), name))


def _copy_and_register(con: sqllake.Connection, source: Table, dest: Path, name: str) -> None:
    """Copy the table folder to ``dest`` and register the copy's current metadata file."""
    folder = Path(source.location().removeprefix("file://"))
    shutil.copytree(folder, dest)
    metadata = dest / "metadata" / source.metadata_location.rsplit("/", 1)[1]
    con.cursor().execute(f"CALL system.register_table('{name}', '{metadata}')")


def test_copied_table_reads_without_the_original(
    lake: sqllake.Connection, target: CatalogTarget, tmp_path: Path
) -> None:
    cur = lake.cursor()
    cur.execute("CREATE TABLE t (id INT, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    cur.execute("INSERT INTO t VALUES (3, 'c')")
    original = _table(lake, "t")
    expected = [(1, "a"), (2, "b"), (3, "c")]
    assert rows(lake, "SELECT * FROM t ORDER BY id") == expected

    _copy_and_register(lake, original, tmp_path / "elsewhere" / "t_copy", "t_copy")
    assert rows(lake, "SELECT * FROM t_copy ORDER BY id") == expected

    shutil.rmtree(target.warehouse / "default" / "t")
    assert rows(lake, "SELECT * FROM t_copy ORDER BY id") == expected
    assert rows(lake, "SELECT count(*), sum(id) FROM t_copy WHERE id >= 2") == [(2, 5)]
    with sqllake.connect(str(target.warehouse), catalog=target.catalog) as fresh:
        assert rows(fresh, "SELECT * FROM t_copy ORDER BY id") == expected


def test_writes_to_a_copied_table_are_refused_and_change_nothing(
    lake: sqllake.Connection, target: CatalogTarget, tmp_path: Path
) -> None:
    """PyIceberg would commit new metadata under the recorded (original) location, so a
    write to a copy is refused: the copy keeps its rows, the original is not recreated."""
    cur = lake.cursor()
    cur.execute("CREATE TABLE t (id INT, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    _copy_and_register(lake, _table(lake, "t"), tmp_path / "elsewhere" / "t_copy", "t_copy")
    original = target.warehouse / "default" / "t"
    shutil.rmtree(original)

    with pytest.raises(sqllake.NotSupportedError, match="moved or copied"):
        cur.execute("INSERT INTO t_copy VALUES (3, 'c')")
    with pytest.raises(sqllake.NotSupportedError, match="moved or copied"):
        cur.execute("ALTER TABLE t_copy ADD COLUMN extra INT")
    assert rows(lake, "SELECT * FROM t_copy ORDER BY id") == [(1, "a"), (2, "b")]
    assert not original.exists()


def test_copied_table_keeps_its_deletes(
    lake: sqllake.Connection, target: CatalogTarget, tmp_path: Path
) -> None:
    """Delete files name data files by their original paths, which no longer exist."""
    cur = lake.cursor()
    cur.execute("CREATE TABLE t (id INT, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    cur.execute("INSERT INTO t VALUES (4, 'd'), (5, 'e')")
    table = _table(lake, "t")
    first = next(
        task.file.file_path for task in table.scan().plan_files() if task.file.record_count == 3
    )
    table = commit_deletes(table, [position_delete_file(table, [(first, 1)])])
    table = commit_deletes(table, [equality_delete_file(table, ["name"], [("e",)])])
    expected = [(1, "a"), (3, "c"), (4, "d")]
    assert rows(lake, "SELECT * FROM t ORDER BY id") == expected

    _copy_and_register(lake, table, tmp_path / "elsewhere" / "t_copy", "t_copy")
    shutil.rmtree(target.warehouse / "default" / "t")
    assert rows(lake, "SELECT * FROM t_copy ORDER BY id") == expected


def test_position_delete_naming_another_spelling_of_the_path(lake: sqllake.Connection) -> None:
    cur = lake.cursor()
    cur.execute("CREATE TABLE t (id INT, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    cur.execute("INSERT INTO t VALUES (4, 'd'), (5, 'e')")
    table = _table(lake, "t")
    files = {task.file.record_count: task.file.file_path for task in table.scan().plan_files()}
    recorded = files[3]
    assert recorded.startswith("file:///")
    # The same file as a writer on another file system client would name it.
    spelled = "hdfs://host:8020" + recorded.removeprefix("file://")
    with table.io.new_input(recorded).open() as stream:
        ids = pq.read_table(stream).column("id").to_pylist()
    assert ids == [1, 2, 3]
    table = commit_deletes(table, [position_delete_file(table, [(spelled, 0), (spelled, 2)])])
    assert rows(lake, "SELECT * FROM t ORDER BY id") == [(2, "b"), (4, "d"), (5, "e")]


@pytest.mark.parametrize(
    ("spelling", "normalized"),
    [
        ("hdfs://host:9000/a/b", "/a/b"),
        ("/a/b", "/a/b"),
        ("/a/b/", "/a/b"),
        ("file:/x/y", "/x/y"),
        ("file:///x/y", "/x/y"),
        ("s3a://bucket/x/y", "/x/y"),
        ("./t", "t"),
        ("t/", "t"),
        ("././t/data", "t/data"),
        ("/", "/"),
    ],
)
def test_normalize(spelling: str, normalized: str) -> None:
    assert normalize(spelling) == normalized


@pytest.mark.parametrize(
    "path",
    [
        "hdfs://host:9000/a/b/data/f.parquet",
        "/a/b/data/f.parquet",
        "file:/a/b/data/f.parquet",
        "file:///a/b/data/f.parquet",
        "s3://bucket/a/b/data/f.parquet",
        "./t/data/f.parquet",
        "t/data/f.parquet",
    ],
)
def test_sql_normalize_agrees_with_normalize(path: str) -> None:
    """Delete files are matched in DuckDB, data files in Python: both must agree."""
    sql = f"SELECT {SQL_NORMALIZE.format('?')}"
    assert duckdb.execute(sql, [path]).fetchall() == [(normalize(path),)]


def test_relocation_with_scheme_and_authority() -> None:
    moved = Relocation("hdfs://host:9000/a/b", "/real/b")
    assert moved.needed
    for spelling in [
        "hdfs://host:9000/a/b/data/f.parquet",
        "hdfs://other:8020/a/b/data/f.parquet",
        "/a/b/data/f.parquet",
        "file:/a/b/data/f.parquet",
    ]:
        assert moved.map(spelling) == "/real/b/data/f.parquet", spelling
    assert moved.map("hdfs://host:9000/a/b") == "/real/b"
    # A sibling whose name starts like the table's is not under it.
    assert (
        moved.map("hdfs://host:9000/a/bc/data/f.parquet") == "hdfs://host:9000/a/bc/data/f.parquet"
    )
    assert moved.map("/elsewhere/f.parquet") == "/elsewhere/f.parquet"


def test_relocation_not_needed_for_the_same_folder() -> None:
    assert not Relocation("/a/b", "/a/b").needed
    assert not Relocation("file:///a/b", "/a/b").needed
    assert not Relocation("hdfs://host:9000/a/b/", "file:/a/b").needed
    assert Relocation("/a/b", "/a/c").needed


def test_relocation_of_relative_locations() -> None:
    relative = Relocation("./t", "/wh/t")
    assert relative.needed
    assert relative.map("./t/data/f.parquet") == "/wh/t/data/f.parquet"
    assert relative.map("t/data/f.parquet") == "/wh/t/data/f.parquet"
    # Relative, but outside the table: relative to the table's parent folder.
    assert relative.map("other/f.parquet") == "/wh/other/f.parquet"

    trailing = Relocation("t/", "/wh/t/")
    assert trailing.map("t/metadata/v1.metadata.json") == "/wh/t/metadata/v1.metadata.json"

    nested = Relocation("data/warehouse/t", "/wh/t")
    assert nested.map("./data/warehouse/t/data/f.parquet") == "/wh/t/data/f.parquet"


def test_relocation_of_file_uri_spellings() -> None:
    moved = Relocation("file:/x/y", "/real/y")
    assert moved.map("file:///x/y/data/f.parquet") == "/real/y/data/f.parquet"
    assert moved.map("file:/x/y/data/f.parquet") == "/real/y/data/f.parquet"
    assert moved.map("/x/y/data/f.parquet") == "/real/y/data/f.parquet"
    assert moved.map("file:/x/yy/f.parquet") == "file:/x/yy/f.parquet"


class _Folders:
    """A stand-in for storage: which folders exist, and every question asked."""

    def __init__(self, *present: str) -> None:
        self.present = set(present)
        self.asked: list[str] = []

    def __call__(self, location: str) -> bool:
        self.asked.append(location)
        return location in self.present


def test_folders_beside_the_table_are_found_beside_its_new_folder() -> None:
    folders = _Folders("/copy/db/t_data", "/copy/objects")
    moved = Relocation("/wh/db/t", "/copy/db/t", exists=folders)
    for i in range(3):
        assert moved.map(f"/wh/db/t_data/f{i}.parquet") == f"/copy/db/t_data/f{i}.parquet"
        # The object-store layout under a folder beside the schema's: two levels up.
        assert (
            moved.map(f"file:///wh/objects/01/10/f{i}.parquet")
            == f"/copy/objects/01/10/f{i}.parquet"
        )
        # Not copied: read where recorded (or reported missing there).
        assert moved.map(f"/wh/db/gone/f{i}.parquet") == f"/wh/db/gone/f{i}.parquet"
    assert moved.map("/wh/db/t/data/f.parquet") == "/copy/db/t/data/f.parquet"
    # Each folder is looked for once, however many files it holds.
    assert sorted(folders.asked) == ["/copy/db/gone", "/copy/db/t_data", "/copy/objects"]


def test_folders_are_not_looked_for_where_nothing_maps() -> None:
    folders = _Folders("/copy/db/t_data", "/other")
    # Copied within its schema folder: every folder beside it is where it was.
    assert Relocation("/wh/db/t", "/wh/db/t2", exists=folders).map("/wh/db/t_data/f") == (
        "/wh/db/t_data/f"
    )
    # Beyond the new folder's ancestors (here the file system's root): left as recorded.
    moved = Relocation("/wh/db/t", "/copy/t", exists=folders)
    assert moved.map("/wh/other/f") == "/wh/other/f"
    assert moved.map("/elsewhere/f") == "/elsewhere/f"
    assert folders.asked == []


def test_folders_beside_a_table_copied_out_of_object_storage() -> None:
    folders = _Folders("file:///copy/db/t_data")
    moved = Relocation("s3://bucket/wh/db/t", "file:///copy/db/t", exists=folders)
    assert moved.map("s3://bucket/wh/db/t_data/f") == "file:///copy/db/t_data/f"
    assert moved.map("s3a://bucket/wh/db/t/data/f") == "file:///copy/db/t/data/f"


def test_folders_beside_a_relative_location() -> None:
    folders = _Folders("/wh/t2")
    nested = Relocation("data/warehouse/t", "/wh/t", exists=folders)
    assert nested.map("data/warehouse/t2/f.parquet") == "/wh/t2/f.parquet"
    # Not found beside it: relative to the table's parent folder, as before.
    assert nested.map("data/other/f.parquet") == "/wh/data/other/f.parquet"


def test_path_mappings_come_first_and_the_longest_prefix_wins() -> None:
    moved = Relocation(
        "s3://old/wh/db/t",
        "/copy/db/t",
        [PathMapping("s3://old/wh/", "/mnt/wh"), PathMapping("s3://old/wh/common", "/mnt/common")],
        exists=_Folders(),
    )
    assert moved.needed
    assert moved.map("s3://old/wh/common/f") == "/mnt/common/f"
    assert moved.map("s3://old/wh/other/f") == "/mnt/wh/other/f"
    assert moved.map("s3://old/wh/db/t/data/f") == "/mnt/wh/db/t/data/f"
    # A prefix with a scheme names that bucket only, and whole folder names only.
    assert moved.map("s3://new/wh/other/f") == "s3://new/wh/other/f"
    assert moved.map("s3://old/whx/f") == "s3://old/whx/f"


def test_a_path_mapping_without_scheme_matches_every_spelling() -> None:
    mapping = PathMapping("/data/wh", "/mnt/wh")
    assert mapping.apply("hdfs://nn:8020/data/wh/f") == "/mnt/wh/f"
    assert mapping.apply("file:/data/wh/f") == "/mnt/wh/f"
    assert mapping.apply("/data/wh") == "/mnt/wh"
    assert mapping.apply("/data/whx/f") is None
    # A table at its recorded place still needs the mapping for its other files.
    assert Relocation("/a/t", "/a/t", [mapping]).needed
