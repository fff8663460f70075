"""Durable subscriptions: the commits of some tables, as events, from a named cursor.

Events are read off each table's Iceberg metadata (its snapshot log, schemas and
partition specs) and the catalog's table list, so they include the commits of every
engine. Per table, in commit order:

- ``created``: the table appeared (``since="earliest"`` replays a table from here);
- ``schema`` / ``partition``: the current schema or default partition spec changed
  (a schema change is reported before the first snapshot written with it);
- ``snapshot``: a commit, with its operation and summary; :meth:`Event.rows` gives
  the rows it changed (the ``table_changes`` of that snapshot) as Arrow. A ``replace``
  (compaction, manifest rewrite) changes no row and is skipped;
- ``renamed``: the table is now known by another name (found by its UUID), and the
  subscription follows it;
- ``dropped``: the table is gone.

The cursor of each table of a subscription lives in the catalog database
(``sqllake_subscriptions``). Delivery is at least once: events are delivered from the
in-memory position, while :meth:`Event.ack` durably moves the cursor past an event
(and every earlier one of its table). A subscriber that restarts resumes after its
last ack. Acks only move forward, so acking an old event again changes nothing.
An idle subscription checks each table's metadata pointer once per poll (one small
query per table); the metadata itself is parsed only when it moved.
"""

from __future__ import annotations

import datetime
import heapq
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa
import sqlalchemy as sa
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation, Snapshot

from sqllake.changes.plan import Bound, snapshot_range
from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.names import TableName
from sqllake.secrets import mask_properties

if TYPE_CHECKING:
    from sqllake.catalog import Lakehouse
    from sqllake.result import Result


class FeedSource(Protocol):
    """What a subscription needs of its session: the lakehouse, and the changed rows of
    a snapshot (read at the session's execution boundary, so errors are translated)."""

    @property
    def lakehouse(self) -> Lakehouse: ...

    def changes(self, name: TableName, parent: int | None, snapshot: int) -> Result: ...


KINDS = ("created", "schema", "partition", "snapshot", "renamed", "dropped")
EARLIEST = "earliest"

_metadata = sa.MetaData()
_cursors = sa.Table(
    "sqllake_subscriptions",
    _metadata,
    sa.Column("catalog_name", sa.String(255), primary_key=True),
    sa.Column("subscription", sa.String(255), primary_key=True),
    sa.Column("table_key", sa.String(1024), primary_key=True),  # the name subscribed to
    sa.Column("table_namespace", sa.String(255), nullable=False),  # where it is now
    sa.Column("table_name", sa.String(255), nullable=False),
    sa.Column("table_uuid", sa.String(64)),  # NULL while the table does not exist
    sa.Column("snapshot_id", sa.BigInteger),
    sa.Column("schema_id", sa.Integer),
    sa.Column("spec_id", sa.Integer),
    sa.Column("acked", sa.BigInteger, nullable=False),  # events acked for this table
    sa.Column("acked_ms", sa.BigInteger, nullable=False),
)


@dataclass(frozen=True)
class Position:
    """Where a subscription stands in one table's history."""

    key: str
    table: TableName
    uuid: str | None = None  # None: the table did not exist
    snapshot_id: int | None = None
    schema_id: int | None = None
    spec_id: int | None = None
    count: int = 0  # events of this table up to here

    def advanced(self, **changes: Any) -> Position:
        return replace(self, count=self.count + 1, **changes)


def _at(table: Table, key: str, name: TableName, count: int, earliest: bool) -> Position:
    """A position at a table's present state, or before its creation when ``earliest``."""
    if earliest:
        return Position(key, name, count=count)
    snapshot = table.current_snapshot()
    return Position(
        key,
        name,
        str(table.metadata.table_uuid),
        snapshot.snapshot_id if snapshot else None,
        table.metadata.current_schema_id,
        table.metadata.default_spec_id,
        count,
    )


@dataclass(frozen=True)
class Event:
    subscription: str
    table: str  # "schema.name" when the event happened (the new name for ``renamed``)
    kind: str  # one of KINDS
    committed_at: datetime.datetime
    snapshot_id: int | None = None
    parent_id: int | None = None
    operation: str | None = None  # append, overwrite, delete
    summary: Mapping[str, str] = field(default_factory=dict)
    # schema: old/new schema ids and the new schema's text; partition: old/new spec ids
    # and the new spec; renamed: the old name
    details: Mapping[str, Any] = field(default_factory=dict)
    position: Position | None = field(default=None, repr=False, compare=False)
    owner: Subscription | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> TableName:
        """The table the event happened to, as :attr:`table` names it."""
        return TableName(*_split(self.table))

    def rows(self) -> pa.Table:
        """The rows this snapshot inserted and deleted, as ``table_changes`` gives them."""
        if self.kind != "snapshot" or self.owner is None:
            raise ProgrammingError(f"a {self.kind} event has no changed rows")
        return self.owner.rows(self)

    def ack(self) -> None:
        """Durably move the subscription past this event (and its table's earlier ones)."""
        if self.owner is None:
            raise ProgrammingError("this event belongs to no subscription")
        self.owner.ack(self)


def _moment(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)


def _split(name: str) -> tuple[tuple[str, ...], str]:
    *namespace, table = name.split(".")
    return tuple(namespace), table


class _Tracker:
    """Turns one table's metadata, seen from a position, into its next events."""

    def __init__(self, session: FeedSource, subscription: str) -> None:
        self._session = session
        self._subscription = subscription

    def load(self, name: TableName) -> Table | None:
        """The table, or None if it does not exist (one pointer query when unchanged)."""
        try:
            return self._session.lakehouse.load(name)
        except ProgrammingError:
            return None

    def current(self, event: Event) -> TableName:
        """Where the table of ``event`` is now: renamed since, it is found by its UUID."""
        position = event.position
        name = TableName(*_split(event.table))
        table = self.load(name)
        uuid = position.uuid if position is not None else None
        if uuid is None or (table is not None and str(table.metadata.table_uuid) == uuid):
            return name
        return self._find(uuid) or name

    def _find(self, uuid: str) -> TableName | None:
        """Where the table with ``uuid`` is now, if anywhere (after a rename)."""
        lakehouse = self._session.lakehouse
        for namespace in lakehouse.namespaces():
            for name in lakehouse.tables(tuple(namespace.split("."))):
                table = self.load(name)
                if table is not None and str(table.metadata.table_uuid) == uuid:
                    return name
        return None

    def _event(
        self, position: Position, kind: str, ms: int, name: TableName, **fields: Any
    ) -> Event:
        return Event(self._subscription, str(name), kind, _moment(ms), position=position, **fields)

    def events(self, start: Position) -> list[Event]:
        """The events after ``start``, in order, each with the position after it.

        A rename is noticed when the name stops resolving; the commits read under the
        new name come first, the ``renamed`` event last, and until it the positions
        keep the old name, so a subscriber that restarts before acking the rename is
        told of it again.
        """
        out: list[Event] = []
        position = start
        name = position.table
        table = self.load(name)
        now = int(time.time() * 1000)
        if position.uuid is not None and (
            table is None or str(table.metadata.table_uuid) != position.uuid
        ):
            moved = self._find(position.uuid)
            if moved is None:
                position = position.advanced(uuid=None, snapshot_id=None)
                out.append(self._event(position, "dropped", now, name))
            else:
                name, table = moved, self.load(moved)
        if table is None:
            return out
        if position.uuid is None:
            out.append(self._created(position, table, name))
            position = out[-1].position or position
        for snapshot in snapshot_range(table, name, self._bound(position), None):
            if snapshot.summary is not None and snapshot.summary.operation == Operation.REPLACE:
                # A compaction or manifest rewrite changes no row: no event, but the
                # next one is read from after it.
                position = replace(position, snapshot_id=snapshot.snapshot_id)
                continue
            if snapshot.schema_id is not None and snapshot.schema_id != position.schema_id:
                out.append(
                    self._schema(position, table, snapshot.schema_id, snapshot.timestamp_ms, name)
                )
                position = out[-1].position or position
            position = position.advanced(snapshot_id=snapshot.snapshot_id)
            out.append(self._snapshot(position, snapshot, name))
        updated = table.metadata.last_updated_ms
        if table.metadata.current_schema_id != position.schema_id:
            out.append(
                self._schema(position, table, table.metadata.current_schema_id, updated, name)
            )
            position = out[-1].position or position
        if table.metadata.default_spec_id != position.spec_id:
            spec = table.metadata.spec()
            details = {"old_spec_id": position.spec_id, "spec_id": spec.spec_id, "spec": str(spec)}
            position = position.advanced(spec_id=spec.spec_id)
            out.append(self._event(position, "partition", updated, name, details=details))
        if name != position.table:
            old = str(position.table)
            position = position.advanced(table=name)
            out.append(self._event(position, "renamed", now, name, details={"old_name": old}))
        return out

    @staticmethod
    def _bound(position: Position) -> Bound | None:
        return Bound(snapshot_id=position.snapshot_id) if position.snapshot_id else None

    def _created(self, position: Position, table: Table, name: TableName) -> Event:
        metadata = table.metadata
        first = min(metadata.snapshots, key=lambda s: s.sequence_number or 0, default=None)
        schema_id = (
            first.schema_id
            if first is not None and first.schema_id is not None
            else metadata.current_schema_id
        )
        spec_id = metadata.default_spec_id
        position = position.advanced(
            uuid=str(metadata.table_uuid), snapshot_id=None, schema_id=schema_id, spec_id=spec_id
        )
        schema = metadata.schema_by_id(schema_id) or table.schema()
        created_ms = metadata.metadata_log[0].timestamp_ms if metadata.metadata_log else None
        ms = created_ms or (first.timestamp_ms if first else metadata.last_updated_ms)
        position = replace(position, table=name)
        return self._event(position, "created", ms, name, details={"schema": str(schema)})

    def _schema(
        self, position: Position, table: Table, schema_id: int, ms: int, name: TableName
    ) -> Event:
        old = position.schema_id
        position = position.advanced(schema_id=schema_id)
        schema = table.metadata.schema_by_id(schema_id)
        details = {"old_schema_id": old, "schema_id": schema_id, "schema": str(schema)}
        return self._event(position, "schema", ms, name, details=details)

    def _snapshot(self, position: Position, snapshot: Snapshot, name: TableName) -> Event:
        summary = snapshot.summary
        return self._event(
            position,
            "snapshot",
            snapshot.timestamp_ms,
            name,
            snapshot_id=snapshot.snapshot_id,
            parent_id=snapshot.parent_snapshot_id,
            operation=summary.operation.value if summary else None,
            summary=mask_properties(summary.additional_properties) if summary else {},
        )


class Subscription:
    """A named cursor over some tables' commits; see the module documentation.

    ``poll()`` returns the events pending now; iterating waits for more, polling every
    ``interval`` seconds, until :meth:`close`.
    """

    def __init__(
        self,
        session: FeedSource,
        name: str,
        tables: Sequence[TableName],
        since: str | None = None,
        interval: float = 1.0,
    ) -> None:
        engine = session.lakehouse.state_engine
        if engine is None:
            raise NotSupportedError(
                "subscriptions keep their cursors in the catalog's database; this catalog "
                "is not a SQL catalog: name a SQL database for them with state= (--state)"
            )
        if not name:
            raise ProgrammingError("a subscription needs a name")
        if since not in (None, EARLIEST):
            raise ProgrammingError(f"since must be None (from now) or {EARLIEST!r}, not {since!r}")
        self.name = name
        self.interval = interval
        self._session = session
        self._engine = engine
        self._catalog = session.lakehouse.state_key
        self._tracker = _Tracker(session, name)
        self._closed = False
        _metadata.create_all(engine, checkfirst=True)
        self._positions = self._open(tables, since == EARLIEST)

    @property
    def tables(self) -> list[str]:
        return [str(p.table) for p in self._positions.values()]

    def _open(self, tables: Sequence[TableName], earliest: bool) -> dict[str, Position]:
        """The stored cursors of this subscription; tables new to it start now."""
        catalog = self._catalog
        with self._engine.begin() as conn:
            stored = {
                row.table_key: Position(
                    row.table_key,
                    TableName(tuple(row.table_namespace.split(".")), row.table_name),
                    row.table_uuid,
                    row.snapshot_id,
                    row.schema_id,
                    row.spec_id,
                    row.acked,
                )
                for row in conn.execute(
                    sa.select(_cursors).where(
                        _cursors.c.catalog_name == catalog, _cursors.c.subscription == self.name
                    )
                )
            }
            for table in tables:
                key = str(table)
                if key in stored:
                    continue
                found = self._tracker.load(table)
                position = _at(found, key, table, 0, earliest) if found else Position(key, table)
                conn.execute(sa.insert(_cursors).values(**self._row(position, catalog)))
                stored[key] = position
        return stored

    def _row(self, position: Position, catalog: str) -> dict[str, Any]:
        return {
            "catalog_name": catalog,
            "subscription": self.name,
            "table_key": position.key,
            "table_namespace": ".".join(position.table.namespace),
            "table_name": position.table.name,
            "table_uuid": position.uuid,
            "snapshot_id": position.snapshot_id,
            "schema_id": position.schema_id,
            "spec_id": position.spec_id,
            "acked": position.count,
            "acked_ms": int(time.time() * 1000),
        }

    def poll(self) -> list[Event]:
        """Every event pending now, oldest first (per table in commit order)."""
        per_table = [self._tracker.events(p) for p in self._positions.values()]
        merged = list(heapq.merge(*per_table, key=lambda e: e.committed_at))
        for event in merged:
            assert event.position is not None
            self._positions[event.position.key] = event.position
        return [replace(event, owner=self) for event in merged]

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events as they come; stops after ``timeout`` seconds without one, or when closed."""
        idle_since = time.monotonic()
        while not self._closed:
            pending = self.poll()
            yield from pending
            if pending:
                idle_since = time.monotonic()
            elif timeout is not None and time.monotonic() - idle_since >= timeout:
                return
            else:
                time.sleep(self.interval)

    def ack(self, event: Event) -> None:
        position = event.position
        if position is None or event.subscription != self.name:
            raise ProgrammingError(f"this event does not belong to subscription {self.name}")
        row = self._row(position, self._catalog)
        key = {k: row.pop(k) for k in ("catalog_name", "subscription", "table_key")}
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(_cursors)
                .where(*(getattr(_cursors.c, k) == v for k, v in key.items()))
                .where(_cursors.c.acked < position.count)
                .values(**row)
            )

    def rows(self, event: Event) -> pa.Table:
        assert event.snapshot_id is not None
        table = self._tracker.current(event)
        result = self._session.changes(table, event.parent_id, event.snapshot_id)
        return result.reader.read_all() if result.reader is not None else pa.table({})

    def close(self) -> None:
        self._closed = True
