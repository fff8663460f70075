"""The behaviour sqllake relies on in its dependencies' internals (``sqllake/compat``)."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.arrow import ArrowFSWrapper
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, EqualTo, GreaterThanOrEqual
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.serializers import FromByteStream
from pyiceberg.table import ManifestGroupPlanner, Table
from pyiceberg.table.snapshots import Operation
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import LongType, NestedField, TimestampNanoType
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB

from sqllake.compat import duckdb as duckdb_compat
from sqllake.compat import fsspec as fsspec_compat
from sqllake.compat import iceberg_v3
from sqllake.compat import pyiceberg as compat
from sqllake.compat import sqlglot as sqlglot_compat
from sqllake.read import avro
from sqllake.read.metadata_tables import metadata_table
from sqllake.types import arrow_schema
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


def test_overwrite_files_commits_an_overwrite_or_a_delete_with_exact_totals(
    catalog: SqlCatalog,
) -> None:
    table = catalog.load_table("ns.t")
    table.append(_appended())
    table.append(_appended())
    first, second = _data_files(table)
    added = write_rows(table, "ns.t", pa.table({"a": pa.array([7], pa.int64())}).to_batches())
    transaction = table.transaction()
    compat.overwrite_files(transaction, [first], added, {"k": "v"})
    table = transaction.commit_transaction()
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None and summary.operation == Operation.OVERWRITE
    assert (summary["k"], summary["deleted-records"], summary["added-records"]) == ("v", "2", "1")
    assert summary["total-records"] == "3" and summary["total-data-files"] == "2"
    transaction = table.transaction()
    compat.overwrite_files(transaction, _data_files(table), [], {})
    table = transaction.commit_transaction()
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None and summary.operation == Operation.DELETE
    assert summary["total-records"] == "0" and summary["total-data-files"] == "0"
    assert table.scan().to_arrow().num_rows == 0
    transaction = table.transaction()
    with pytest.raises(ValidationException, match="Missing required files to delete"):
        compat.overwrite_files(transaction, [second], [], {})


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


# Scan planning: the planner's internal evaluators, and entries inheriting from their list.


def _partitioned(tmp_path: Path) -> Table:
    catalog = SqlCatalog("p", uri=f"sqlite:///{tmp_path}/p.db", warehouse=f"file://{tmp_path}")
    catalog.create_namespace("ns")
    schema = Schema(
        NestedField(1, "k", LongType(), required=False),
        NestedField(2, "v", LongType(), required=False),
    )
    spec = PartitionSpec(PartitionField(1, 1000, IdentityTransform(), "k"))
    table = catalog.create_table("ns.p", schema, partition_spec=spec)
    for k in range(3):  # one manifest per append; values 10k .. 10k+9
        rows = {"k": [k] * 10, "v": list(range(10 * k, 10 * k + 10))}
        table.append(pa.table({n: pa.array(c, pa.int64()) for n, c in rows.items()}))
    return catalog.load_table("ns.p")


def test_planner_evaluators_prune_as_pyiceberg_plans(tmp_path: Path) -> None:
    table = _partitioned(tmp_path)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    listed = snapshot.manifests(table.io)
    for row_filter in (EqualTo("k", 1), GreaterThanOrEqual("v", 25), AlwaysTrue()):
        planner = ManifestGroupPlanner(table.metadata, table.io, row_filter)
        kept = [m for m in listed if compat.manifest_evaluator(planner, 0)(m)]
        kept = [m for m in kept if compat.may_apply(planner, 0, m)]
        partition = compat.partition_evaluator(planner, 0)
        metrics = compat.metrics_evaluator(planner)
        ours = {
            e.data_file.file_path
            for m in kept
            for e in m.fetch_manifest_entry(table.io)
            if partition(e.data_file) and metrics(e.data_file)
        }
        theirs = {t.file.file_path for t in table.scan(row_filter=row_filter).plan_files()}
        assert ours == theirs
    # Partition summaries alone keep one of the three manifests for k = 1.
    planner = ManifestGroupPlanner(table.metadata, table.io, EqualTo("k", 1))
    assert sum(compat.manifest_evaluator(planner, 0)(m) for m in listed) == 1


def test_entries_inherit_sequence_numbers_from_the_list_that_names_their_manifest(
    tmp_path: Path,
) -> None:
    table = _partitioned(tmp_path)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    for manifest in snapshot.manifests(table.io):
        with table.io.new_input(manifest.manifest_path).open() as src:
            raw = avro.manifest_entries(src.read())
        assert all(e.sequence_number is None for e in raw)  # null in the file: inherited
        inherited = [compat.inherit_from_manifest(e, manifest) for e in raw]
        assert {e.sequence_number for e in inherited} == {manifest.sequence_number}
        assert {e.snapshot_id for e in inherited} == {manifest.added_snapshot_id}


def test_a_file_io_makes_its_filesystems_in_its_hook(tmp_path: Path) -> None:
    made: list[str] = []

    class Counting(compat.ArrowFileIO):
        def make_filesystem(self, scheme: str, netloc: str | None = None) -> pafs.FileSystem:
            made.append(scheme)
            return super().make_filesystem(scheme, netloc)

    io = Counting()
    path = tmp_path / "f.bin"
    with io.new_output(str(path)).create() as out:
        out.write(b"abc")
    with io.new_input(str(path)).open() as src:
        assert src.read() == b"abc"
    assert made == ["file"]  # made once, then cached by PyIceberg's file IO


# DuckDB: the one-pass submit of a streaming query.


def test_submit_runs_a_query_once_and_streams_its_batches() -> None:
    assert duckdb_compat.ONE_PASS
    con = duckdb.connect()
    result = duckdb_compat.submit_stream(con, "SELECT range AS n FROM range(25000)", None, 10_000)
    assert [c[0] for c in result.description] == ["n"]
    reader = result.arrow_reader()
    sizes = [batch.num_rows for batch in reader]
    assert sum(sizes) == 25_000 and max(sizes) <= 10_000 * 2
    params = duckdb_compat.submit_stream(con, "SELECT ? + 1 AS x", [41], 100)
    assert params.arrow_reader().read_all().to_pylist() == [{"x": 42}]


# fsspec: a filesystem implements ``_open``; the Arrow wrapper opens files for writing.


def test_fsspec_opens_through_the_public_hook(tmp_path: Path) -> None:
    opened: list[tuple[str, str]] = []
    local = ArrowFSWrapper(pafs.LocalFileSystem())

    class Recording(fsspec_compat.FileSystemBase):
        protocol = ("recorded",)
        cachable = False

        def open_raw(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            opened.append((path, mode))
            return fsspec_compat.open_raw(local, path, mode, **kwargs)

    fs = Recording()
    target = str(tmp_path / "x.txt")
    with fs.open(target, "wb") as out:
        out.write(b"hello")
    with fs.open(target, "rb") as src:
        assert src.read() == b"hello"
    assert [mode for _, mode in opened] == ["wb", "rb"]


# sqlglot: the parser's cursor, sub-parsers and hooks under public names.


class _Probe(sqlglot_compat.ParserBase):
    seen: ClassVar[list[str]] = []

    def parse_statement(self) -> exp.Expr | None:
        if self.curr and self.curr.text.upper() == "PROBE":
            start = self.curr
            self.advance()
            assert self.prev is start and self.index == 1
            name = self.parse_id_var()
            if self.match_text_seq("WITH", "OPTIONS"):
                options = self.parse_wrapped_csv(self.parse_assignment)
            else:
                options = []
            self.seen.append(self.find_sql(start, self.prev))
            return exp.Tuple(expressions=[name, *options])
        if self.match_text_seq("PARTS"):
            kind = self.parse_types()
            table = self.parse_table_parts()
            mark = self.index
            if self.parse_primary() is not None:  # read the string twice: step back
                self.retreat(mark)
                self.seen.append("stepped back")
            text, number = self.parse_string(), self.parse_number()
            ordered = self.parse_csv(self.parse_ordered)
            return exp.Tuple(expressions=[kind, table, text, number, *ordered])
        return super().parse_statement()

    def parse_describe(self) -> exp.Describe:
        self.seen.append("describe")
        return super().parse_describe()


class _ProbeDialect(DuckDB):
    Parser = _Probe


def _parse_one(text: str) -> exp.Expr:
    (tree,) = _ProbeDialect().parse(text)
    assert tree is not None
    return tree


def test_the_parser_base_exposes_the_cursor_and_routes_hooks() -> None:
    _Probe.seen.clear()
    tree = _parse_one("PROBE p WITH OPTIONS (a = 1, b = 2)")
    assert isinstance(tree, exp.Tuple) and len(tree.expressions) == 3
    assert _Probe.seen == ["PROBE p WITH OPTIONS (a = 1, b = 2)"]
    assert _parse_one("SELECT 1").sql() == "SELECT 1"  # the default is sqlglot's
    _parse_one("DESCRIBE t")
    assert _Probe.seen[-1] == "describe"


def test_the_parser_base_sub_parsers_and_stepping_back() -> None:
    _Probe.seen.clear()
    tree = _parse_one("PARTS INT s.t 'text' 42 x DESC, y")
    assert isinstance(tree, exp.Tuple)
    kinds = [type(e).__name__ for e in tree.expressions]
    assert kinds == ["DataType", "Table", "Literal", "Literal", "Ordered", "Ordered"]
    assert _Probe.seen == ["stepped back"]


def test_file_statistics_are_the_metrics_pyiceberg_writes(tmp_path: Path) -> None:
    schema = Schema(NestedField(1, "a", LongType(), required=False))
    path = tmp_path / "f.parquet"
    arrow = pa.table({"a": pa.array([3, None, 7], pa.int64())})
    pq.write_table(arrow.cast(arrow_schema(schema)), path)
    stats = compat.file_statistics(schema, {}, pq.read_metadata(path))
    assert stats["record_count"] == 3
    assert stats["value_counts"] == {1: 3} and stats["null_value_counts"] == {1: 1}
    assert stats["lower_bounds"][1] == (3).to_bytes(8, "little")
    assert stats["upper_bounds"][1] == (7).to_bytes(8, "little")
    truncated = compat.file_statistics(
        schema, {"write.metadata.metrics.default": "counts"}, pq.read_metadata(path)
    )
    assert truncated["value_counts"] == {1: 3} and not truncated["lower_bounds"]
