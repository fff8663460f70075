"""PyIceberg internals sqllake relies on, and nothing else.

sqllake publishes a commit to a SQL catalog itself (see ``Lakehouse.commit``): PyIceberg
builds the new metadata, sqllake writes its file and moves the table pointers, so that
it knows which metadata file a commit wrote. That is what lets it find out whether a
commit whose answer was lost landed, and move several tables' pointers in one database
transaction. PyIceberg has no public call for either step.

A commit's cost must not grow with the table's history. PyIceberg rebuilds a
transaction's view of the metadata from the base and deep-copies all of it each time
the view is read (a snapshot producer reads it a dozen times per append), so a table
with a long history pays for its whole history many times per commit.
:class:`IncrementalTransaction` applies each update once, on top of the previous
result, sharing every unchanged part: PyIceberg's metadata models are frozen.

Table maintenance commits ``replace`` snapshots (a compaction, a manifest rewrite),
which PyIceberg's public API does not make; its snapshot producers do the work.

Scan planning prunes manifests and files with the evaluators PyIceberg's planner builds
in methods it keeps internal, and decoded manifest entries inherit sequence numbers as
PyIceberg's own reader makes them do (``read/manifests.py``). Written files get their
column metrics from the helpers PyIceberg's writer uses, which it does not document. A
file IO that chooses its own Arrow filesystems (``storage.py``) overrides the one hook
PyIceberg makes them in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.catalog import MetastoreCatalog
from pyiceberg.exceptions import ValidationException
from pyiceberg.io.pyarrow import (
    PyArrowFileIO,
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
)
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    _inherit_from_manifest,
)
from pyiceberg.schema import Schema
from pyiceberg.serializers import Compressor
from pyiceberg.table import (
    ManifestGroupPlanner,
    StagedTable,
    Table,
    TableProperties,
    Transaction,
)
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata, TableMetadataCommonFields
from pyiceberg.table.snapshots import Operation, Snapshot, Summary
from pyiceberg.table.update import (
    AddSnapshotUpdate,
    _apply_table_update,
    _TableMetadataUpdateContext,
    _update_table_metadata_log,
)
from pyiceberg.table.update.snapshot import _MergeAppendFiles, _OverwriteFiles, _SnapshotProducer
from pyiceberg.typedef import EMPTY_DICT
from pyiceberg.utils.config import Config
from pyiceberg.utils.datetime import datetime_to_millis
from pyiceberg.utils.properties import property_as_bool


class IncrementalTransaction(Transaction):
    """A PyIceberg transaction whose view of the metadata costs one step per update."""

    def __init__(self, table: Table) -> None:
        super().__init__(table, autocommit=False)
        self._base = table.metadata
        self._applied: tuple[Any, ...] = ()
        self._context = _TableMetadataUpdateContext()
        self._view = table.metadata

    @property
    def table_metadata(self) -> TableMetadata:
        updates = self._updates
        done = len(self._applied)
        if len(updates) < done or any(
            a is not b for a, b in zip(updates[:done], self._applied, strict=True)
        ):
            # The updates were replaced, not extended: start again from the base.
            self._applied, self._view, done = (), self._base, 0
            self._context = _TableMetadataUpdateContext()
        for update in updates[done:]:
            self._view = _apply_table_update(update, self._view, self._context)
        if len(updates) > done:
            self._applied = tuple(updates)
            self._view.spec().check_compatible(self._view.schema())
            self._view.sort_order().check_compatible(self._view.schema())
        if self._context.has_changes() and self._view.last_updated_ms == self._base.last_updated_ms:
            now = datetime_to_millis(datetime.now().astimezone())
            self._view = self._view.model_copy(update={"last_updated_ms": now})
        return self._view


# PyIceberg finds a snapshot by id with a scan of the snapshot list, about ten times per
# commit: on a table with a long history the scans outweigh the commit. Metadata models
# are frozen and every update builds a new snapshot list, so an index made for one list
# object stays true for as long as that object lives (the index keeps it alive).
_SNAPSHOT_INDEXES: dict[int, tuple[list[Snapshot], dict[int, Snapshot]]] = {}
_SNAPSHOT_INDEXES_KEPT = 32
_SCAN_BELOW = 16  # a short list is scanned faster than indexed


def _snapshot_by_id(self: TableMetadataCommonFields, snapshot_id: int) -> Snapshot | None:
    snapshots = self.snapshots
    if len(snapshots) < _SCAN_BELOW:
        return next((s for s in snapshots if s.snapshot_id == snapshot_id), None)
    entry = _SNAPSHOT_INDEXES.get(id(snapshots))
    if entry is None or entry[0] is not snapshots:
        if len(_SNAPSHOT_INDEXES) >= _SNAPSHOT_INDEXES_KEPT:
            _SNAPSHOT_INDEXES.clear()
        entry = (snapshots, {s.snapshot_id: s for s in snapshots})
        _SNAPSHOT_INDEXES[id(snapshots)] = entry
    return entry[1].get(snapshot_id)


def install() -> None:
    """Make PyIceberg's snapshot lookup by id a dictionary lookup (see above)."""
    TableMetadataCommonFields.snapshot_by_id = _snapshot_by_id  # type: ignore[method-assign]


def transaction(table: Table) -> Transaction:
    return IncrementalTransaction(table)


def has_updates(transaction: Transaction) -> bool:
    return bool(transaction._updates)  # noqa: SLF001


def stage(catalog: MetastoreCatalog, table: Table, transaction: Transaction) -> StagedTable:
    """The table as ``transaction`` would leave it, and the location of its next metadata
    file (the metadata log gains ``table``'s file). Raises ``CommitFailedException`` when
    the transaction's requirements no longer hold for ``table``."""
    for requirement in transaction._requirements:  # noqa: SLF001
        requirement.validate(table.metadata)
    metadata = _update_table_metadata_log(
        transaction.table_metadata, table.metadata_location, table.metadata.last_updated_ms
    )
    version = catalog._parse_metadata_version(table.metadata_location) + 1  # noqa: SLF001
    provider = load_location_provider(metadata.location, metadata.properties)
    location = provider.new_table_metadata_file_location(version)
    io = catalog._load_file_io(properties=metadata.properties, location=location)  # noqa: SLF001
    return StagedTable(table.name(), metadata, location, io, catalog)


def write_metadata(staged: StagedTable) -> None:
    """Write the staged metadata file (nothing references it until a pointer moves)."""
    location = staged.metadata_location
    data = Compressor.get_compressor(location).bytes_compressor()(metadata_json(staged.metadata))
    with staged.io.new_output(location).create(overwrite=False) as output:
        output.write(data)


# A metadata file lists every retained snapshot, and PyIceberg serializes each through a
# Python serializer: the JSON of a snapshot never changes, so it is made once.
_SNAPSHOT_JSON: OrderedDict[tuple[int, str, int, bool], str] = OrderedDict()
_SNAPSHOT_JSON_KEPT = 20_000


def _snapshot_json(snapshot: Snapshot, format_version: int, exclude_none: bool) -> str:
    key = (snapshot.snapshot_id, snapshot.manifest_list, format_version, exclude_none)
    text = _SNAPSHOT_JSON.get(key)
    if text is None:
        if format_version == 1:  # v1 snapshots carry no sequence number (as PyIceberg writes)
            snapshot = snapshot.model_copy(update={"sequence_number": None})
        text = snapshot.model_dump_json(exclude_none=exclude_none)
        _SNAPSHOT_JSON[key] = text
        if len(_SNAPSHOT_JSON) > _SNAPSHOT_JSON_KEPT:
            _SNAPSHOT_JSON.popitem(last=False)
    else:
        _SNAPSHOT_JSON.move_to_end(key)
    return text


def metadata_json(metadata: TableMetadata) -> bytes:
    """The table metadata as PyIceberg writes it, with each snapshot's JSON made once."""
    # PyIceberg's setting for writing a missing current snapshot id as -1.
    exclude_none = not Config().get_bool("legacy-current-snapshot-id")
    head = metadata.model_dump_json(exclude={"snapshots"}, exclude_none=exclude_none)
    body = _snapshots_json(metadata.snapshots, metadata.format_version, exclude_none)
    return f'{head[:-1]},"snapshots":[{body}]}}'.encode()


# The snapshot list of a commit is mostly the list of the commit before with one or two
# snapshots added: its JSON is that list's JSON and theirs, not one piece per snapshot.
_BODIES: OrderedDict[tuple[object, ...], str] = OrderedDict()
_BODIES_KEPT = 8
_APPENDED_AT_MOST = 3


def _snapshots_json(snapshots: Sequence[Snapshot], format_version: int, exclude_none: bool) -> str:
    keys = tuple((s.snapshot_id, s.manifest_list) for s in snapshots)
    found = _BODIES.get((format_version, exclude_none, keys))
    if found is not None:
        return found
    parts: list[str] = []
    for added in range(1, min(_APPENDED_AT_MOST, len(keys) - 1) + 1):
        before = _BODIES.get((format_version, exclude_none, keys[:-added]))
        if before is not None:
            parts = [
                before,
                *(_snapshot_json(s, format_version, exclude_none) for s in snapshots[-added:]),
            ]
            break
    else:
        parts = [_snapshot_json(s, format_version, exclude_none) for s in snapshots]
    body = ",".join(parts)
    _BODIES[(format_version, exclude_none, keys)] = body
    if len(_BODIES) > _BODIES_KEPT:
        _BODIES.popitem(last=False)
    return body


def added_snapshot_ids(transaction: Transaction) -> frozenset[int]:
    """The ids of the snapshots ``transaction`` adds, read without applying its updates."""
    updates = transaction._updates  # noqa: SLF001
    return frozenset(u.snapshot.snapshot_id for u in updates if isinstance(u, AddSnapshotUpdate))


# Iceberg's Java library merges small manifests on append unless a table says not to;
# PyIceberg's default is the opposite.
MERGE_ON_APPEND_DEFAULT = True


def merging_append(transaction: Transaction, summary: dict[str, str]) -> _MergeAppendFiles:
    """An append producer that merges manifests as Iceberg's Java library does: on by
    default, ``commit.manifest.min-count-to-merge`` (100) and
    ``commit.manifest.target-size-bytes`` (8 MiB) as PyIceberg reads them."""
    producer = transaction.update_snapshot(snapshot_properties=summary).merge_append()
    properties = transaction.table_metadata.properties
    producer._merge_enabled = property_as_bool(  # noqa: SLF001
        properties, TableProperties.MANIFEST_MERGE_ENABLED, MERGE_ON_APPEND_DEFAULT
    )
    return producer


def _as_replace(summary: Summary) -> Summary:
    """PyIceberg computes the totals of append, overwrite and delete summaries only: a
    replace is summed as an overwrite (the same files added and removed), then named."""
    return Summary(Operation.REPLACE, **summary.additional_properties)


class _ReplaceFiles(_OverwriteFiles):
    def _summary(self, snapshot_properties: dict[str, str] = EMPTY_DICT) -> Summary:
        return _as_replace(super()._summary(snapshot_properties))


def replace_files(
    transaction: Transaction,
    removed: Iterable[DataFile],
    added: Iterable[DataFile],
    summary: dict[str, str],
) -> None:
    """Stage one ``replace`` snapshot on the main branch that removes the data files
    ``removed`` and adds ``added``: the same rows, in other files (a compaction).

    PyIceberg's public writes make ``append``, ``overwrite`` and ``delete`` snapshots
    only; its overwrite producer takes the operation to record. It raises
    ``ValidationException`` when a file in ``removed`` is not live in the main branch.
    """
    io = transaction._table.io  # noqa: SLF001
    producer = _ReplaceFiles(
        operation=Operation.OVERWRITE, transaction=transaction, io=io, snapshot_properties=summary
    )
    for file in removed:
        producer.delete_data_file(file)
    for file in added:
        producer.append_data_file(file)
    producer.commit()


class _OverwriteWithDeletes(_OverwriteFiles):
    """PyIceberg's overwrite producer, also removing delete files: their removal counts in
    the summary's totals, and their manifests go once every entry in them is removed
    (PyIceberg would rewrite a partly removed delete manifest as a data manifest: callers
    remove delete files only with all their manifest's entries)."""

    def _validate_required_deletes(self, deleted_entries: list[ManifestEntry]) -> None:
        found = {entry.data_file for entry in deleted_entries}
        missing = [
            f.file_path
            for f in self._deleted_data_files
            if f.content == DataFileContent.DATA and f not in found
        ]
        if missing:
            raise ValidationException(f"Missing required files to delete: {missing[0]}")


def overwrite_files(
    transaction: Transaction,
    removed: Iterable[DataFile],
    added: Iterable[DataFile],
    summary: dict[str, str],
) -> None:
    """Stage one snapshot on the main branch that removes the data and delete files
    ``removed`` and adds the data files ``added``: an ``overwrite`` (a ``delete`` when it
    adds nothing), as INSERT OVERWRITE and TRUNCATE commit. PyIceberg's public overwrite
    takes a row filter and rewrites the files it partly matches itself; sqllake has
    already decided which files go.
    """
    added = list(added)
    operation = Operation.OVERWRITE if added else Operation.DELETE
    io = transaction._table.io  # noqa: SLF001
    producer = _OverwriteWithDeletes(
        operation=operation, transaction=transaction, io=io, snapshot_properties=summary
    )
    for file in removed:
        producer.delete_data_file(file)
    for file in added:
        producer.append_data_file(file)
    producer.commit()


# Entries of one new manifest: the spec they were written with, and the entries.
ManifestGroup = tuple[int, Sequence[ManifestEntry]]


class _ManifestRewrite(_SnapshotProducer["_ManifestRewrite"]):
    """A ``replace`` snapshot whose data files are the parent's, listed in new manifests."""

    def __init__(
        self,
        transaction: Transaction,
        groups: Sequence[ManifestGroup],
        kept: Sequence[ManifestFile],
        summary: dict[str, str],
    ) -> None:
        super().__init__(
            Operation.OVERWRITE,  # summed as an overwrite, named a replace (see _as_replace)
            transaction,
            transaction._table.io,  # noqa: SLF001
            snapshot_properties=summary,
        )
        self._groups = groups
        self._kept = kept

    def _deleted_entries(self) -> list[ManifestEntry]:
        return []

    def _summary(self, snapshot_properties: dict[str, str] = EMPTY_DICT) -> Summary:
        return _as_replace(super()._summary(snapshot_properties))

    def _existing_manifests(self) -> list[ManifestFile]:
        written = []
        for spec_id, entries in self._groups:
            with self.new_manifest_writer(self.spec(spec_id)) as writer:
                for entry in entries:
                    writer.add_entry(
                        ManifestEntry.from_args(
                            status=ManifestEntryStatus.EXISTING,
                            snapshot_id=entry.snapshot_id,
                            sequence_number=entry.sequence_number,
                            file_sequence_number=entry.file_sequence_number,
                            data_file=entry.data_file,
                        )
                    )
            written.append(writer.to_manifest_file())
        return written + list(self._kept)


def rewrite_manifests(
    transaction: Transaction,
    groups: Sequence[ManifestGroup],
    kept: Sequence[ManifestFile],
    summary: dict[str, str],
) -> None:
    """Stage a ``replace`` snapshot on the main branch listing the live entries of
    ``groups`` in one new manifest per group (as existing entries: their snapshot ids
    and sequence numbers stay), and the manifests ``kept`` as they are.

    PyIceberg 0.12 has no manifest rewrite; its snapshot producer writes the manifest
    list and the summary (totals carried from the parent), this class the manifests.
    """
    _ManifestRewrite(transaction, groups, kept, summary).commit()


# Scan planning.


def inherit_from_manifest(entry: ManifestEntry, manifest: ManifestFile) -> ManifestEntry:
    """``entry`` with the sequence numbers, snapshot id and spec it inherits from the
    manifest list entry naming its manifest, as PyIceberg's manifest reader gives it."""
    return _inherit_from_manifest(entry, manifest)


def manifest_evaluator(
    planner: ManifestGroupPlanner, spec_id: int
) -> Callable[[ManifestFile], bool]:
    """Whether a manifest of spec ``spec_id`` may hold rows matching the planner's filter
    (by its partition summaries)."""
    return planner._build_manifest_evaluator(spec_id)  # noqa: SLF001


def partition_evaluator(planner: ManifestGroupPlanner, spec_id: int) -> Callable[[DataFile], bool]:
    """Whether a data file's partition may hold rows matching the planner's filter."""
    return planner._build_partition_evaluator(spec_id)  # noqa: SLF001


def metrics_evaluator(planner: ManifestGroupPlanner) -> Callable[[DataFile], bool]:
    """Whether a data file's column metrics allow rows matching the planner's filter."""
    return planner._build_metrics_evaluator()  # noqa: SLF001


def may_apply(planner: ManifestGroupPlanner, oldest_data: int, manifest: ManifestFile) -> bool:
    """False for a delete manifest older than all data (it deletes nothing read)."""
    return planner._check_sequence_number(oldest_data, manifest)  # noqa: SLF001


def file_statistics(
    schema: Schema, properties: dict[str, str], metadata: pq.FileMetaData
) -> dict[str, Any]:
    """A written Parquet file's row count and column metrics as ``DataFile`` fields, as
    PyIceberg's own writer computes them (helpers of its ``io/pyarrow.py`` it does not
    document); ``properties`` choose the metrics mode of each column."""
    stats = data_file_statistics_from_parquet_metadata(
        parquet_metadata=metadata,
        stats_columns=compute_statistics_plan(schema, properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    return stats.to_serialized_dict()


# File IO.


class ArrowFileIO(PyArrowFileIO):
    """PyIceberg's Arrow file IO with its filesystem factory as a public hook."""

    def _initialize_fs(self, scheme: str, netloc: str | None = None) -> pafs.FileSystem:
        return self.make_filesystem(scheme, netloc)

    def make_filesystem(self, scheme: str, netloc: str | None = None) -> pafs.FileSystem:
        """The Arrow filesystem for ``scheme``/``netloc`` (PyIceberg caches it per IO)."""
        return super()._initialize_fs(scheme, netloc)
