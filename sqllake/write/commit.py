"""Iceberg commits: written Parquet files -> DataFiles with metrics -> one snapshot.

Failure semantics: :func:`append_files` either publishes one new snapshot holding all
the files, or raises and publishes nothing. A conflict with another writer (the
table's current snapshot moved) is retried on the fresh metadata, because an append
never depends on what others appended. What a failed commit leaves behind are the
Parquet files themselves, which no snapshot references; the caller deletes them
(see ``Transaction.rollback``), and may retry the whole statement.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.io.pyarrow import (
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table, TableProperties, Transaction
from pyiceberg.typedef import Record

from sqllake.errors import OperationalError
from sqllake.write.parquet import WrittenFile

COMMIT_RETRIES = 8
COMMIT_BACKOFF_SECONDS = 0.05


def data_file(table: Table, written: WrittenFile, partition: Record) -> DataFile:
    """The manifest entry of a file: its path, size, row count and column metrics."""
    schema = table.schema()
    stats = data_file_statistics_from_parquet_metadata(
        parquet_metadata=written.metadata,
        stats_columns=compute_statistics_plan(schema, table.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
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
        **stats.to_serialized_dict(),
    )


def _without_retries(table: Table) -> Table:
    """The table with PyIceberg's own commit retries turned off, for this process only.

    PyIceberg retries a failed commit by rebuilding the snapshot on fresh metadata,
    which would skip the checks ``apply`` makes; retries happen here instead. The
    property changes only this in-memory copy: a commit applies its updates to the
    catalog's current metadata, never to this copy's properties.
    """
    properties = {**table.metadata.properties, TableProperties.COMMIT_NUM_RETRIES: "0"}
    metadata = table.metadata.model_copy(update={"properties": properties})
    return Table(table.name(), metadata, table.metadata_location, table.io, table.catalog)


def commit_with_retry(load: Callable[[], Table], apply: Callable[[Transaction], None]) -> Table:
    """Apply changes to a fresh transaction and commit; on a conflict, reload and redo.

    ``apply`` is called again on the new metadata after a conflict, so it re-checks the
    change against what the other writer committed (a column it drops may be gone).
    """
    for attempt in range(COMMIT_RETRIES + 1):
        table = _without_retries(load())
        transaction = table.transaction()
        apply(transaction)
        try:
            return transaction.commit_transaction()
        except CommitFailedException as exc:
            if attempt == COMMIT_RETRIES:
                raise OperationalError(
                    f"commit to {'.'.join(table.name())} failed after {COMMIT_RETRIES} retries: "
                    f"another writer kept changing the table ({exc})"
                ) from exc
            time.sleep(COMMIT_BACKOFF_SECONDS * (2**attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


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
        with transaction.update_snapshot(snapshot_properties=summary or {}).fast_append() as app:
            for file in files:
                app.append_data_file(file)

    return apply


def commit_with_retry_together(commit: Callable[[], None]) -> None:
    """Run an all-or-nothing commit of several tables, retrying it on conflicts."""
    for attempt in range(COMMIT_RETRIES + 1):
        try:
            commit()
            return
        except CommitFailedException as exc:
            if attempt == COMMIT_RETRIES:
                raise OperationalError(
                    f"commit failed after {COMMIT_RETRIES} retries: another writer kept "
                    f"changing the tables ({exc})"
                ) from exc
            time.sleep(COMMIT_BACKOFF_SECONDS * (2**attempt) * random.uniform(0.5, 1.5))


def append_files(
    load: Callable[[], Table],
    files: list[DataFile],
    summary: dict[str, str] | None = None,
    check: Callable[[Transaction], None] | None = None,
) -> Table:
    """Commit ``files`` as one append snapshot, retrying on concurrent commits."""
    return commit_with_retry(load, append_action(files, check, summary))
