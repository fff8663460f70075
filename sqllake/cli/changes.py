"""``sqllake changes schema.t``: print a table's changes, and with ``--follow`` keep
printing them as commits land, like ``tail -f``, until Ctrl-C.

Rows are those of ``table_changes``, one snapshot at a time in commit order (a face of
:mod:`sqllake.changes`). Without
``--since`` the whole history is printed, or with ``--follow`` only what lands from
now on. ``--subscription NAME`` reads from the durable cursor ``NAME`` instead and
acknowledges each snapshot once its rows are written, so a later run resumes after it;
other events (schema changes, renames, drops) are reported on standard error.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import sys
import time
from collections.abc import Sequence
from typing import TextIO

import sqllake
from sqllake.catalog import TableName
from sqllake.changes.plan import Bound, snapshot_range
from sqllake.changes.subscriptions import Event
from sqllake.cli.options import add_connection_options, connect
from sqllake.cli.render import RENDERERS
from sqllake.errors import Error
from sqllake.execute.changes import table_name_of
from sqllake.execute.constants import moment
from sqllake.session import Session
from sqllake.sql.text import quote_string

FORMATS = ("table", "jsonl", "csv")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sqllake changes",
        description="Print the rows a table's commits inserted and deleted "
        "(the table_changes feed), oldest first.",
    )
    p.add_argument("table", help="the table, as schema.table or table")
    p.add_argument(
        "--since",
        metavar="SNAPSHOT|TIMESTAMP",
        help="start after this snapshot id, or after this moment (default: the first "
        "snapshot; with --follow, now)",
    )
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new changes")
    p.add_argument(
        "--subscription",
        metavar="NAME",
        help="resume the durable cursor NAME and acknowledge what is printed",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="output format")
    p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="poll interval")
    add_connection_options(p)
    return p


class _Printer:
    def __init__(self, session: Session, fmt: str, out: TextIO) -> None:
        self._session = session
        self._render = RENDERERS[fmt]
        self._table = fmt == "table"
        self._out = out

    def snapshot(self, table: TableName, parent: int | None, snapshot: int) -> None:
        result = self._session.changes(table, parent, snapshot)
        assert result.reader is not None
        width = shutil.get_terminal_size().columns if self._table and self._out.isatty() else None
        self._render(result.columns, result.reader, self._out, width=width)
        self._out.flush()


def _start(session: Session, name: TableName, since: str | None, follow: bool) -> int | None:
    """The snapshot to print changes after (None: from the first one)."""
    table = session.load(name)
    if since is None:
        current = table.current_snapshot()
        return current.snapshot_id if follow and current is not None else None
    bound = (
        Bound(snapshot_id=int(since)) if since.isdigit() else Bound(moment=_moment(session, since))
    )
    snapshots = snapshot_range(table, name, bound, None)
    if snapshots:
        return snapshots[0].parent_snapshot_id
    current = table.current_snapshot()
    return current.snapshot_id if current is not None else None


def _moment(session: Session, text: str) -> datetime.datetime:
    try:
        found = moment(session, quote_string(text))
    except Error as exc:
        raise sqllake.ProgrammingError(
            f"--since {text!r} is neither a snapshot id nor a timestamp"
        ) from exc
    assert found is not None
    return found


def _following(name: TableName, err: TextIO) -> None:
    err.write(f"-- following {name}; Ctrl-C to stop\n")
    err.flush()


def _feed(session: Session, name: TableName, args: argparse.Namespace, printer: _Printer) -> None:
    last = _start(session, name, args.since, args.follow)
    if args.follow:
        _following(name, sys.stderr)
    while True:
        table = session.load(name)
        start = Bound(snapshot_id=last) if last is not None else None
        for snapshot in snapshot_range(table, name, start, None):
            printer.snapshot(name, snapshot.parent_snapshot_id, snapshot.snapshot_id)
            last = snapshot.snapshot_id
        if not args.follow:
            return
        time.sleep(args.interval)


def _note(event: Event, err: TextIO) -> None:
    detail = {"renamed": f" (was {event.details.get('old_name')})"}.get(event.kind, "")
    err.write(f"-- {event.table}: {event.kind}{detail}\n")
    err.flush()


def _subscribed(
    connection: sqllake.Connection, name: TableName, args: argparse.Namespace, printer: _Printer
) -> None:
    subscription = connection.subscribe(
        args.subscription, tables=[str(name)], interval=args.interval
    )
    if args.follow:
        _following(name, sys.stderr)
    events = subscription.events() if args.follow else iter(subscription.poll())
    for event in events:
        if event.kind == "snapshot" and event.snapshot_id is not None:
            printer.snapshot(event.name, event.parent_id, event.snapshot_id)
        else:
            _note(event, sys.stderr)
        event.ack()


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    if args.subscription and args.since:
        parser().error("--since and --subscription exclude each other: a subscription resumes")
    try:
        connection = connect(args)
    except Error as error:
        sys.stderr.write(f"sqllake: {type(error).__name__}: {error.message}\n")
        return 1
    try:
        session = connection.session
        name = table_name_of(session, args.table)
        printer = _Printer(session, args.format, sys.stdout)
        if args.subscription:
            _subscribed(connection, name, args, printer)
        else:
            _feed(session, name, args, printer)
        return 0
    except Error as error:
        sys.stderr.write(f"sqllake: {type(error).__name__}: {error.message}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        connection.close()
