"""The behaviour sqllake relies on in its dependencies' internals (``sqllake/compat``)."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.serializers import FromByteStream
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation
from pyiceberg.types import LongType, NestedField, TimestampNanoType

from sqllake.compat import iceberg_v3
from sqllake.compat import pyiceberg as compat
from sqllake.read.metadata_tables import metadata_table
from sqllake.write.rows import write_rows
from tests.conftest import CORPUS


@pytest.fixture
def catalog(tmp_path: Path) -> SqlCatalog:
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/c.db", warehouse=f"file://{tmp_path}")
    catalog.create_namespace("ns")
    catalog.create_table("ns.t", Schema(NestedField(1, "a", LongType(), required=False)))
    return catalog


def _appended() -> pa.Table:
    return pa.table({"a": pa.array([1, 2], pa.int64())})


def test_stage_builds_the_next_metadata_without_publishing_it(catalog: SqlCatalog) -> None:
    table = catalog.load_table("ns.t")
    transaction = table.transaction()
    transaction.append(_appended())
    staged = compat.stage(catalog, table, transaction)
    added = compat.added_snapshot_ids(transaction)
    assert len(added) == 1
    assert {s.snapshot_id for s in staged.metadata.snapshots} == added
    assert staged.metadata_location != table.metadata_location
    assert staged.metadata_location.split("/")[-1].startswith("00001-")
    compat.write_metadata(staged)
    assert Path(staged.metadata_location.removeprefix("file://")).is_file()
    # Nothing was published: the catalog still names the old metadata file.
    assert catalog.load_table("ns.t").metadata_location == table.metadata_location


def test_stage_refuses_a_transaction_built_on_a_moved_table(catalog: SqlCatalog) -> None:
    stale = catalog.load_table("ns.t")
    catalog.load_table("ns.t").append(_appended())
    transaction = stale.transaction()
    transaction.append(_appended())
    with pytest.raises(CommitFailedException):
        compat.stage(catalog, catalog.load_table("ns.t"), transaction)


def test_a_change_without_a_snapshot_adds_no_snapshot_ids(catalog: SqlCatalog) -> None:
    transaction = catalog.load_table("ns.t").transaction()
    transaction.set_properties(k="v")
    assert compat.added_snapshot_ids(transaction) == frozenset()


def test_metadata_tables_of_a_table_without_snapshots_have_pyiceberg_columns(
    catalog: SqlCatalog,
) -> None:
    table = catalog.load_table("ns.t")
    empty = {kind: metadata_table(table, kind).schema for kind in ("entries", "partitions")}
    table.append(_appended())
    table = catalog.load_table("ns.t")
    assert empty["entries"].equals(table.inspect.entries().schema, check_metadata=True)
    assert empty["partitions"].equals(table.inspect.partitions().schema, check_metadata=True)


@pytest.mark.parametrize(("value", "merges"), [(None, True), ("true", True), ("false", False)])
def test_appends_merge_manifests_unless_the_table_says_not_to(
    catalog: SqlCatalog, value: str | None, merges: bool
) -> None:
    table = catalog.load_table("ns.t")
    if value is not None:
        table.transaction().set_properties(
            {"commit.manifest-merge.enabled": value}
        ).commit_transaction()
        table = catalog.load_table("ns.t")
    producer = compat.merging_append(compat.transaction(table), {})
    assert producer._merge_enabled is merges  # noqa: SLF001 - what the adapter sets


def test_an_incremental_transaction_sees_what_pyiceberg_would(catalog: SqlCatalog) -> None:
    table = catalog.load_table("ns.t")
    ours, theirs = compat.transaction(table), table.transaction()
    for transaction in (ours, theirs):
        transaction.set_properties(k="v")
        transaction.update_schema().add_column("b", LongType()).commit()
        transaction.append(_appended().append_column("b", pa.array([None, 1], pa.int64())))
    mine, expected = ours.table_metadata, theirs.table_metadata
    assert mine.properties == expected.properties
    assert mine.schema() == expected.schema()
    assert [s.summary for s in mine.snapshots] == [s.summary for s in expected.snapshots]


@pytest.mark.parametrize(
    "metadata_file",
    sorted(p for p in CORPUS.glob("*/metadata/*.metadata.json")),
    ids=lambda p: f"{p.parent.parent.name}/{p.name[:12]}",
)
def test_metadata_json_is_what_pyiceberg_writes(metadata_file: Path) -> None:
    metadata = FromByteStream.table_metadata(BytesIO(metadata_file.read_bytes()))
    for _ in range(2):  # the second time from the snapshot cache
        ours = json.loads(compat.metadata_json(metadata))
        assert ours == json.loads(metadata.model_dump_json())


def test_written_metadata_reads_back_equal(catalog: SqlCatalog) -> None:
    table = catalog.load_table("ns.t")
    table.append(_appended())
    table = catalog.load_table("ns.t")
    transaction = compat.transaction(table)
    transaction.append(_appended())
    staged = compat.stage(catalog, table, transaction)
    compat.write_metadata(staged)
    path = Path(staged.metadata_location.removeprefix("file://"))
    assert FromByteStream.table_metadata(BytesIO(path.read_bytes())) == staged.metadata


def test_v3_metadata_is_written_with_its_row_lineage_start(tmp_path: Path) -> None:
    """PyIceberg 0.12 refuses to serialize v3 metadata; iceberg_v3.install lifts that."""
    iceberg_v3.install()
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/c.db", warehouse=f"file://{tmp_path}")
    catalog.create_namespace("ns")
    schema = Schema(NestedField(1, "a", LongType(), required=False, write_default=5))
    table = catalog.create_table("ns.t", schema, properties={"format-version": "3"})
    written = json.loads(Path(table.metadata_location.removeprefix("file://")).read_text())
    assert written["format-version"] == 3 and written["next-row-id"] == 0
    # Fresh field ids keep the column's defaults (PyIceberg's own visitor drops them).
    assert written["schemas"][0]["fields"][0]["write-default"] == 5


def test_an_upgrade_to_v3_starts_row_lineage(catalog: SqlCatalog) -> None:
    iceberg_v3.install()
    table = catalog.load_table("ns.t")
    transaction = table.transaction()
    iceberg_v3.upgrade(transaction, 3)
    assert transaction.table_metadata.format_version == 3
    assert transaction.table_metadata.next_row_id == 0  # type: ignore[union-attr]


def test_v3_appends_keep_first_row_ids_that_pyiceberg_reads_away(catalog: SqlCatalog) -> None:
    iceberg_v3.install()
    table = catalog.load_table("ns.t")
    with table.transaction() as transaction:
        iceberg_v3.upgrade(transaction, 3)
    table = catalog.load_table("ns.t")
    with table.transaction() as transaction:
        iceberg_v3.append(transaction, [], {})
    snapshot = catalog.load_table("ns.t").current_snapshot()
    assert snapshot is not None and snapshot.first_row_id == 0 and snapshot.added_rows == 0
    assert iceberg_v3.manifests(table.io, snapshot.manifest_list) == []


def test_nanosecond_columns_keep_counts_not_bounds() -> None:
    schema = Schema(
        NestedField(1, "ts", TimestampNanoType(), required=False),
        NestedField(2, "n", LongType(), required=False),
    )
    found = iceberg_v3.statistics_properties(schema, {"x": "y"})
    assert found == {"x": "y", "write.metadata.metrics.column.ts": "counts"}


def _data_files(table: Table) -> list[DataFile]:
    return [task.file for task in table.scan().plan_files()]


def test_replace_files_commits_a_replace_snapshot_with_the_same_totals(
    catalog: SqlCatalog,
) -> None:
    table = catalog.load_table("ns.t")
    table.append(_appended())
    table.append(_appended())
    old = _data_files(table)
    rows = pa.table({"a": pa.array([1, 2, 1, 2], pa.int64())}).to_batches()
    new = write_rows(table, "ns.t", rows)
    transaction = table.transaction()
    compat.replace_files(transaction, old, new, {"k": "v"})
    table = transaction.commit_transaction()
    snapshot = table.current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    assert snapshot.summary.operation == Operation.REPLACE
    assert snapshot.summary["k"] == "v"
    assert snapshot.summary["total-records"] == "4"
    assert snapshot.summary["total-data-files"] == "1"
    assert sorted(table.scan().to_arrow().column("a").to_pylist()) == [1, 1, 2, 2]


def test_replace_files_refuses_to_remove_a_file_that_is_not_live(catalog: SqlCatalog) -> None:
    table = catalog.load_table("ns.t")
    table.append(_appended())
    gone = _data_files(table)
    table.overwrite(_appended())  # the first file is no longer live
    transaction = catalog.load_table("ns.t").transaction()
    with pytest.raises(ValidationException, match="Missing required files to delete"):
        compat.replace_files(transaction, gone, [], {})


def test_rewrite_manifests_keeps_entries_their_snapshot_and_sequence_numbers(
    catalog: SqlCatalog,
) -> None:
    table = catalog.load_table("ns.t")
    for _ in range(3):
        table.append(_appended())
    snapshot = table.current_snapshot()
    assert snapshot is not None
    listed = snapshot.manifests(table.io)
    entries = [e for m in listed for e in m.fetch_manifest_entry(table.io)]
    before = {(e.data_file.file_path, e.snapshot_id, e.sequence_number) for e in entries}
    transaction = table.transaction()
    compat.rewrite_manifests(transaction, [(0, entries)], [], {})
    table = transaction.commit_transaction()
    snapshot = table.current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    assert snapshot.summary.operation == Operation.REPLACE
    (manifest,) = snapshot.manifests(table.io)
    after = {
        (e.data_file.file_path, e.snapshot_id, e.sequence_number)
        for e in manifest.fetch_manifest_entry(table.io)
    }
    assert after == before
    assert snapshot.summary["total-records"] == "6"
    assert table.scan().to_arrow().num_rows == 6


def test_snapshot_lookup_by_id_finds_every_snapshot_of_a_long_history(
    catalog: SqlCatalog,
) -> None:
    table = catalog.create_table("ns.long", schema=pa.schema([("a", pa.int64())]))
    for value in range(compat._SCAN_BELOW + 4):
        table.append(pa.table({"a": [value]}))
    metadata = table.metadata
    for snapshot in metadata.snapshots:
        assert metadata.snapshot_by_id(snapshot.snapshot_id) is snapshot
    assert metadata.snapshot_by_id(-1) is None
    # A later metadata (a new snapshot list) is looked up in its own list.
    table.append(pa.table({"a": [0]}))
    newest = table.metadata.current_snapshot()
    assert newest is not None and newest.snapshot_id not in {
        s.snapshot_id for s in metadata.snapshots
    }
    assert table.metadata.snapshot_by_id(newest.snapshot_id) is newest
    assert metadata.snapshot_by_id(newest.snapshot_id) is None
