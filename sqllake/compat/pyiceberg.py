"""PyIceberg internals sqllake relies on, and nothing else.

sqllake publishes a commit to a SQL catalog itself (see ``Lakehouse.commit``): PyIceberg
builds the new metadata and writes its file, and sqllake moves the table pointers, so
that it knows which metadata file a commit wrote. That is what lets it find out whether
a commit whose answer was lost landed, and move several tables' pointers in one database
transaction. PyIceberg has no public call for either step.

Table maintenance commits ``replace`` snapshots (a compaction, a manifest rewrite),
which PyIceberg's public API does not make; its snapshot producers do the work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyiceberg.catalog import MetastoreCatalog
from pyiceberg.manifest import DataFile, ManifestEntry, ManifestEntryStatus, ManifestFile
from pyiceberg.table import StagedTable, Table, Transaction
from pyiceberg.table.snapshots import Operation, Summary
from pyiceberg.table.update import AddSnapshotUpdate
from pyiceberg.table.update.snapshot import _OverwriteFiles, _SnapshotProducer
from pyiceberg.typedef import EMPTY_DICT


def stage(catalog: MetastoreCatalog, table: Table, transaction: Transaction) -> StagedTable:
    """The table as ``transaction`` would leave it, and the location of its next metadata
    file. Raises ``CommitFailedException`` when the transaction's requirements no longer
    hold for ``table`` (another writer moved it)."""
    return catalog._update_and_stage_table(  # noqa: SLF001
        table,
        table.name(),
        transaction._requirements,  # noqa: SLF001
        transaction._updates,  # noqa: SLF001
    )


def write_metadata(catalog: MetastoreCatalog, staged: StagedTable) -> None:
    """Write the staged metadata file (nothing references it until a pointer moves)."""
    catalog._write_metadata(staged.metadata, staged.io, staged.metadata_location)  # noqa: SLF001


def added_snapshot_ids(transaction: Transaction) -> frozenset[int]:
    """The ids of the snapshots ``transaction`` adds, read without applying its updates."""
    updates = transaction._updates  # noqa: SLF001
    return frozenset(u.snapshot.snapshot_id for u in updates if isinstance(u, AddSnapshotUpdate))


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
