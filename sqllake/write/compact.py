"""Compaction (``rewrite_data_files``): which data files to rewrite, in which groups, and
the ``replace`` commit that swaps them for the new files.

Files are chosen as Iceberg's bin-packing rewriter chooses them (the same option names
and defaults): a file is a candidate when it is smaller than ``min-file-size-bytes``
(75% of the target size) or larger than ``max-file-size-bytes`` (180%), or when it was
written with an older partition spec, or always with ``rewrite-all``. Candidates are
grouped by partition (of the spec they were written with), and a group is rewritten
when it has at least ``min-input-files`` files (5), or more than one file holding more
than the target size, or a file too large (it is split), or files of an older spec (they
move to the current spec). A group larger than ``max-file-group-size-bytes`` is split.

Failure semantics of the commit (:func:`replace_action`): it is valid only while every
file it removes is still live. When another writer committed in between, the commit is
retried on the new snapshot if that writer only added data files; if it removed one of
the files, added delete files (they could apply to the rows being moved) or changed the
partition spec, an ``OperationalError`` names the conflict, nothing is committed, and
the caller deletes the files it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot

from sqllake.compat import pyiceberg as compat
from sqllake.errors import NotSupportedError, OperationalError, ProgrammingError
from sqllake.names import TableName
from sqllake.read import manifests as cached
from sqllake.write.buffer import SEQUENCE_PROPERTY, flushed_sequence
from sqllake.write.parquet import WriterOptions
from sqllake.write.rows import PROPERTY_TARGET_SIZE

MIB = 1024 * 1024
DEFAULT_MAX_GROUP_BYTES = 100 * 1024 * MIB  # Iceberg's default: 100 GiB

# Spark's rewrite_data_files options that change what is committed, which sqllake
# does not offer: refused rather than ignored.
_UNSUPPORTED_OPTIONS = frozenset(
    {
        "partial-progress.enabled",
        "partial-progress.max-commits",
        "partial-progress.max-failed-commits",
        "use-starting-sequence-number",
        "delete-file-threshold",
        "delete-ratio-threshold",
        "remove-dangling-deletes",
        "output-spec-id",
        "rewrite-job-order",
        "shuffle-partitions-per-file",
        "compression-factor",
        "max-file-group-input-files",
    }
)
# Options that only tune how Spark runs the work.
_IGNORED_OPTIONS = frozenset({"max-concurrent-file-group-rewrites"})


@dataclass(frozen=True)
class CompactOptions:
    target_file_size: int
    min_file_size: int
    max_file_size: int
    min_input_files: int = 5
    rewrite_all: bool = False
    max_group_size: int = DEFAULT_MAX_GROUP_BYTES
    move_old_specs: bool = True  # files of older partition specs are candidates

    @classmethod
    def resolve(
        cls, properties: Mapping[str, str], options: Mapping[str, str] | None = None
    ) -> CompactOptions:
        """The options of one rewrite: Spark's option names, defaults from the table."""
        given = dict(options or {})
        for key in given:
            if key in _UNSUPPORTED_OPTIONS:
                raise NotSupportedError(f"rewrite_data_files option {key} is not supported")
            if key not in _OPTION_NAMES and key not in _IGNORED_OPTIONS:
                known = ", ".join(sorted(_OPTION_NAMES))
                raise ProgrammingError(f"unknown rewrite_data_files option {key}; known: {known}")
        default_target = _size(properties, PROPERTY_TARGET_SIZE, WriterOptions().target_file_size)
        target = _size(given, "target-file-size-bytes", default_target)
        return cls(
            target_file_size=target,
            min_file_size=_size(given, "min-file-size-bytes", int(target * 0.75)),
            max_file_size=_size(given, "max-file-size-bytes", int(target * 1.8)),
            min_input_files=_size(given, "min-input-files", 5),
            rewrite_all=_flag(given.get("rewrite-all", "false"), "rewrite-all"),
            max_group_size=_size(given, "max-file-group-size-bytes", DEFAULT_MAX_GROUP_BYTES),
        )

    @property
    def writer(self) -> WriterOptions:
        return WriterOptions(target_file_size=self.target_file_size)


_OPTION_NAMES = frozenset(
    {
        "target-file-size-bytes",
        "min-file-size-bytes",
        "max-file-size-bytes",
        "min-input-files",
        "rewrite-all",
        "max-file-group-size-bytes",
    }
)


def _size(given: Mapping[str, str], key: str, default: int) -> int:
    text = given.get(key)
    if text is None:
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ProgrammingError(f"{key} must be a positive whole number, not {text!r}")
    return value


def _flag(text: str, key: str) -> bool:
    value = str(text).strip().lower()
    if value not in ("true", "false"):
        raise ProgrammingError(f"{key} must be true or false, not {text!r}")
    return value == "true"


@dataclass(frozen=True)
class FileGroup:
    """Data files of one partition (of the spec they were written with), rewritten together."""

    spec_id: int
    files: tuple[DataFile, ...]

    @property
    def bytes(self) -> int:
        return sum(f.file_size_in_bytes for f in self.files)


def _key(file: DataFile) -> tuple[object, ...]:
    partition = file.partition
    return (file.spec_id, *(repr(partition[i]) for i in range(len(partition))))


def _bins(files: list[DataFile], limit: int) -> list[list[DataFile]]:
    """Files packed into bins of at most ``limit`` bytes, largest first (first fit)."""
    bins: list[tuple[int, list[DataFile]]] = []
    for file in sorted(files, key=lambda f: -f.file_size_in_bytes):
        for i, (size, members) in enumerate(bins):
            if size + file.file_size_in_bytes <= limit:
                members.append(file)
                bins[i] = (size + file.file_size_in_bytes, members)
                break
        else:
            bins.append((file.file_size_in_bytes, [file]))
    return [members for _, members in bins]


def _candidate(file: DataFile, spec_id: int, options: CompactOptions) -> bool:
    size = file.file_size_in_bytes
    return file.content == DataFileContent.DATA and (
        options.rewrite_all
        or size < options.min_file_size
        or size > options.max_file_size
        or (options.move_old_specs and file.spec_id != spec_id)
    )


def candidates_by_partition(
    files: Iterable[DataFile], spec_id: int, options: CompactOptions
) -> dict[tuple[object, ...], list[DataFile]]:
    """The candidates among ``files`` (live data files), by partition."""
    by_partition: dict[tuple[object, ...], list[DataFile]] = {}
    for file in files:
        if _candidate(file, spec_id, options):
            by_partition.setdefault(_key(file), []).append(file)
    return by_partition


def plan_groups(
    files: Iterable[DataFile], spec_id: int, options: CompactOptions
) -> list[FileGroup]:
    """The groups a bin-packing rewrite of ``files`` (live data files) rewrites."""
    by_partition = candidates_by_partition(files, spec_id, options)
    groups = []
    for key in sorted(by_partition, key=repr):
        for members in _bins(by_partition[key], options.max_group_size):
            group = FileGroup(members[0].spec_id, tuple(members))
            if _worth_it(group, spec_id, options):
                groups.append(group)
    return groups


def _worth_it(group: FileGroup, spec_id: int, options: CompactOptions) -> bool:
    count = len(group.files)
    return (
        (options.rewrite_all and count > 0)
        or (
            count > 1
            and (count >= options.min_input_files or group.bytes > options.target_file_size)
        )
        or any(f.file_size_in_bytes > options.max_file_size for f in group.files)
        or (options.move_old_specs and group.spec_id != spec_id)
    )


def refuse_unwritable_format(metadata: TableMetadata, name: TableName) -> None:
    """Rewrites write manifests, which PyIceberg writes for format versions 1 and 2 only."""
    if metadata.format_version > 2:
        raise NotSupportedError(
            f"table {name} is an Iceberg format-version {metadata.format_version} table: "
            "sqllake cannot rewrite its files or manifests (it reads them)"
        )


def live_files(io: FileIO, snapshot: Snapshot) -> list[DataFile]:
    """Every live data and delete file of a snapshot."""
    return [
        entry.data_file
        for manifest in cached.manifests(io, snapshot)
        for entry in cached.live_entries(io, manifest)
    ]


def _conflict(name: TableName, head: Snapshot, what: str) -> OperationalError:
    operation = head.summary.operation.value if head.summary else "unknown"
    return OperationalError(
        f"rewrite_data_files of {name} conflicts with a concurrent commit (snapshot "
        f"{head.snapshot_id}, {operation}) that {what}; nothing was rewritten"
    )


def _validate(
    name: TableName,
    io: FileIO,
    metadata: TableMetadata,
    start: Snapshot,
    removed: Sequence[DataFile],
    spec_id: int,
) -> None:
    """Raise if the commit is no longer valid on ``metadata`` (see the module docs)."""
    head = metadata.current_snapshot()
    if head is None:
        raise OperationalError(f"table {name} lost its snapshots while it was being rewritten")
    if head.snapshot_id == start.snapshot_id:
        return
    if metadata.default_spec_id != spec_id:
        raise _conflict(name, head, "changed its partition spec")
    live = live_files(io, head)
    paths = {f.file_path for f in live if f.content == DataFileContent.DATA}
    gone = [f.file_path for f in removed if f.file_path not in paths]
    if gone:
        raise _conflict(name, head, f"removed {len(gone)} of its files, such as {gone[0]}")
    before = {f.file_path for f in live_files(io, start) if f.content != DataFileContent.DATA}
    added = [f.file_path for f in live if f.content != DataFileContent.DATA]
    if any(path not in before for path in added):
        raise _conflict(name, head, "added delete files")


def replace_action(
    name: TableName,
    io: FileIO,
    start: Snapshot,
    removed: Sequence[DataFile],
    added: Sequence[DataFile],
    spec_id: int,
) -> Callable[[Transaction], None]:
    """The change that swaps ``removed`` for ``added`` as one ``replace`` snapshot,
    checked on every attempt against the table as it then is."""

    def apply(transaction: Transaction) -> None:
        metadata = transaction.table_metadata
        _validate(name, io, metadata, start, removed, spec_id)
        # Carry the insert buffer's mark: the snapshots that recorded it may expire.
        mark = flushed_sequence(metadata)
        summary = {SEQUENCE_PROPERTY: str(mark)} if mark else {}
        compat.replace_files(transaction, removed, added, summary)

    return apply
