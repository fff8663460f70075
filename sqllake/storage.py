"""Files, local and in object storage: the one owner of how sqllake reaches them.

Settings are PyIceberg's property names (``s3.endpoint``, ``s3.region``,
``s3.access-key-id``, ``s3.secret-access-key``, ``s3.session-token``,
``s3.path-style-access``, ``gcs.*``, ``adls.*``), merged once per table, lowest first:

1. the standard AWS variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
   ``AWS_SESSION_TOKEN``, ``AWS_ENDPOINT_URL``, ``AWS_REGION``), which PyIceberg's own
   file IO partly ignores;
2. the catalog's properties (a URI catalog's come from ``connect(properties=...)`` or
   ``--property``);
3. what a REST catalog sends with a table (endpoint, region, vended credentials).

The result is a :class:`StorageFileIO`, the table's ``io``: PyIceberg writes metadata
and manifests through it, and every other reader and writer (the Parquet writers,
deletes, footers, deletion vectors, DuckDB) reaches files through the same Arrow
filesystems it holds. Filesystems are shared per settings across the process.

Object storage is not a file system: nothing here creates "directory" objects (a
table bucket refuses them), and Arrow's output streams upload a large file in parts.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec.implementations.arrow import ArrowFSWrapper
from pyiceberg.io import FileIO
from pyiceberg.typedef import EMPTY_DICT, Properties

from sqllake.compat.fsspec import FileSystemBase, open_raw
from sqllake.compat.pyiceberg import ArrowFileIO
from sqllake.errors import OperationalError
from sqllake.secrets import remember_properties

S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})
# Schemes DuckDB reaches through the filesystem registered on its connection.
OBJECT_STORE_SCHEMES = ("s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss")

S3_ENDPOINT = "s3.endpoint"
S3_REGION = "s3.region"
S3_ACCESS_KEY = "s3.access-key-id"
S3_SECRET_KEY = "s3.secret-access-key"
S3_SESSION_TOKEN = "s3.session-token"
S3_PATH_STYLE = "s3.path-style-access"  # Iceberg Java's name; REST catalogs send it
S3_CONNECT_TIMEOUT = "s3.connect-timeout"
S3_REQUEST_TIMEOUT = "s3.request-timeout"
S3_CREDENTIALS = (S3_ACCESS_KEY, S3_SECRET_KEY, S3_SESSION_TOKEN)

# The AWS variables, and the property each stands for. Credentials go together: a key
# id from one place and a secret from another never make a pair.
_ENVIRONMENT = {
    "AWS_ENDPOINT_URL_S3": S3_ENDPOINT,
    "AWS_ENDPOINT_URL": S3_ENDPOINT,
    "AWS_REGION": S3_REGION,
    "AWS_DEFAULT_REGION": S3_REGION,
    "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
    "AWS_SESSION_TOKEN": S3_SESSION_TOKEN,
}
# With an endpoint of its own, a store has no AWS region to look up: asking AWS which
# region a bucket is in would wait for amazonaws.com, then fail.
DEFAULT_REGION = "us-east-1"
# A store that does not answer fails in seconds, naming itself, instead of minutes.
DEFAULT_CONNECT_TIMEOUT = 5.0


def environment_properties(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The storage properties the AWS variables give (the first variable listed wins)."""
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for variable, name in _ENVIRONMENT.items():
        value = environ.get(variable)
        if value and name not in found:
            found[name] = value
    return found


def merge(*layers: Mapping[str, str]) -> dict[str, str]:
    """Properties of several sources, later layers first; the S3 credentials come whole
    from the highest layer that has an access key id (or a secret)."""
    merged: dict[str, str] = {}
    for layer in layers:
        if any(layer.get(name) for name in S3_CREDENTIALS):
            for name in S3_CREDENTIALS:
                merged.pop(name, None)
        merged.update({k: v for k, v in layer.items() if v is not None})
    return merged


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("true", "1", "yes", "on")


@dataclass(frozen=True)
class S3Settings:
    """What an S3 client needs, from merged properties."""

    endpoint: str | None
    region: str | None
    access_key: str | None
    secret_key: str | None
    session_token: str | None
    path_style: bool | None
    connect_timeout: float
    request_timeout: float | None

    @classmethod
    def of(cls, properties: Mapping[str, str]) -> S3Settings:
        endpoint = properties.get(S3_ENDPOINT) or None
        region = properties.get(S3_REGION) or properties.get("client.region") or None
        virtual = _flag(properties.get("s3.force-virtual-addressing"))
        path_style = _flag(properties.get(S3_PATH_STYLE))
        timeout = properties.get(S3_REQUEST_TIMEOUT)
        return cls(
            endpoint=endpoint,
            region=region or (DEFAULT_REGION if endpoint else None),
            access_key=properties.get(S3_ACCESS_KEY) or properties.get("client.access-key-id"),
            secret_key=properties.get(S3_SECRET_KEY) or properties.get("client.secret-access-key"),
            session_token=properties.get(S3_SESSION_TOKEN)
            or properties.get("client.session-token"),
            path_style=path_style if path_style is not None else _negate(virtual),
            connect_timeout=float(properties.get(S3_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)),
            request_timeout=float(timeout) if timeout else None,
        )

    def where(self, bucket: str) -> str:
        """The store and bucket, as a message names them."""
        return f"bucket '{bucket}' at {self.endpoint or 'AWS S3'}"

    def arrow(self) -> pafs.S3FileSystem:
        options: dict[str, Any] = {"connect_timeout": self.connect_timeout}
        if self.endpoint:
            options["endpoint_override"] = self.endpoint
        if self.region:
            options["region"] = self.region
        if self.access_key:
            options["access_key"] = self.access_key
            options["secret_key"] = self.secret_key
            options["session_token"] = self.session_token
        if self.path_style is not None:
            options["force_virtual_addressing"] = not self.path_style
        if self.request_timeout is not None:
            options["request_timeout"] = self.request_timeout
        return pafs.S3FileSystem(**options)


def _negate(flag: bool | None) -> bool | None:
    return None if flag is None else not flag


# Filesystems are costly to make (an S3 client each) and safe to share: one per settings.
_filesystems: dict[object, pafs.FileSystem] = {}
_filesystems_lock = threading.Lock()


def _shared(key: object, make: Callable[[], pafs.FileSystem]) -> pafs.FileSystem:
    with _filesystems_lock:
        found = _filesystems.get(key)
        if found is None:
            found = _filesystems[key] = make()
        return found


class StorageFileIO(ArrowFileIO):
    """PyIceberg's Arrow file IO with sqllake's storage settings (see the module doc).

    S3 clients are made from :class:`S3Settings` (default region against an endpoint,
    path-style addressing, a connect timeout) and shared; other schemes are PyIceberg's.
    """

    def __init__(self, properties: Properties = EMPTY_DICT) -> None:
        super().__init__(merge(environment_properties(), properties))
        self.s3 = S3Settings.of(self.properties)
        remember_properties(self.properties)

    def make_filesystem(self, scheme: str, netloc: str | None = None) -> pafs.FileSystem:
        if scheme in S3_SCHEMES:
            return _shared(("s3", self.s3), self.s3.arrow)
        # PyIceberg's local filesystem makes the folders of the files it writes.
        key = (scheme, netloc, () if scheme == "file" else tuple(sorted(self.properties.items())))
        return _shared(key, lambda: super(StorageFileIO, self).make_filesystem(scheme, netloc))

    def filesystem(self, location: str) -> tuple[pafs.FileSystem, str]:
        """The Arrow filesystem holding ``location`` and the path in it."""
        scheme, netloc, path = self.parse_location(location, self.properties)
        return self.fs_by_scheme(scheme, netloc), path

    def where(self, location: str) -> str:
        """The store a location is in, as a message names it."""
        parts = urlsplit(location)
        if parts.scheme in S3_SCHEMES:
            return self.s3.where(parts.netloc)
        return location


def file_io(properties: Mapping[str, str] = EMPTY_DICT) -> StorageFileIO:
    """A file IO with ``properties`` over the AWS variables (see the module doc)."""
    return StorageFileIO(dict(properties))


# Which file IO reaches the files under each table location, for readers given only a
# path (DuckDB, cleanup after a failed statement). Tables register as they are loaded;
# the longest registered prefix wins, then the last IO registered for the bucket.
_routes: dict[str, FileIO] = {}
_buckets: dict[str, FileIO] = {}
_routes_lock = threading.Lock()


def _origin(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}"


def register(location: str, io: FileIO) -> None:
    """Files under ``location`` (a table's folder) are reached through ``io``."""
    if location.startswith("file:") or "://" not in location:
        return
    with _routes_lock:
        _routes[location.rstrip("/") + "/"] = io
        _buckets[_origin(location)] = io


def io_for(location: str) -> FileIO:
    """The file IO registered for ``location`` (see :func:`register`)."""
    with _routes_lock:
        best = max((p for p in _routes if location.startswith(p)), key=len, default=None)
        if best is not None:
            return _routes[best]
        found = _buckets.get(_origin(location))
    return found if found is not None else file_io()


def filesystem(location: str, io: FileIO | None = None) -> tuple[pafs.FileSystem, str]:
    """The Arrow filesystem and path of a file or folder location, through ``io`` (or
    the one registered for it).

    Local locations are paths, not URIs to parse: a table named "Mixed Case" has a
    space in its folder name, which Arrow's URI parser rejects.
    """
    if location.startswith("file:") or "://" not in location:
        return _shared("file", pafs.LocalFileSystem), location.removeprefix("file://")
    io = io_for(location) if io is None else io
    if isinstance(io, StorageFileIO):
        return io.filesystem(location)
    return file_io(io.properties).filesystem(location)


def _where(location: str, io: FileIO | None) -> str:
    io = io_for(location) if io is None else io
    return io.where(location) if isinstance(io, StorageFileIO) else location


@contextlib.contextmanager
def storage_errors(location: str, io: FileIO | None = None) -> Iterator[None]:
    """Errors of the store raised as :class:`OperationalError` naming the store."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        if "://" not in location or location.startswith("file:"):
            raise
        raise OperationalError(
            f"cannot reach {_where(location, io)} for {location}: {exc}"
        ) from exc


def open_output(location: str, io: FileIO | None = None) -> pa.NativeFile:
    """A new file to write: local folders are made as needed; in object storage the
    object is simply written (no directory markers), large ones in parts."""
    fs, path = filesystem(location, io)
    with storage_errors(location, io):
        if isinstance(fs, pafs.LocalFileSystem):
            fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        return fs.open_output_stream(path)


def remove_files(locations: Iterable[str], io: FileIO | None = None) -> None:
    """Delete files nothing references any more; one already gone is not an error."""
    for location in locations:
        fs, path = filesystem(location, io)
        with contextlib.suppress(FileNotFoundError), storage_errors(location, io):
            fs.delete_file(path)


def read_range(location: str, offset: int, length: int, io: FileIO | None = None) -> bytes:
    fs, path = filesystem(location, io)
    with storage_errors(location, io), fs.open_input_file(path) as file:
        file.seek(offset)
        return bytes(file.read(length))


def file_size(location: str, io: FileIO | None = None) -> int | None:
    fs, path = filesystem(location, io)
    with storage_errors(location, io):
        size: int | None = fs.get_file_info(path).size
        return size


def parquet_schema(location: str, io: FileIO | None = None) -> pa.Schema:
    """The Arrow schema of a Parquet file's footer."""
    fs, path = filesystem(location, io)
    with storage_errors(location, io):
        return pq.read_schema(path, filesystem=fs)


def check_reachable(location: str, io: FileIO | None = None) -> None:
    """Fail now, naming the store and bucket, if ``location``'s bucket cannot be reached
    (a wrong endpoint, bucket or key), rather than deep inside the first write."""
    if location.startswith("file:") or "://" not in location:
        return
    fs, path = filesystem(location, io)
    bucket = path.split("/", 1)[0]
    try:
        found = fs.get_file_info(bucket)
    except OSError as exc:
        raise OperationalError(f"cannot reach {_where(location, io)}: {exc}") from exc
    if found.type == pafs.FileType.NotFound:
        raise OperationalError(f"{_where(location, io)} does not exist")


class PositionalFile:
    """A file DuckDB's threads share: each thread's ``seek`` then ``read`` reads at its
    own position (Arrow's ``read_at``), since DuckDB reads one file's row groups on
    several threads through one handle, and a shared position would mix their bytes."""

    def __init__(self, file: pa.NativeFile) -> None:
        self._file = file
        self._size: int = int(file.size())
        self._local = threading.local()

    def _position(self) -> int:
        found: int = getattr(self._local, "position", 0)
        return found

    def seek(self, offset: int, whence: int = 0) -> int:
        position = {0: 0, 1: self._position(), 2: self._size}[whence] + offset
        self._local.position = position
        return position

    def tell(self) -> int:
        return self._position()

    def read(self, size: int = -1) -> bytes:
        position = self._position()
        size = self._size - position if size is None or size < 0 else size
        data = self._file.read_at(size, position)
        self._local.position = position + len(data)
        return bytes(data)

    @property
    def size(self) -> int:
        return self._size

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return bool(self._file.closed)

    def __enter__(self) -> PositionalFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBFileSystem(FileSystemBase):
    """Object storage as DuckDB reaches it: an fsspec filesystem for one scheme,
    registered on the engine's connection, reading each path through the file IO
    registered for it (so with the settings PyIceberg uses for that table).

    DuckDB's own S3 support (httpfs) is an extension the installed wheel lacks and
    cannot download here; see ``read/engine.py`` for when it is used instead.
    """

    cachable = False
    protocol: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._scheme = self.protocol[0]
        self._wrappers: dict[int, ArrowFSWrapper] = {}

    @classmethod
    def for_scheme(cls, scheme: str) -> DuckDBFileSystem:
        """The filesystem DuckDB reads ``scheme://`` paths through (fsspec keys its
        class methods on a class attribute, hence a class per scheme)."""
        kind = type(f"DuckDBFileSystem_{scheme}", (cls,), {"protocol": (scheme,)})
        found: DuckDBFileSystem = kind()
        return found

    def _url(self, path: str) -> str:
        return path if "://" in path else f"{self._scheme}://{path.lstrip('/')}"

    def _arrow(self, path: str) -> tuple[ArrowFSWrapper, str]:
        url = self._url(path)
        fs, inner = filesystem(url)
        wrapper = self._wrappers.get(id(fs))
        if wrapper is None:
            wrapper = self._wrappers[id(fs)] = ArrowFSWrapper(fs)
        return wrapper, inner

    def open_raw(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        wrapper, inner = self._arrow(path)
        with storage_errors(self._url(path)):
            if mode == "rb":
                return PositionalFile(wrapper.fs.open_input_file(inner))
            return open_raw(wrapper, inner, mode, **kwargs)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        wrapper, inner = self._arrow(path)
        with storage_errors(self._url(path)):
            found: dict[str, Any] = wrapper.info(inner)
        return found

    def ls(self, path: str, detail: bool = False, **kwargs: Any) -> list[Any]:
        wrapper, inner = self._arrow(path)
        with storage_errors(self._url(path)):
            found: list[Any] = wrapper.ls(inner, detail=detail)
        return found

    def rm_file(self, path: str) -> None:
        remove_files([self._url(path)])

    def modified(self, path: str) -> Any:
        wrapper, inner = self._arrow(path)
        return wrapper.modified(inner)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Object storage has no folders to make (and a table bucket refuses markers)."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """As :meth:`mkdir`."""
