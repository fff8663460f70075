"""Plan class -> the handler that runs it in a session."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqllake.execute import (
    alter,
    overwrite,
    procedures,
    query,
    refs,
    rowlevel,
    schema,
    settings,
    table,
    transaction,
)
from sqllake.plan import nodes
from sqllake.plan.refs import ChangeRef
from sqllake.result import Result

if TYPE_CHECKING:
    from sqllake.execute.context import Context

Handler = Callable[["Context", Any, Sequence[Any]], Result]

HANDLERS: dict[type[nodes.Plan], Handler] = {
    nodes.CreateSchema: schema.create_schema,
    nodes.DropSchema: schema.drop_schema,
    nodes.ShowSchemas: schema.show_schemas,
    nodes.UseSchema: schema.use_schema,
    nodes.CreateTable: table.create_table,
    nodes.DropTable: table.drop_table,
    nodes.RenameTable: table.rename_table,
    nodes.AlterTable: alter.alter_table,
    ChangeRef: refs.alter_ref,
    nodes.AlterSchemaProperties: alter.alter_schema_properties,
    nodes.RenameSchema: alter.rename_schema,
    nodes.ShowTables: table.show_tables,
    nodes.DescribeTable: table.describe_table,
    nodes.ShowCreateTable: table.show_create_table,
    nodes.Query: query.run_query,
    nodes.Explain: query.explain,
    nodes.ChangeRows: rowlevel.change_rows,
    nodes.Insert: overwrite.insert,
    nodes.Truncate: overwrite.truncate,
    nodes.CallProcedure: procedures.call,
    nodes.FlushTable: procedures.flush_table,
    nodes.Begin: transaction.begin,
    nodes.Commit: transaction.commit,
    nodes.Rollback: transaction.rollback,
    nodes.SetSetting: settings.set_setting,
    nodes.ResetSetting: settings.reset_setting,
    nodes.Pragma: settings.pragma,
}
