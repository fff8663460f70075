"""``rewrite_manifests``: list the current snapshot's data files in few manifests.

Every append adds a manifest, so a table written in many small commits is planned from
many small manifests. The rewrite reads the live entries of the current snapshot's data
manifests and writes them again, sorted by partition (so a query's partition filter
skips whole manifests), in manifests of about ``commit.manifest.target-size-bytes``
(8 MiB, Iceberg's default), one partition spec per manifest. The entries keep their
snapshot ids and sequence numbers: what every file holds and which deletes apply to it
stay the same. Delete manifests are kept as they are.

Failure semantics: one ``replace`` snapshot, or nothing. A conflicting commit by another
writer makes the rewrite start again on the new snapshot; the manifests written for
the lost attempt are left unreferenced (``remove_orphan_files`` finds them).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.io import FileIO
from pyiceberg.manifest import ManifestContent, ManifestEntry, ManifestFile
from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata

from sqllake.catalog import Lakehouse, TableName
from sqllake.compat import pyiceberg as compat
from sqllake.read import manifests as cached
from sqllake.write.buffer import SEQUENCE_PROPERTY, flushed_sequence
from sqllake.write.commit import commit_with_retry

TARGET_SIZE = "commit.manifest.target-size-bytes"
DEFAULT_TARGET_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class ManifestsRewritten:
    rewritten: int = 0
    added: int = 0


def _partition_order(entry: ManifestEntry) -> tuple[tuple[bool, str], ...]:
    partition = entry.data_file.partition
    values = (partition[i] for i in range(len(partition)))
    return tuple((value is None, repr(value)) for value in values)


def _chunks(entries: list[ManifestEntry], per_manifest: int) -> list[list[ManifestEntry]]:
    ordered = sorted(entries, key=_partition_order)
    return [ordered[i : i + per_manifest] for i in range(0, len(ordered), per_manifest)]


def plan_rewrite(
    io: FileIO, metadata: TableMetadata, target: int, spec_id: int | None
) -> tuple[list[compat.ManifestGroup], list[ManifestFile], int]:
    """The new manifests' entries, the manifests kept as they are, and how many are
    replaced; nothing to replace when fewer than two data manifests would go."""
    snapshot = metadata.current_snapshot()
    if snapshot is None:
        return [], [], 0
    listed = cached.manifests(io, snapshot)
    chosen = [
        m
        for m in listed
        if m.content == ManifestContent.DATA and (spec_id is None or m.partition_spec_id == spec_id)
    ]
    if len(chosen) < 2:
        return [], list(listed), 0
    groups: list[compat.ManifestGroup] = []
    for spec in sorted({m.partition_spec_id for m in chosen}):
        of_spec = [m for m in chosen if m.partition_spec_id == spec]
        # Read by PyIceberg, which writes them back: what it decodes it can encode.
        entries = [e for m in of_spec for e in m.fetch_manifest_entry(io, discard_deleted=True)]
        size = sum(m.manifest_length for m in of_spec)
        per_entry = max(1, size // max(1, len(entries)))
        groups += [(spec, chunk) for chunk in _chunks(entries, max(1, target // per_entry))]
    kept = [m for m in listed if m not in chosen]
    return groups, kept, len(chosen)


def rewrite_manifests(
    lakehouse: Lakehouse, name: TableName, spec_id: int | None = None
) -> ManifestsRewritten:
    """Rewrite the data manifests of ``name``'s current snapshot (of one spec, if given)."""
    done: list[ManifestsRewritten] = []
    io = lakehouse.load(name).io

    def apply(transaction: Transaction) -> None:
        metadata = transaction.table_metadata
        target = int(metadata.properties.get(TARGET_SIZE, DEFAULT_TARGET_SIZE))
        groups, kept, replaced = plan_rewrite(io, metadata, target, spec_id)
        done[:] = [ManifestsRewritten(replaced, len(groups))]
        if not replaced:
            return
        mark = flushed_sequence(metadata)
        summary = {SEQUENCE_PROPERTY: str(mark)} if mark else {}
        compat.rewrite_manifests(transaction, groups, kept, summary)

    commit_with_retry(lakehouse, [(name, apply)])
    return done[0] if done else ManifestsRewritten()
