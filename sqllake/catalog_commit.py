"""What a commit's outcome is, when the catalog's answer may be lost.

A commit either lands or not; when the answer is lost (a dropped connection while the
database commits, a REST catalog's unknown commit state), the catalog is asked again
and each table's part is checked against what it now holds. The catalog
(:class:`sqllake.catalog.Lakehouse`) stages and publishes; this module says which
answers are refusals, what one table's staged part is, and how its landing is told.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyiceberg.exceptions import (
    BadRequestError,
    CommitFailedException,
    ForbiddenError,
    NoSuchNamespaceError,
    NoSuchTableError,
    UnauthorizedError,
    ValidationError,
)
from pyiceberg.table import Table, TableProperties
from pyiceberg.table.metadata import TableMetadata

from sqllake.errors import UnconfirmedCommitError
from sqllake.names import TableName

# Answers after which a commit certainly did not land: the catalog refused it.
REFUSED = (
    CommitFailedException,
    BadRequestError,
    UnauthorizedError,
    ForbiddenError,
    NoSuchTableError,
    NoSuchNamespaceError,
    ValidationError,
)


def snapshot_ids(metadata: TableMetadata) -> frozenset[int]:
    return frozenset(snapshot.snapshot_id for snapshot in metadata.snapshots)


@dataclass(frozen=True)
class Staged:
    """One table's part of a commit: its new metadata file, written, not yet published."""

    name: TableName
    base: str  # the metadata file the pointer must still name
    location: str  # the new metadata file
    snapshot_ids: frozenset[int]  # the snapshots it adds

    def landed(self, metadata: TableMetadata, pointer: str) -> bool:
        """Whether the table, read again, includes this commit (later commits may follow)."""
        if pointer == self.location:
            return True
        if any(entry.metadata_file == self.location for entry in metadata.metadata_log):
            return True
        return bool(self.snapshot_ids) and self.snapshot_ids <= snapshot_ids(metadata)


def without_retries(table: Table) -> Table:
    """The table with PyIceberg's own commit retries turned off, for this process only.

    PyIceberg retries a failed commit by rebuilding the snapshot on fresh metadata,
    which would skip the checks a change makes; sqllake retries instead (see
    ``write/commit.py``). The property changes only this in-memory copy: a commit
    applies its updates to the catalog's current metadata, never to this copy's.
    """
    properties = {**table.metadata.properties, TableProperties.COMMIT_NUM_RETRIES: "0"}
    metadata = table.metadata.model_copy(update={"properties": properties})
    return Table(table.name(), metadata, table.metadata_location, table.io, table.catalog)


def settle(
    commits: Sequence[tuple[TableName, Callable[[TableMetadata, str], bool]]],
    cause: BaseException,
    read_back: Callable[[TableName], tuple[TableMetadata, str]],
) -> None:
    """Find out whether a commit whose answer was lost landed, by reading each table's
    pointer again; return if it did, raise :class:`UnconfirmedCommitError` if not."""
    names = ", ".join(str(name) for name, _ in commits)
    try:
        landed = []
        for name, check in commits:
            metadata, pointer = read_back(name)
            landed.append(check(metadata, pointer))
    except BaseException as exc:
        raise UnconfirmedCommitError(
            f"the catalog did not confirm the commit to {names} ({cause}) and could not be "
            f"asked whether it landed ({exc}); nothing was deleted: check the table "
            "before running the statement again"
        ) from cause
    if all(landed):
        return
    state = "did not land" if not any(landed) else "landed for only some of the tables"
    raise UnconfirmedCommitError(
        f"the commit to {names} {state} ({cause}); its files were kept, since the catalog "
        "did not confirm its answer"
    ) from cause
