"""Iceberg commits: written Parquet files -> DataFiles with metrics -> one snapshot.

Failure semantics: :func:`commit_with_retry` either publishes one new snapshot per
table, or raises and publishes nothing. A conflict with another writer (the table's
current snapshot moved) is retried on the fresh metadata, because an append never
depends on what others appended. After a failure the written Parquet files are
referenced by no snapshot and the caller deletes them (see ``Transaction.rollback``)
and may retry the whole statement; except after an
:class:`~sqllake.errors.UnconfirmedCommitError`, when the commit may have landed and
nothing it wrote may be deleted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table, Transaction
from pyiceberg.typedef import Record

from sqllake.catalog import Change, Lakehouse
from sqllake.compat import iceberg_v3
from sqllake.compat import pyiceberg as compat
from sqllake.errors import OperationalError
from sqllake.write.parquet import WrittenFile

COMMIT_RETRIES = 8
COMMIT_BACKOFF_SECONDS = 0.05


def data_file(table: Table, written: WrittenFile, partition: Record) -> DataFile:
    """The manifest entry of a file: its path, size, row count and column metrics."""
    schema = table.schema()
    properties = iceberg_v3.statistics_properties(schema, table.properties)
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=written.location,
        file_format=FileFormat.PARQUET,
        partition=partition,
        file_size_in_bytes=written.size_in_bytes,
        sort_order_id=None,
        spec_id=table.metadata.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **compat.file_statistics(schema, properties, written.metadata),
    )


def commit_with_retry(lakehouse: Lakehouse, changes: Sequence[Change]) -> None:
    """Apply the changes to fresh transactions and commit them as one; on a conflict,
    reload and redo.

    Each change is applied again on the new metadata after a conflict, so it re-checks
    itself against what the other writer committed (a column it drops may be gone).
    What a failure leaves behind is described at ``Lakehouse.commit``: an
    :class:`~sqllake.errors.UnconfirmedCommitError` means the commit may have landed.
    """
    for attempt in range(COMMIT_RETRIES + 1):
        try:
            lakehouse.commit(changes)
            return
        except CommitFailedException as exc:
            if attempt == COMMIT_RETRIES:
                names = ", ".join(str(name) for name, _ in changes)
                raise OperationalError(
                    f"commit to {names} failed after {COMMIT_RETRIES} retries: another writer "
                    f"kept changing the table ({exc})"
                ) from exc
            time.sleep(COMMIT_BACKOFF_SECONDS * (2**attempt) * random.uniform(0.5, 1.5))


def append_action(
    files: list[DataFile],
    check: Callable[[Transaction], None] | None = None,
    summary: dict[str, str] | None = None,
) -> Callable[[Transaction], None]:
    """The change that appends ``files`` as one snapshot, for any transaction.

    ``check`` runs on the metadata of every attempt and may raise to give up (an append
    that only makes sense if nobody else did the same in the meantime).
    """

    def apply(transaction: Transaction) -> None:
        if check is not None:
            check(transaction)
        if transaction.table_metadata.format_version >= iceberg_v3.FORMAT_VERSION:
            iceberg_v3.append(transaction, files, summary or {})  # with row lineage
            return
        with compat.merging_append(transaction, summary or {}) as append:
            for file in files:
                append.append_data_file(file)

    return apply
