"""PyIceberg internals sqllake relies on, and nothing else.

sqllake publishes a commit to a SQL catalog itself (see ``Lakehouse.commit``): PyIceberg
builds the new metadata and writes its file, and sqllake moves the table pointers, so
that it knows which metadata file a commit wrote. That is what lets it find out whether
a commit whose answer was lost landed, and move several tables' pointers in one database
transaction. PyIceberg has no public call for either step.
"""

from __future__ import annotations

from pyiceberg.catalog import MetastoreCatalog
from pyiceberg.table import StagedTable, Table, Transaction
from pyiceberg.table.update import AddSnapshotUpdate


def stage(catalog: MetastoreCatalog, table: Table, transaction: Transaction) -> StagedTable:
    """The table as ``transaction`` would leave it, and the location of its next metadata
    file. Raises ``CommitFailedException`` when the transaction's requirements no longer
    hold for ``table`` (another writer moved it)."""
    return catalog._update_and_stage_table(  # noqa: SLF001
        table,
        table.name(),
        transaction._requirements,  # noqa: SLF001
        transaction._updates,  # noqa: SLF001
    )


def write_metadata(catalog: MetastoreCatalog, staged: StagedTable) -> None:
    """Write the staged metadata file (nothing references it until a pointer moves)."""
    catalog._write_metadata(staged.metadata, staged.io, staged.metadata_location)  # noqa: SLF001


def added_snapshot_ids(transaction: Transaction) -> frozenset[int]:
    """The ids of the snapshots ``transaction`` adds, read without applying its updates."""
    updates = transaction._updates  # noqa: SLF001
    return frozenset(u.snapshot.snapshot_id for u in updates if isinstance(u, AddSnapshotUpdate))
