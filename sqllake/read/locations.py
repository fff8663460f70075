"""Moved and copied tables: map recorded paths onto the folder that holds the table.

Iceberg metadata records absolute paths. A table copied to another bucket, downloaded
to debug, or written with a relative location (``./t``, ``data/warehouse/t``) records
paths that are not where its files are. The folder that holds the metadata file is the
truth: every recorded path under the recorded table location is mapped onto it.
Writers also mix spellings of one location (``hdfs://host:port/a/b`` in one file and
``/a/b`` in another), so paths are compared without scheme and authority.
"""

from __future__ import annotations

import os
import posixpath
import re

from pyiceberg.io import FileIO, InputFile, OutputFile
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO
from pyiceberg.typedef import EMPTY_DICT, Properties

_SCHEME_AND_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?")

# The same normalization in DuckDB SQL, for paths stored inside position delete files.
SQL_NORMALIZE = (
    "regexp_replace(regexp_replace({}, '^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?', ''), '^\\./', '')"
)


def normalize(path: str) -> str:
    """A path without scheme, authority, leading ``./`` or trailing ``/``."""
    bare = _SCHEME_AND_AUTHORITY.sub("", path)
    while bare.startswith("./"):
        bare = bare[2:]
    return bare.rstrip("/") or "/"


def table_root(metadata_location: str) -> str:
    """The table folder: the parent of the ``metadata/`` folder holding ``metadata_location``."""
    return metadata_location.rsplit("/", 2)[0]


class Relocation:
    """Maps paths under a recorded table location onto the table's actual folder."""

    def __init__(self, recorded_location: str, actual_root: str) -> None:
        self.recorded = normalize(recorded_location)
        self.actual = actual_root.rstrip("/")

    @property
    def needed(self) -> bool:
        return self.recorded != normalize(self.actual)

    def map(self, path: str) -> str:
        bare = normalize(path)
        if bare == self.recorded or bare.startswith(self.recorded + "/"):
            return self.actual + bare[len(self.recorded) :]
        if not os.path.isabs(bare) and "://" not in path:
            # A relative path outside the recorded location: relative to the table's parent.
            return f"{self.actual.rsplit('/', 1)[0]}/{bare}"
        return path


class RelocatedFileIO(PyArrowFileIO):
    """PyIceberg file IO that reads and writes through a :class:`Relocation`."""

    def __init__(self, relocation: Relocation, properties: Properties = EMPTY_DICT) -> None:
        super().__init__(properties)
        self.relocation = relocation

    def new_input(self, location: str) -> PyArrowFile:
        return super().new_input(self.relocation.map(location))

    def new_output(self, location: str) -> PyArrowFile:
        return super().new_output(self.relocation.map(location))

    def delete(self, location: str | InputFile | OutputFile) -> None:
        if isinstance(location, str):
            location = self.relocation.map(location)
        super().delete(location)


def local_path(location: str) -> str:
    """A location as DuckDB reads it (``file://`` URIs become plain paths)."""
    return location.removeprefix("file://")


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
