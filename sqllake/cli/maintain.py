"""``sqllake maintain [TABLE ...]``: do every table's due maintenance now, for cron.

Compaction, snapshot expiry and manifest rewrites as automatic maintenance does them
(see ``sqllake/maintenance.py``), without its time budget, plus the removal of orphan
files older than 3 days. Without TABLE, every table of every schema whose
``write.maintenance.auto`` is not false; named tables are maintained whatever it says.
One line per table says what was done; a table that failed is reported on standard
error and the others still run (exit status 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import sqllake
from sqllake.catalog import TableName
from sqllake.errors import Error
from sqllake.execute.changes import table_name_of
from sqllake.maintenance import AUTO, maintain
from sqllake.session import Session


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sqllake maintain",
        description="Compact small files, expire old snapshots, rewrite manifests and "
        "remove orphan files, as each table's properties say (for cron).",
    )
    p.add_argument(
        "tables",
        nargs="*",
        metavar="TABLE",
        help="schema.table or table (default: every table with automatic maintenance on)",
    )
    p.add_argument(
        "--no-orphans", action="store_true", help="do not look for orphan files (it lists folders)"
    )
    p.add_argument("--warehouse", metavar="PATH", help="as for sqllake")
    p.add_argument("--catalog", metavar="URI_OR_NAME", help="as for sqllake")
    return p


def _every_table(session: Session) -> list[TableName]:
    """The tables whose automatic maintenance is not off (a bad setting counts as on:
    the run then reports it)."""
    lakehouse = session.lakehouse
    names = []
    for namespace in lakehouse.namespaces():
        for name in lakehouse.tables(tuple(namespace.split("."))):
            properties = lakehouse.load(name).properties
            if properties.get(AUTO, "true").strip().lower() != "false":
                names.append(name)
    return names


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    try:
        connection = sqllake.connect(args.warehouse, catalog=args.catalog, autocommit=True)
    except Error as error:
        sys.stderr.write(f"sqllake: {type(error).__name__}: {error.message}\n")
        return 1
    status = 0
    try:
        session = connection.session
        try:
            names = [table_name_of(session, t) for t in args.tables] or _every_table(session)
            for name in names:
                session.load(name)  # an unknown table is reported before any work
        except Error as error:
            sys.stderr.write(f"sqllake: {type(error).__name__}: {error.message}\n")
            return 1
        for name in names:
            try:
                done = maintain(session, name, orphans=not args.no_orphans)
            except Error as error:  # a bad maintenance property, say: the others go on
                sys.stderr.write(f"sqllake: {name}: {type(error).__name__}: {error.message}\n")
                status = 1
                continue
            sys.stdout.write(done.describe() + "\n")
            for failure in done.failed:
                sys.stderr.write(f"sqllake: {name}: {failure}\n")
                status = 1
        return status
    except KeyboardInterrupt:
        return 130
    finally:
        connection.close()
