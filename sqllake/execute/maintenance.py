"""Table maintenance procedures, with Spark's names, arguments and result columns:
``expire_snapshots``, ``rewrite_data_files``, ``rewrite_manifests``,
``remove_orphan_files``, ``rollback_to_snapshot``, ``rollback_to_timestamp`` and
``set_current_snapshot``. Each returns one row (or, for orphans, one row per file) of
what it did. ``execute/procedures.py`` binds the arguments and dispatches here.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.schema import Schema
from sqlglot import exp
from sqlglot.errors import ParseError

from sqllake.catalog import TableName, refuse_relocated_write
from sqllake.errors import NotSupportedError, ProgrammingError, located
from sqllake.execute.changes import table_name_of
from sqllake.execute.compact import RewriteRequest, rewrite_data_files
from sqllake.execute.constants import moment
from sqllake.read.pushdown import row_filter
from sqllake.result import Result
from sqllake.sql.dialect import DIALECT
from sqllake.sql.text import quote_identifier, quote_string
from sqllake.write.buffer import flushed_sequence
from sqllake.write.compact import CompactOptions, refuse_unwritable_format
from sqllake.write.expire import ExpiryRequest, expire
from sqllake.write.manifest_rewrite import rewrite_manifests
from sqllake.write.orphans import DEFAULT_ORPHAN_AGE_MS, remove_orphan_files
from sqllake.write.refs import move_main

if TYPE_CHECKING:
    from sqllake.context import Context

Args = dict[str, Any]
At = dict[str, int]


def table_argument(session: Context, args: Args, at: At) -> TableName:
    value = args.get("table")
    if not isinstance(value, str) or not value.strip():
        raise ProgrammingError("table must be the table's name, as a string", offset=at["table"])
    name = table_name_of(session, value, at["table"])
    session.load(name, at["table"])  # an unknown table is named where it was written
    return name


def _ms(session: Context, args: Args, at: At, key: str) -> int | None:
    """A moment argument (a TIMESTAMP, a DATE or a string that casts to one) in epoch ms."""
    value = args.get(key)
    if value is None:
        return None
    with located(at.get(key)):
        if isinstance(value, datetime.datetime):
            found: datetime.datetime | None = value
        elif isinstance(value, datetime.date):
            found = datetime.datetime.combine(value, datetime.time())
        elif isinstance(value, str):
            found = moment(session, quote_string(value))
        else:
            raise ProgrammingError(f"{key} must be a timestamp, not {value!r}")
        assert found is not None
        if found.tzinfo is None:
            found = found.replace(tzinfo=datetime.UTC)  # the session's time zone
        return int(found.timestamp() * 1000)


def _whole(args: Args, at: At, key: str, least: int = 0) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ProgrammingError(
            f"{key} must be a whole number of at least {least}, not {value!r}", offset=at[key]
        )
    return value


def _flag(args: Args, at: At, key: str) -> bool:
    value = args.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProgrammingError(f"{key} must be true or false, not {value!r}", offset=at[key])
    return value


def _now_ms() -> int:
    return int(time.time() * 1000)


def _counts(status: str, values: Mapping[str, int]) -> Result:
    return Result.rows(status, [(k, "BIGINT") for k in values], [list(values.values())])


# expire_snapshots


def expire_snapshots(session: Context, args: Args, at: At) -> Result:
    name = table_argument(session, args, at)
    ids = args.get("snapshot_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ProgrammingError(
            "snapshot_ids must be a list of snapshot ids", offset=at.get("snapshot_ids")
        )
    request = ExpiryRequest(
        now_ms=_now_ms(),
        older_than_ms=_ms(session, args, at, "older_than"),
        retain_last=_whole(args, at, "retain_last", least=1),
        snapshot_ids=tuple(ids),
    )
    table = session.load(name)
    refuse_relocated_write(table, name)
    _settle_buffer(session, name)
    with located(at.get("snapshot_ids") or at["table"]):
        done = expire(session.lakehouse, name, request)
    return _counts(
        f"EXPIRE {done.snapshots}",
        {
            "deleted_data_files_count": done.data_files,
            "deleted_position_delete_files_count": done.position_delete_files,
            "deleted_equality_delete_files_count": done.equality_delete_files,
            "deleted_manifest_files_count": done.manifests,
            "deleted_manifest_lists_count": done.manifest_lists,
            "deleted_statistics_files_count": done.statistics_files,
        },
    )


def _settle_buffer(session: Context, name: TableName) -> None:
    """Drop buffered rows that a flush already committed before the snapshots recording
    it may go (a flush that stopped between its commit and this cleanup leaves them;
    readers skip them only while the snapshot that says so is there)."""
    if session.buffer is not None:
        session.buffer.delete_through(name, flushed_sequence(session.load(name).metadata))


# rewrite_data_files

STRATEGIES = ("binpack", "sort")


def _parsed(text: str, what: str, wrap: str, offset: int) -> exp.Expr:
    try:
        return exp.maybe_parse(wrap.format(text), dialect=DIALECT)
    except ParseError as exc:
        raise ProgrammingError(f"{what} is not valid SQL: {text!r}", offset=offset) from exc


def _column_of(schema: Schema, node: exp.Expr, what: str, offset: int) -> str:
    if not isinstance(node, exp.Column) or node.table:
        raise NotSupportedError(
            f"{what} takes column names, not {node.sql(DIALECT)}", offset=offset
        )
    by_name = {f.name.lower(): f.name for f in schema.fields}
    found = by_name.get(node.name.lower())
    if found is None:
        raise ProgrammingError(f"{what}: column {node.name} does not exist", offset=offset)
    return found


def _sort_order(schema: Schema, text: str, offset: int) -> str:
    """Spark's ``sort_order`` text (``id DESC NULLS LAST, name``) as an ORDER BY."""
    tree = _parsed(text, "sort_order", "SELECT 1 ORDER BY {}", offset)
    order = tree.args.get("order")
    if order is None:
        raise ProgrammingError(f"sort_order is not a list of columns: {text!r}", offset=offset)
    terms = []
    for ordered in order.expressions:
        column = _column_of(schema, ordered.this, "sort_order", offset)
        descending = bool(ordered.args.get("desc"))
        # Spark's defaults: NULLS FIRST when ascending, NULLS LAST when descending.
        nulls_first = ordered.args.get("nulls_first")
        first = not descending if nulls_first is None else bool(nulls_first)
        terms.append(
            f"{quote_identifier(column)} {'DESC' if descending else 'ASC'} "
            f"NULLS {'FIRST' if first else 'LAST'}"
        )
    return " ORDER BY " + ", ".join(terms)


def _where(schema: Schema, text: str, offset: int) -> BooleanExpression:
    tree = _parsed(text, "where", "SELECT 1 WHERE {}", offset)
    where = tree.args.get("where")
    if where is None:
        raise ProgrammingError(f"where is not a condition: {text!r}", offset=offset)
    for column in where.this.find_all(exp.Column):
        _column_of(schema, column, "where", offset)
    by_name = {f.name.lower(): f.name for f in schema.fields}
    predicate = row_filter(where.this, schema, lambda c: by_name.get(c.name.lower()))
    if isinstance(predicate, AlwaysTrue) and not isinstance(where.this, exp.Boolean):
        raise NotSupportedError(
            f"where {text!r} cannot choose files: compare columns with constants",
            offset=offset,
        )
    return predicate


def _options(args: Args, at: At) -> dict[str, str]:
    value = args.get("options")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProgrammingError(
            "options maps option names to values: options => MAP {'min-input-files': '2'}",
            offset=at["options"],
        )
    return {str(k): str(v) for k, v in value.items()}


def rewrite_data_files_procedure(session: Context, args: Args, at: At) -> Result:
    name = table_argument(session, args, at)
    table = session.load(name)
    schema = table.schema()
    strategy = str(args.get("strategy") or "binpack").lower()
    if strategy not in STRATEGIES:
        raise NotSupportedError(
            f"strategy {strategy!r} is not supported; use 'binpack' or 'sort'",
            offset=at.get("strategy"),
        )
    order = None
    text = args.get("sort_order")
    if text is not None and strategy != "sort":
        raise ProgrammingError("sort_order needs strategy => 'sort'", offset=at["sort_order"])
    if text is not None:
        order = _sort_order(schema, str(text), at["sort_order"])
    elif strategy == "sort" and not table.sort_order().fields:
        raise ProgrammingError(
            f"table {name} has no sort order: pass sort_order => 'column [DESC], ...'",
            offset=at.get("strategy"),
        )
    where = args.get("where")
    with located(at.get("options")):
        options = CompactOptions.resolve(table.properties, _options(args, at))
    request = RewriteRequest(
        options=options,
        row_filter=_where(schema, str(where), at["where"]) if where is not None else AlwaysTrue(),
        order=order,
    )
    done = rewrite_data_files(session.lakehouse, name, request)
    return _counts(
        f"REWRITE {done.rewritten_files}",
        {
            "rewritten_data_files_count": done.rewritten_files,
            "added_data_files_count": done.added_files,
            "rewritten_bytes_count": done.rewritten_bytes,
            "failed_data_files_count": 0,
        },
    )


# rewrite_manifests


def rewrite_manifests_procedure(session: Context, args: Args, at: At) -> Result:
    name = table_argument(session, args, at)
    table = session.load(name)
    refuse_relocated_write(table, name)
    refuse_unwritable_format(table.metadata, name)
    with located(at.get("spec_id")):
        done = rewrite_manifests(session.lakehouse, name, _whole(args, at, "spec_id"))
    return _counts(
        f"REWRITE {done.rewritten}",
        {"rewritten_manifests_count": done.rewritten, "added_manifests_count": done.added},
    )


# remove_orphan_files


def remove_orphan_files_procedure(session: Context, args: Args, at: At) -> Result:
    name = table_argument(session, args, at)
    table = session.load(name)
    refuse_relocated_write(table, name)
    older_than = _ms(session, args, at, "older_than")
    if older_than is None:
        older_than = _now_ms() - DEFAULT_ORPHAN_AGE_MS
    location = args.get("location")
    with located(at.get("location") or at["table"]):
        found = remove_orphan_files(
            session.lakehouse,
            name,
            older_than,
            str(location) if location is not None else None,
            dry_run=_flag(args, at, "dry_run"),
        )
    return Result.rows(
        f"ORPHANS {len(found)}", [("orphan_file_location", "VARCHAR")], [[f] for f in found]
    )


# rollback_to_snapshot, rollback_to_timestamp, set_current_snapshot


def _moved(session: Context, name: TableName, **target: Any) -> Result:
    refuse_relocated_write(session.load(name), name)
    _settle_buffer(session, name)
    previous, current = move_main(session.lakehouse, name, **target)
    return Result.rows(
        "CALL",
        [("previous_snapshot_id", "BIGINT"), ("current_snapshot_id", "BIGINT")],
        [[previous, current]],
    )


def rollback_to_snapshot(session: Context, args: Args, at: At) -> Result:
    name = table_argument(session, args, at)
    with located(at["snapshot_id"]):
        snapshot_id = _whole(args, at, "snapshot_id")
        return _moved(session, name, snapshot_id=snapshot_id, ancestor=True)


def rollback_to_timestamp(session: Context, args: Args, at: At) -> Result:
    name = table_argument(session, args, at)
    with located(at["timestamp"]):
        return _moved(session, name, before_ms=_ms(session, args, at, "timestamp"))


def set_current_snapshot(session: Context, args: Args, at: At) -> Result:
    name = table_argument(session, args, at)
    snapshot_id = _whole(args, at, "snapshot_id")
    ref = args.get("ref")
    if (snapshot_id is None) == (ref is None):
        raise ProgrammingError(
            "set_current_snapshot takes either snapshot_id or ref", offset=at["table"]
        )
    with located(at.get("snapshot_id") or at.get("ref")):
        return _moved(session, name, snapshot_id=snapshot_id, ref=ref)
