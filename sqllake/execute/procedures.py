"""CALL system.<procedure>(...): procedures with positional or named arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from sqllake.errors import ProgrammingError, located
from sqllake.execute import maintenance
from sqllake.plan import nodes
from sqllake.read.path_maps import mappings_from
from sqllake.result import Result
from sqllake.sql.dialect import DIALECT

if TYPE_CHECKING:
    from sqllake.context import Context


@dataclass(frozen=True)
class Procedure:
    parameters: tuple[str, ...]
    run: Callable[[Context, dict[str, Any], dict[str, int]], Result]
    help: str
    optional: tuple[str, ...] = ()  # parameters after the required ones, by name or position

    @property
    def accepted(self) -> tuple[str, ...]:
        return self.parameters + self.optional


def _register_table(session: Context, args: dict[str, Any], at: dict[str, int]) -> Result:
    parts = tuple(str(args["table"]).split("."))
    name = session.table_name(nodes.Name(parts, at["table"]))
    with located(at.get("path_map")):
        path_map = mappings_from(args.get("path_map"), session.lakehouse.path_maps is not None)
    with located(at["metadata_file"]):
        session.lakehouse.register(name, str(args["metadata_file"]), path_map)
    return Result.status_only("CALL")


def _flush(session: Context, args: dict[str, Any], at: dict[str, int]) -> Result:
    name = session.table_name(nodes.Name(tuple(str(args["table"]).split(".")), at["table"]))
    session.load(name, at["table"])
    count = session.flush(name)
    return Result.status_only(f"FLUSH {count}", rowcount=count)


def flush_table(session: Context, plan: nodes.FlushTable, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.name)
    session.load(name, plan.name.offset)
    count = session.flush(name)
    return Result.status_only(f"FLUSH {count}", rowcount=count)


PROCEDURES: dict[str, Procedure] = {
    "flush": Procedure(
        ("table",),
        _flush,
        "write the table's buffered rows as Parquet files and one snapshot",
    ),
    "register_table": Procedure(
        ("table", "metadata_file"),
        _register_table,
        "add an existing Iceberg table to the catalog by its metadata.json",
        optional=("path_map",),
    ),
    "expire_snapshots": Procedure(
        ("table",),
        maintenance.expire_snapshots,
        "remove old snapshots, and the files only they needed",
        optional=(
            "older_than",
            "retain_last",
            "max_concurrent_deletes",
            "stream_results",
            "snapshot_ids",
        ),
    ),
    "rewrite_data_files": Procedure(
        ("table",),
        maintenance.rewrite_data_files_procedure,
        "compact small files into files of the target size (one replace snapshot)",
        optional=("strategy", "sort_order", "options", "where"),
    ),
    "rewrite_manifests": Procedure(
        ("table",),
        maintenance.rewrite_manifests_procedure,
        "list the current snapshot's files in few manifests",
        optional=("use_caching", "spec_id"),
    ),
    "remove_orphan_files": Procedure(
        ("table",),
        maintenance.remove_orphan_files_procedure,
        "delete files in the table's folders that no snapshot or metadata file names",
        optional=("older_than", "location", "dry_run", "max_concurrent_deletes"),
    ),
    "rollback_to_snapshot": Procedure(
        ("table", "snapshot_id"),
        maintenance.rollback_to_snapshot,
        "make an ancestor of the current snapshot current again",
    ),
    "rollback_to_timestamp": Procedure(
        ("table", "timestamp"),
        maintenance.rollback_to_timestamp,
        "make current the newest ancestor older than a moment",
    ),
    "set_current_snapshot": Procedure(
        ("table",),
        maintenance.set_current_snapshot,
        "make any snapshot, or a branch's or tag's, current",
        optional=("snapshot_id", "ref"),
    ),
}


def _bind(
    session: Context, procedure: Procedure, plan: nodes.CallProcedure, params: Sequence[Any]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Argument values by parameter name, and where each argument was written."""
    bound: dict[str, exp.Expr] = {}
    offsets: dict[str, int] = {}
    for position, arg in enumerate(plan.arguments):
        name = arg.name.lower() if arg.name else None
        if name is None:
            if position >= len(procedure.accepted):
                raise ProgrammingError("too many arguments", offset=arg.offset)
            name = procedure.accepted[position]
        if name not in procedure.accepted:
            raise ProgrammingError(f"unknown argument {name}", offset=arg.offset)
        if name in bound:
            raise ProgrammingError(f"argument {name} given twice", offset=arg.offset)
        bound[name] = arg.value
        offsets[name] = arg.offset
    missing = [p for p in procedure.parameters if p not in bound]
    if missing:
        raise ProgrammingError(f"missing argument {', '.join(missing)}", offset=plan.name.offset)
    # Arguments may be any constant expression, with ? parameters, in the order written.
    select = ", ".join(arg.value.sql(dialect=DIALECT) for arg in plan.arguments)
    values = session.engine.row(f"SELECT {select}", params)
    by_argument = dict(zip((id(arg.value) for arg in plan.arguments), values, strict=True))
    return {name: by_argument[id(value)] for name, value in bound.items()}, offsets


def call(session: Context, plan: nodes.CallProcedure, params: Sequence[Any]) -> Result:
    parts = plan.name.parts
    procedure = PROCEDURES.get(parts[-1]) if len(parts) >= 2 and parts[-2] == "system" else None
    if procedure is None:
        known = ", ".join(f"system.{name}" for name in PROCEDURES)
        raise ProgrammingError(
            f"unknown procedure {'.'.join(parts)}; known: {known}", offset=plan.name.offset
        )
    return procedure.run(session, *_bind(session, procedure, plan, params))
