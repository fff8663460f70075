"""Time travel: which snapshot ``FOR VERSION AS OF`` / ``FOR TIMESTAMP AS OF`` names.

A version is a snapshot id, or the name of a tag or branch. A timestamp selects the
snapshot that was current at that moment, from the table's snapshot log. The schema
of the chosen snapshot applies to the read.
"""

from __future__ import annotations

import datetime

from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from sqllake.errors import ProgrammingError
from sqllake.names import TableName


def snapshot_by_version(table: Table, name: TableName, version: object) -> Snapshot:
    metadata = table.metadata
    if isinstance(version, int) or (isinstance(version, str) and version.isdigit()):
        snapshot = metadata.snapshot_by_id(int(version))
        if snapshot is None:
            raise ProgrammingError(f"table {name} has no snapshot {version}")
        return snapshot
    ref = metadata.refs.get(str(version))
    snapshot = metadata.snapshot_by_id(ref.snapshot_id) if ref else None
    if snapshot is None:
        raise ProgrammingError(f"table {name} has no snapshot, tag or branch named {version!r}")
    return snapshot


def snapshot_as_of(table: Table, name: TableName, moment: datetime.datetime) -> Snapshot:
    millis = int(moment.timestamp() * 1000)
    current = None
    for entry in sorted(table.metadata.snapshot_log, key=lambda e: e.timestamp_ms):
        if entry.timestamp_ms <= millis:
            current = entry.snapshot_id
    snapshot = table.metadata.snapshot_by_id(current) if current is not None else None
    if snapshot is None:
        first = min((e.timestamp_ms for e in table.metadata.snapshot_log), default=None)
        when = (
            f"; its first snapshot is from "
            f"{datetime.datetime.fromtimestamp(first / 1000, datetime.UTC).isoformat()}"
            if first is not None
            else "; it has no snapshots"
        )
        raise ProgrammingError(f"table {name} has no snapshot as of {moment.isoformat()}{when}")
    return snapshot


def schema_of(table: Table, snapshot: Snapshot | None) -> Schema:
    if snapshot is None or snapshot.schema_id is None:
        return table.schema()
    return table.metadata.schema_by_id(snapshot.schema_id) or table.schema()
