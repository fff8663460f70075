"""ALTER TABLE ... CREATE / REPLACE / DROP BRANCH | TAG trees -> one typed plan."""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.table.refs import SnapshotRefType
from sqlglot import exp

from sqllake.errors import ProgrammingError
from sqllake.plan import nodes
from sqllake.plan.common import name_of
from sqllake.sql.syntax import offset_of
from sqllake.write.refs import RefChange, Retention

_MS = {"DAYS": 24 * 3600 * 1000, "HOURS": 3600 * 1000, "MINUTES": 60 * 1000}


@dataclass(frozen=True)
class ChangeRef(nodes.Plan):
    table: nodes.Name
    change: RefChange
    offset: int  # of the branch's or tag's name, where errors about it point


def _positive(node: exp.Expr | None, what: str) -> int | None:
    if node is None:
        return None
    value = int(node.name)
    if value < 1:
        raise ProgrammingError(f"{what} must be at least 1", offset=offset_of(node))
    return value


def _ms(interval: exp.Expr | None, what: str) -> int | None:
    if interval is None:
        return None
    count = _positive(interval.this, what)
    assert count is not None
    return count * _MS[interval.args["unit"].name]


def plan_ref(tree: exp.Expr, text: str) -> nodes.Plan:
    args = tree.args
    retention = Retention(
        max_ref_age_ms=_ms(args.get("retain"), "RETAIN"),
        min_snapshots_to_keep=_positive(args.get("snapshots"), "SNAPSHOTS"),
        max_snapshot_age_ms=_ms(args.get("snapshot_age"), "WITH SNAPSHOT RETENTION"),
    )
    version = args.get("version")
    drop = bool(args.get("drop"))
    exists = bool(args.get("exists"))
    change = RefChange(
        kind=SnapshotRefType.BRANCH if args["kind"] == "BRANCH" else SnapshotRefType.TAG,
        name=args["name"].name,
        create=bool(args.get("create")),
        replace=bool(args.get("replace")),
        drop=drop,
        if_exists=drop and exists,
        if_not_exists=not drop and exists,
        snapshot_id=int(version.name) if version is not None else None,
        retention=retention,
    )
    return ChangeRef(name_of(tree.this), change, offset_of(args["name"]))
