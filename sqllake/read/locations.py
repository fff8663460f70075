"""Moved and copied tables: map recorded paths onto where the table's files are now.

Iceberg metadata records absolute paths. A table copied to another bucket, downloaded
to debug, or written with a relative location (``./t``, ``data/warehouse/t``) records
paths that are not where its files are. The folder that holds the metadata file is the
truth for every recorded path under the recorded table location. Files recorded
elsewhere (``write.data.path``, object-store layouts, data folders beside the table
folder) are looked for beside the table's new folder: the recorded location's ancestors
map onto the actual folder's ancestors when the folder a file would be in is there
(checked once per folder, not per file). Prefixes given to ``register_table`` as
``path_map`` come before both. Writers also mix spellings of one location
(``hdfs://host:port/a/b`` in one file and ``/a/b`` in another), so paths are compared
without scheme and authority.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyiceberg.io import FileIO, InputFile, OutputFile
from pyiceberg.io.pyarrow import PyArrowFile
from pyiceberg.typedef import EMPTY_DICT, Properties

from sqllake.errors import OperationalError
from sqllake.read.paths import SCHEME_AND_AUTHORITY as _SCHEME_AND_AUTHORITY
from sqllake.read.paths import SQL_NORMALIZE as SQL_NORMALIZE
from sqllake.read.paths import local_path as local_path
from sqllake.read.paths import normalize as normalize
from sqllake.read.paths import table_root as table_root
from sqllake.storage import StorageFileIO


def _origin(location: str) -> str | None:
    """The scheme and authority of a location (``s3://bucket``); None for a local path."""
    found = _SCHEME_AND_AUTHORITY.match(location)
    if found is None or location[: found.end()].lower().startswith("file:"):
        return None
    return location[: found.end()].lower()


def _rest(bare: str, prefix: str) -> str | None:
    """What follows ``prefix`` in ``bare`` (``""`` or ``/...``), if ``bare`` is under it."""
    if prefix == "/":
        return bare if bare.startswith("/") else None
    if bare == prefix or bare.startswith(prefix + "/"):
        return bare[len(prefix) :]
    return None


def _local_exists(location: str) -> bool:
    return "://" not in local_path(location) and os.path.exists(local_path(location))


@dataclass(frozen=True)
class PathMapping:
    """One explicit prefix: paths recorded under ``recorded`` are read under ``actual``.

    A prefix with a scheme (``s3://old-bucket/wh``) matches only paths with that scheme
    and authority; a bare path (``/old/wh``) matches every spelling of it.
    """

    recorded: str
    actual: str

    def apply(self, path: str) -> str | None:
        origin = _origin(self.recorded)
        if origin is not None and _origin(path) != origin:
            return None
        rest = _rest(normalize(path), normalize(self.recorded))
        return None if rest is None else self.actual.rstrip("/") + rest


class Relocation:
    """Maps recorded paths onto where a moved table's files are."""

    def __init__(
        self,
        recorded_location: str,
        actual_root: str,
        mappings: Sequence[PathMapping] = (),
        exists: Callable[[str], bool] = _local_exists,
    ) -> None:
        self.recorded = normalize(recorded_location)
        self.actual = actual_root.rstrip("/")
        # The longest prefix wins, whatever order they were given in.
        self.mappings = tuple(sorted(mappings, key=lambda m: -len(normalize(m.recorded))))
        self._exists = exists
        self._beside: dict[str, str | None] = {}  # recorded folder -> actual one, or None

    def checked_by(self, exists: Callable[[str], bool]) -> Relocation:
        """The same mapping, looking for moved folders with ``exists``."""
        return Relocation(self.recorded, self.actual, self.mappings, exists)

    @property
    def needed(self) -> bool:
        return bool(self.mappings) or self.recorded != normalize(self.actual)

    def map(self, path: str) -> str:
        for mapping in self.mappings:
            mapped = mapping.apply(path)
            if mapped is not None:
                return mapped
        bare = normalize(path)
        rest = _rest(bare, self.recorded)
        if rest is not None:
            return self.actual + rest
        beside = self._map_beside(bare)
        if beside is not None:
            return beside
        if not os.path.isabs(bare) and "://" not in path:
            # A relative path outside the recorded location: relative to the table's parent.
            return f"{self.actual.rsplit('/', 1)[0]}/{bare}"
        return path

    def _map_beside(self, bare: str) -> str | None:
        """``bare`` mapped from an ancestor of the recorded location onto the same
        ancestor of the actual folder, if the folder it is in is there.

        ``/wh/db/t_data/f`` of a table recorded at ``/wh/db/t`` and found at
        ``/copy/db/t`` is read as ``/copy/db/t_data/f`` when ``/copy/db/t_data`` exists.
        """
        recorded, parts = self.recorded.split("/"), bare.split("/")
        if recorded[0] != parts[0] and "" in (recorded[0], parts[0]):
            return None  # one absolute, one relative: no common ancestor
        common = 0
        while common < min(len(recorded), len(parts)) and recorded[common] == parts[common]:
            common += 1
        if common >= len(parts) - 1 or common == len(recorded):
            return None  # an ancestor of the table folder itself, or under it
        head = _SCHEME_AND_AUTHORITY.match(self.actual)
        start = head.end() if head else 0
        body = self.actual[start:].split("/")
        keep = len(body) - (len(recorded) - common)
        if keep < (2 if body[0] == "" else 1):
            return None  # the actual folder has fewer ancestors than that
        ancestor = self.actual[:start] + "/".join(body[:keep])
        if normalize(ancestor) == normalize("/".join(recorded[:common]) or "/"):
            return None  # the same folder: the path is right as recorded
        folder = "/".join(parts[: common + 1])
        if folder not in self._beside:
            candidate = f"{ancestor}/{parts[common]}"
            self._beside[folder] = candidate if self._exists(candidate) else None
        found = self._beside[folder]
        if found is None:
            return None
        return "/".join([found, *parts[common + 1 :]])


class RelocatedFileIO(StorageFileIO):
    """PyIceberg file IO that reads and writes through a :class:`Relocation`."""

    def __init__(self, relocation: Relocation, properties: Properties = EMPTY_DICT) -> None:
        super().__init__(properties)
        self.relocation = relocation.checked_by(self._exists_as_is)

    def _exists_as_is(self, location: str) -> bool:
        """Whether a file or folder is there, with this IO's credentials (unmapped)."""
        try:
            return super().new_input(location).exists()
        except OSError:  # unreachable or forbidden: not a place to read from
            return False

    def new_input(self, location: str) -> PyArrowFile:
        return super().new_input(self.relocation.map(location))

    def new_output(self, location: str) -> PyArrowFile:
        return super().new_output(self.relocation.map(location))

    def delete(self, location: str | InputFile | OutputFile) -> None:
        if isinstance(location, str):
            location = self.relocation.map(location)
        super().delete(location)


def opened_location(io: FileIO, location: str) -> str:
    """The location ``io`` actually opens for a recorded ``location``."""
    return io.relocation.map(location) if isinstance(io, RelocatedFileIO) else location


def _scheme_and_path(location: str) -> tuple[str, str]:
    found = _SCHEME_AND_AUTHORITY.match(location)
    prefix = found.group(0) if found else ""
    path = posixpath.normpath(location[len(prefix) :] or "/")
    return ("" if prefix.startswith("file:") else prefix), path


def is_under(location: str, root: str) -> bool:
    """Whether ``location`` lies inside the folder ``root`` (same scheme and bucket;
    ``..`` resolved first, so a recorded path cannot climb out)."""
    scheme, path = _scheme_and_path(location)
    root_scheme, root_path = _scheme_and_path(root)
    if scheme != root_scheme:
        return False
    return path == root_path or path.startswith(root_path.rstrip("/") + "/")


def opened_path(io: FileIO, recorded: str, table: str) -> str:
    """Where DuckDB opens a data or delete file of ``table``.

    A moved table's local file that is not where it was mapped is an OperationalError
    naming it (the metadata and the storage disagree, as with a missing manifest),
    rather than DuckDB's error about a glob pattern. Files in object storage are not
    checked here: that would cost a request per file.
    """
    opened = local_path(opened_location(io, recorded))
    if not isinstance(io, RelocatedFileIO):
        return opened
    if "://" not in opened and not os.path.exists(opened):
        looked = opened if opened == local_path(recorded) else f"{opened} (recorded as {recorded})"
        raise OperationalError(
            f"table {table} cannot be read: its file {looked} does not exist; if its files "
            f"were moved, DROP TABLE {table} (its files stay) and register it again with "
            "path_map => MAP {'<recorded prefix>': '<where the files are now>'}"
        )
    return opened


def read_whole(io: FileIO, location: str) -> bytes:
    """A small file in full: table metadata, a manifest list, a manifest.

    A local file is read by the operating system directly: Arrow's first opened file in
    a process costs more than reading one of these. Other schemes go through ``io``,
    which holds their credentials.
    """
    local = local_path(opened_location(io, location))
    if "://" not in local and local.startswith("/"):
        with open(local, "rb") as file:
            return file.read()
    with io.new_input(location).open() as file:
        return file.read()
