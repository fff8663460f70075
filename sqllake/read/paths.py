"""Locations as text: scheme-less comparison, the table folder, DuckDB's spelling.

Plain Python, no storage library: the light read path (``read/light.py``) and the
relocation of moved tables (``read/locations.py``) spell and compare paths alike.
"""

from __future__ import annotations

import re

SCHEME_AND_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?")

# The same normalization in DuckDB SQL, for paths stored inside position delete files.
SQL_NORMALIZE = (
    "regexp_replace(regexp_replace({}, '^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?', ''), '^\\./', '')"
)


def normalize(path: str) -> str:
    """A path without scheme, authority, leading ``./`` or trailing ``/``."""
    bare = SCHEME_AND_AUTHORITY.sub("", path)
    while bare.startswith("./"):
        bare = bare[2:]
    return bare.rstrip("/") or "/"


def table_root(metadata_location: str) -> str:
    """The table folder: the parent of the ``metadata/`` folder holding ``metadata_location``."""
    return metadata_location.rsplit("/", 2)[0]


def local_path(location: str) -> str:
    """A location as DuckDB reads it (``file://`` URIs become plain paths)."""
    return location.removeprefix("file://")
