"""``remove_orphan_files``: files in a table's folders that its metadata does not name.

Failed writes, commits that lost a race, and crashes leave files that no snapshot
references. A file is an orphan when it lies in the table's ``data/`` or ``metadata/``
folder (or the given folder under the table), is named by no metadata file the table
keeps, no snapshot of any branch or tag (manifest lists, manifests and the data and
delete files they list as live), and no statistics file; and it was last modified
before ``older_than``. The threshold (3 days by default, as in Spark) protects writes
in progress: another process may have written a file it has not committed yet.

Folders of other tables under this one (a nested schema's tables can live there) are
recognised by their own ``metadata/*.metadata.json`` and left alone.

Failure semantics: nothing the table references is ever deleted; a failure part-way
leaves some orphans for the next run.
"""

from __future__ import annotations

import posixpath

import pyarrow.fs as pafs

from sqllake.catalog import Lakehouse, TableName
from sqllake.errors import ProgrammingError
from sqllake.read.locations import is_under, normalize
from sqllake.storage import filesystem
from sqllake.write.reachable import delete_under, snapshot_files, statistics_files

DEFAULT_ORPHAN_AGE_MS = 3 * 24 * 3600 * 1000
_TABLE_FOLDERS = ("data", "metadata")
_KEPT_NAMES = frozenset({"version-hint.text"})  # the pointer of file-system catalogs


def _listed(folder: str) -> list[pafs.FileInfo]:
    fs, path = filesystem(folder)
    selector = pafs.FileSelector(path, recursive=True, allow_not_found=True)
    return [info for info in fs.get_file_info(selector) if info.type == pafs.FileType.File]


def _other_tables(files: list[pafs.FileInfo], own_metadata: str) -> set[str]:
    """Folders of other tables among the listed files: where a ``metadata/`` folder
    holds a ``.metadata.json`` that is not in this table's own metadata folder."""
    found = set()
    for info in files:
        folder = posixpath.dirname(info.path)
        if (
            info.path.endswith(".metadata.json")
            and posixpath.basename(folder) == "metadata"
            and normalize(folder) != own_metadata
        ):
            found.add(normalize(posixpath.dirname(folder)))
    return found


def _location(root: str, path: str) -> str:
    """A listed path as a location in the scheme of the table's location."""
    if "://" not in root:
        return path
    scheme = root.split("://", 1)[0]
    return f"{scheme}://{path}" if scheme != "file" else f"file://{path}"


def remove_orphan_files(
    lakehouse: Lakehouse,
    name: TableName,
    older_than_ms: int,
    location: str | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Find (and unless ``dry_run``, delete) the orphan files of ``name``; their locations."""
    table = lakehouse.load(name)
    root = table.metadata.location.rstrip("/")
    if location is not None and not is_under(location, root):
        raise ProgrammingError(f"location {location} is not inside table {name}'s folder {root}")
    folders = [location] if location is not None else [f"{root}/{f}" for f in _TABLE_FOLDERS]
    listed = [info for folder in folders for info in _listed(folder)]
    # Read the metadata after listing: whatever a commit made meanwhile names is kept.
    table = lakehouse.load(name)
    metadata = table.metadata
    referenced = snapshot_files(table.io, metadata.snapshots).paths()
    referenced |= set(statistics_files(metadata, (s.snapshot_id for s in metadata.snapshots)))
    referenced |= {normalize(e.metadata_file) for e in metadata.metadata_log}
    referenced.add(normalize(table.metadata_location))
    others = _other_tables(listed, normalize(f"{root}/metadata"))
    orphans = []
    for info in listed:
        path = normalize(info.path)
        if path in referenced or posixpath.basename(path) in _KEPT_NAMES:
            continue
        if any(path.startswith(other + "/") for other in others):
            continue
        if info.mtime_ns is None or info.mtime_ns // 1_000_000 >= older_than_ms:
            continue  # possibly a write in progress
        orphans.append(_location(root, info.path))
    orphans.sort()
    if dry_run:
        return orphans
    return delete_under(table.io, root, orphans)
