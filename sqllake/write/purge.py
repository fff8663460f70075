"""Deleting a table's files: DROP TABLE ... PURGE, and metadata files a commit replaced.

Only files in the table's own folder are ever deleted.

Metadata names files by absolute path, and nothing stops a table's metadata (written
by another engine, registered from elsewhere, or crafted) from naming files outside the
table: a shared data folder, another table, ``/etc``. Purging deletes what the metadata
names only where it lies under the table's folder (where the table actually lies, for a
moved or copied table); everything else is left alone and counted.

Failure semantics: the table is dropped from the catalog before anything is deleted, and
metadata files only once the commit that stopped listing them is confirmed, so a failure
part-way leaves unreferenced files, never a table pointing at deleted ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyiceberg.table import Table, TableProperties
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.utils.properties import property_as_bool

from sqllake.read.locations import is_under, opened_location

_log = logging.getLogger("sqllake")


@dataclass(frozen=True)
class Purged:
    deleted: int
    kept: int  # named by the metadata but outside the table's folder, or already gone


def table_files(table: Table) -> set[str]:
    """Every file the table's metadata names, as recorded: data and delete files, manifests,
    manifest lists, statistics files and metadata files."""
    io, metadata = table.io, table.metadata
    files = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    files.update(statistics.statistics_path for statistics in metadata.statistics)
    files.update(statistics.statistics_path for statistics in metadata.partition_statistics)
    for snapshot in metadata.snapshots:
        files.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            files.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
                files.add(entry.data_file.file_path)
    return files


def purge(table: Table) -> Purged:
    """Delete the files of ``table`` (already dropped from the catalog) under its folder."""
    root = opened_location(table.io, table.metadata.location)
    deleted = kept = 0
    for recorded in sorted(table_files(table)):
        location = opened_location(table.io, recorded)
        if not is_under(location, root):
            kept += 1
            continue
        try:
            table.io.delete(recorded)
            deleted += 1
        except FileNotFoundError:
            kept += 1
        except OSError:
            kept += 1
            _log.warning("could not delete %s of a purged table", location, exc_info=True)
    if kept:
        _log.warning("purge of %s kept %d files outside its folder or already gone", root, kept)
    return Purged(deleted, kept)


def remove_replaced_metadata(base: TableMetadata, table: Table) -> None:
    """Delete the metadata files ``base`` listed that ``table`` (committed on top of it) no
    longer lists, when the table asks for it (``write.metadata.delete-after-commit.enabled``;
    how many are kept is ``write.metadata.previous-versions-max``). A file that cannot be
    deleted stays: the commit has landed whatever happens here."""
    properties = table.metadata.properties
    enabled = TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED
    if not property_as_bool(properties, enabled, False):
        return
    kept = {entry.metadata_file for entry in table.metadata.metadata_log}
    replaced = {entry.metadata_file for entry in base.metadata_log} - kept
    root = opened_location(table.io, table.metadata.location)
    for recorded in sorted(replaced):
        if not is_under(opened_location(table.io, recorded), root):
            continue
        try:
            table.io.delete(recorded)
        except OSError:
            _log.warning("could not delete replaced metadata file %s", recorded, exc_info=True)
