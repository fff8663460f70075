"""Running a compaction: read each group's rows through the engine (deletes applied),
write them as new files with the table's writers, commit one ``replace`` snapshot.

Rows stream from DuckDB into the rolling Parquet writers one group at a time, so memory
stays bounded whatever the size of a group (a sort spills to disk in DuckDB). The rewrite
has an engine of its own: it may run inside another statement (a flush during an
INSERT) whose results the session's engine is still streaming. Every
output file lies within one partition of the table's current spec: the writers split
rows by it, which also moves the rows of files written with older specs into it.

Failure semantics: nothing is committed until every group is written; a failure before
the commit, or a commit refused as conflicting (see ``write/compact.py``), deletes the
new files and leaves the table as it was. A commit whose answer was lost keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.table import ManifestGroupPlanner, Table
from pyiceberg.table.snapshots import Snapshot

from sqllake.catalog import Lakehouse, TableName, refuse_relocated_write
from sqllake.errors import UnconfirmedCommitError
from sqllake.execute.insert import write_order
from sqllake.read import manifests as cached
from sqllake.read.engine import Engine
from sqllake.read.locations import normalize
from sqllake.read.scan import ScanPlan, plan_scan
from sqllake.read.scan_sql import engine_scan_select
from sqllake.storage import remove_files
from sqllake.write.commit import commit_with_retry
from sqllake.write.compact import (
    CompactOptions,
    FileGroup,
    plan_groups,
    refuse_unwritable_format,
    replace_action,
)
from sqllake.write.rows import write_rows


@dataclass(frozen=True)
class RewriteRequest:
    options: CompactOptions
    row_filter: BooleanExpression = field(default_factory=AlwaysTrue)
    order: str | None = None  # " ORDER BY ..." of the sort strategy; None: the table's
    # Narrows the planned groups (automatic maintenance takes the most useful few).
    choose: Callable[[list[FileGroup]], list[FileGroup]] | None = None


@dataclass(frozen=True)
class Rewritten:
    """What a rewrite did, in the counts Spark's procedure reports."""

    rewritten_files: int = 0
    added_files: int = 0
    rewritten_bytes: int = 0


def candidate_files(
    table: Table, snapshot: Snapshot, row_filter: BooleanExpression
) -> list[DataFile]:
    """The live data files of ``snapshot`` that may hold rows matching ``row_filter``."""
    planner = ManifestGroupPlanner(table.metadata, table.io, row_filter)
    matching = cached.matching_entries(planner, table.io, cached.manifests(table.io, snapshot))
    return [
        entry.data_file
        for entries in matching
        for entry in entries
        if entry.data_file.content == DataFileContent.DATA
    ]


def _order(table: Table, group: FileGroup, request: RewriteRequest) -> str:
    if request.order is not None:
        return request.order
    # Rows of one current-spec partition in no sort order: read in file order.
    moving = group.spec_id != table.metadata.default_spec_id
    return write_order(table) if moving or table.sort_order().fields else ""


def _write_group(
    engine: Engine,
    name: TableName,
    table: Table,
    scan: ScanPlan,
    group: FileGroup,
    request: RewriteRequest,
) -> list[DataFile]:
    paths = {normalize(f.file_path) for f in group.files}
    own = replace(scan, files=tuple(f for f in scan.files if f.recorded in paths))
    order = _order(table, group, request)
    select = f"SELECT * FROM ({engine_scan_select(engine, own)}) AS __rows{order}"
    with engine.stream(select) as stream:
        return write_rows(table, str(name), stream.batches, options=request.options.writer)


def rewrite_data_files(lakehouse: Lakehouse, name: TableName, request: RewriteRequest) -> Rewritten:
    """Rewrite the table's small (or misplaced) files as ``request`` says; one commit."""
    table = lakehouse.load(name)
    refuse_relocated_write(table, name)
    refuse_unwritable_format(table.metadata, name)
    snapshot = table.current_snapshot()
    if snapshot is None:
        return Rewritten()
    spec_id = table.metadata.default_spec_id
    files = candidate_files(table, snapshot, request.row_filter)
    groups = plan_groups(files, spec_id, request.options)
    if request.choose is not None:
        groups = request.choose(groups)
    if not groups:
        return Rewritten()
    scan = plan_scan(table, name, snapshot, table.schema(), AlwaysTrue(), [])
    added: list[DataFile] = []
    engine = Engine()
    try:
        for group in groups:
            added += _write_group(engine, name, table, scan, group, request)
        removed = [f for group in groups for f in group.files]
        action = replace_action(name, table.io, snapshot, removed, added, spec_id)
        commit_with_retry(lakehouse, [(name, action)])
    except UnconfirmedCommitError:
        raise  # the commit may have landed: its files stay
    except BaseException:
        remove_files((f.file_path for f in added), table.io)
        raise
    finally:
        engine.close()
    return Rewritten(len(removed), len(added), sum(f.file_size_in_bytes for f in removed))
