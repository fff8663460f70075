"""Which files snapshots need, and deleting files that nothing needs any more.

A snapshot needs its manifest list, the manifests that list names, and the data and
delete files those manifests list as live (added or existing). A file listed only as
deleted was removed by that snapshot: older snapshots needed it, this one does not.

Deleting is confined to the table's own folder, as for ``DROP TABLE ... PURGE``:
metadata may name files anywhere (another table, a shared folder), and those are never
touched here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFileContent
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot

from sqllake.read import manifests as cached
from sqllake.read.locations import is_under, normalize

_log = logging.getLogger("sqllake")


@dataclass
class FileSet:
    """Files by normalized path (scheme and authority dropped), each as recorded."""

    manifest_lists: dict[str, str] = field(default_factory=dict)
    manifests: dict[str, str] = field(default_factory=dict)
    content: dict[str, tuple[str, DataFileContent]] = field(default_factory=dict)
    statistics: dict[str, str] = field(default_factory=dict)

    def paths(self) -> set[str]:
        return {*self.manifest_lists, *self.manifests, *self.content, *self.statistics}


def _add(found: dict[str, str], recorded: str) -> None:
    found[normalize(recorded)] = recorded


def snapshot_files(io: FileIO, snapshots: Iterable[Snapshot]) -> FileSet:
    """Every file the snapshots need (see the module documentation)."""
    files = FileSet()
    seen_manifests: set[str] = set()
    for snapshot in snapshots:
        _add(files.manifest_lists, snapshot.manifest_list)
        for manifest in cached.manifests(io, snapshot):
            key = normalize(manifest.manifest_path)
            files.manifests[key] = manifest.manifest_path
            if key in seen_manifests:
                continue  # manifests are shared between snapshots: read each once
            seen_manifests.add(key)
            for entry in cached.live_entries(io, manifest):
                recorded = entry.data_file.file_path
                files.content[normalize(recorded)] = (recorded, entry.data_file.content)
    return files


def statistics_files(metadata: TableMetadata, snapshot_ids: Iterable[int]) -> dict[str, str]:
    """The statistics files (table and partition statistics) of some snapshots."""
    wanted = set(snapshot_ids)
    found: dict[str, str] = {}
    for statistics in (*metadata.statistics, *metadata.partition_statistics):
        if statistics.snapshot_id in wanted:
            _add(found, statistics.statistics_path)
    return found


def delete_under(io: FileIO, root: str, recorded: Iterable[str]) -> list[str]:
    """Delete the files among ``recorded`` that lie under the folder ``root``; the ones
    deleted. Files elsewhere, or already gone, are left and logged."""
    deleted = []
    for location in recorded:
        if not is_under(location, root):
            _log.warning("kept %s: it is outside the table's folder %s", location, root)
            continue
        try:
            io.delete(location)
        except FileNotFoundError:
            continue
        except OSError:
            _log.warning("could not delete %s", location, exc_info=True)
            continue
        deleted.append(location)
    return deleted
