"""Manifest lists and manifests, decoded once per process.

Iceberg never rewrites a manifest list or a manifest in place: a commit writes new
files under new names. So what a file decodes to can be kept and shared by every later
query of any session in the process; only the pruning (partition values and column
metrics against the query's filter) runs per query. Decoding is most of the planning
time of a query over a few files, and grows with a table's file count. Files are
decoded by :mod:`sqllake.read.avro` into PyIceberg's own objects, or by PyIceberg where
that module leaves a file's shape to it.

The entries kept are bounded in number (least recently used manifests go first), so
a process that reads tables with millions of files does not keep them all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import partial
from typing import TypeVar
from uuid import UUID

from pyiceberg.expressions import AlwaysFalse
from pyiceberg.io import FileIO
from pyiceberg.manifest import (
    DataFile,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    read_manifest_list,
)
from pyiceberg.table import ManifestGroupPlanner
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.typedef import KeyDefaultDict
from pyiceberg.utils.concurrent import ExecutorFactory

from sqllake.compat.pyiceberg import (
    inherit_from_manifest,
    manifest_evaluator,
    may_apply,
    metrics_evaluator,
    partition_evaluator,
)
from sqllake.read import avro
from sqllake.read.locations import RelocatedFileIO, read_whole

# Entries kept across all manifests: a data file's entry with its metrics is ~4 KiB for
# 4 columns and grows with the columns, so this holds some tens of MiB at most.
MAX_CACHED_ENTRIES = 5_000
# Manifest descriptions kept across all manifest lists (each well under a KiB).
MAX_CACHED_MANIFESTS = 10_000

V = TypeVar("V", bound=tuple[object, ...])
T = TypeVar("T")


class _Lru:
    """A least-recently-used map bounded by the total length of its values."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[Hashable, tuple[object, ...]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found  # type: ignore[return-value]
        value = load()  # outside the lock: loads of different files run in parallel
        with self._lock:
            if key not in self._items and len(value) <= self._capacity:
                self._items[key] = value
                self._size += len(value)
                while self._size > self._capacity:
                    _, dropped = self._items.popitem(last=False)
                    self._size -= len(dropped)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


_lists = _Lru(MAX_CACHED_MANIFESTS)
_entries = _Lru(MAX_CACHED_ENTRIES)


def _opened_path(io: FileIO, path: str) -> str:
    """Where ``io`` reads ``path`` from: a relocated table's copy is another file."""
    return io.relocation.map(path) if isinstance(io, RelocatedFileIO) else path


def _read_list(io: FileIO, path: str) -> tuple[ManifestFile, ...]:
    data = read_whole(io, path)
    try:
        return tuple(avro.manifest_list(data))
    except avro.MALFORMED:  # a shape left to PyIceberg, which also reports a broken file
        return tuple(read_manifest_list(io.new_input(path)))


def _read_live_entries(io: FileIO, manifest: ManifestFile) -> tuple[ManifestEntry, ...]:
    data = read_whole(io, manifest.manifest_path)
    try:
        entries = avro.manifest_entries(data)
    except avro.MALFORMED:
        return tuple(_uuids_as_bytes(e) for e in manifest.fetch_manifest_entry(io))
    # As PyIceberg's fetch_manifest_entry: deleted entries dropped, the rest inheriting
    # sequence numbers, snapshot id and partition spec from the list that names them.
    return tuple(
        inherit_from_manifest(entry, manifest)
        for entry in entries
        if entry.status != ManifestEntryStatus.DELETED
    )


def _uuids_as_bytes(entry: ManifestEntry) -> ManifestEntry:
    """UUID partition values as the bytes PyIceberg's literals hold (see ``avro``)."""
    partition = entry.data_file.partition
    for i in range(len(partition)):
        if isinstance(partition[i], UUID):
            partition[i] = partition[i].bytes
    return entry


def manifests(io: FileIO, snapshot: Snapshot) -> tuple[ManifestFile, ...]:
    """The manifests a snapshot's manifest list names."""
    listed = snapshot.manifest_list
    return _lists.get_or_load(_opened_path(io, listed), lambda: _read_list(io, listed))


def live_entries(io: FileIO, manifest: ManifestFile) -> tuple[ManifestEntry, ...]:
    """The entries of ``manifest`` that are not deleted, as PyIceberg decodes them (with
    sequence numbers inherited from the manifest). Shared: callers must not change them."""
    # The sequence number and snapshot come from the list that names the manifest and
    # are inherited by its entries, so they are part of what the entries decode to.
    key = (
        _opened_path(io, manifest.manifest_path),
        manifest.sequence_number,
        manifest.added_snapshot_id,
    )
    return _entries.get_or_load(key, lambda: _read_live_entries(io, manifest))


def _evaluator(
    planner: ManifestGroupPlanner, spec_id: int, build: Callable[[int], Callable[[T], bool]]
) -> Callable[[T], bool]:
    """PyIceberg's evaluator of a spec, or for an unpartitioned spec its constant answer.

    With no partition fields, PyIceberg's inclusive projection of a filter is
    AlwaysTrue unless the filter is AlwaysFalse (its expressions fold a false operand
    away when they are built), so its evaluators keep every manifest and every file, or
    none. Building them costs more than the rest of planning a small table.
    """
    if not planner.table_metadata.specs()[spec_id].is_unpartitioned():
        return build(spec_id)
    answer = not isinstance(planner.row_filter, AlwaysFalse)
    return lambda _: answer


def matching_entries(
    planner: ManifestGroupPlanner, io: FileIO, listed: tuple[ManifestFile, ...]
) -> list[list[ManifestEntry]]:
    """Per manifest that may match the planner's row filter, its entries that may.

    The steps of PyIceberg's ``plan_manifest_entries`` (partition summaries, then each
    entry's partition and metrics; delete manifests older than all data skipped), with
    the decoded entries taken from the cache.
    """
    # PyIceberg's planner builds its evaluators in methods it keeps internal (reached
    # through compat/); the results are compared with its own planner in the tests.
    by_spec: KeyDefaultDict[int, Callable[[ManifestFile], bool]] = KeyDefaultDict(
        lambda spec_id: _evaluator(planner, spec_id, partial(manifest_evaluator, planner))
    )
    kept = [m for m in listed if by_spec[m.partition_spec_id](m)]
    partition_filters: KeyDefaultDict[int, Callable[[DataFile], bool]] = KeyDefaultDict(
        lambda spec_id: _evaluator(planner, spec_id, partial(partition_evaluator, planner))
    )
    metrics = metrics_evaluator(planner)
    oldest = min(
        (m.min_sequence_number or 0 for m in kept if m.content == ManifestContent.DATA),
        default=0,
    )
    kept = [m for m in kept if may_apply(planner, oldest, m)]

    def matching(manifest: ManifestFile) -> list[ManifestEntry]:
        matches = partition_filters[manifest.partition_spec_id]
        return [
            entry
            for entry in live_entries(io, manifest)
            if matches(entry.data_file) and metrics(entry.data_file)
        ]

    if len(kept) <= 1:  # no thread hand-off for the common one-manifest table
        return [matching(m) for m in kept]
    return list(ExecutorFactory.get_or_create().map(matching, kept))


def clear() -> None:
    """Forget every decoded file (tests; a process that must release the memory)."""
    _lists.clear()
    _entries.clear()
