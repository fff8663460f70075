"""Plan class -> the handler that runs it in a session.

The handlers of statements that need the catalog (and with it PyIceberg and SQLAlchemy)
are imported by their first statement, through the small functions below: a session
that only queries DuckDB, sets settings or opens transactions never imports them.
Queries import their lakehouse part the same way (see :mod:`sqllake.execute.query`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqllake.execute import query, schema, settings, transaction
from sqllake.plan import nodes
from sqllake.plan.refs import ChangeRef
from sqllake.result import Result

if TYPE_CHECKING:
    from sqllake.execute.context import Context

Handler = Callable[["Context", Any, Sequence[Any]], Result]


def _create_table(session: Context, plan: nodes.CreateTable, params: Sequence[Any]) -> Result:
    from sqllake.execute import table

    return table.create_table(session, plan, params)


def _drop_table(session: Context, plan: nodes.DropTable, params: Sequence[Any]) -> Result:
    from sqllake.execute import table

    return table.drop_table(session, plan, params)


def _rename_table(session: Context, plan: nodes.RenameTable, params: Sequence[Any]) -> Result:
    from sqllake.execute import table

    return table.rename_table(session, plan, params)


def _show_tables(session: Context, plan: nodes.ShowTables, params: Sequence[Any]) -> Result:
    from sqllake.execute import table

    return table.show_tables(session, plan, params)


def _describe_table(session: Context, plan: nodes.DescribeTable, params: Sequence[Any]) -> Result:
    from sqllake.execute import table

    return table.describe_table(session, plan, params)


def _show_create_table(
    session: Context, plan: nodes.ShowCreateTable, params: Sequence[Any]
) -> Result:
    from sqllake.execute import table

    return table.show_create_table(session, plan, params)


def _alter_table(session: Context, plan: nodes.AlterTable, params: Sequence[Any]) -> Result:
    from sqllake.execute import alter

    return alter.alter_table(session, plan, params)


def _alter_schema_properties(
    session: Context, plan: nodes.AlterSchemaProperties, params: Sequence[Any]
) -> Result:
    from sqllake.execute import alter

    return alter.alter_schema_properties(session, plan, params)


def _rename_schema(session: Context, plan: nodes.RenameSchema, params: Sequence[Any]) -> Result:
    from sqllake.execute import alter

    return alter.rename_schema(session, plan, params)


def _alter_ref(session: Context, plan: ChangeRef, params: Sequence[Any]) -> Result:
    from sqllake.execute import refs

    return refs.alter_ref(session, plan, params)


def _change_rows(session: Context, plan: nodes.ChangeRows, params: Sequence[Any]) -> Result:
    from sqllake.execute import rowlevel

    return rowlevel.change_rows(session, plan, params)


def _insert(session: Context, plan: nodes.Insert, params: Sequence[Any]) -> Result:
    from sqllake.execute import overwrite

    return overwrite.insert(session, plan, params)


def _truncate(session: Context, plan: nodes.Truncate, params: Sequence[Any]) -> Result:
    from sqllake.execute import overwrite

    return overwrite.truncate(session, plan, params)


def _call(session: Context, plan: nodes.CallProcedure, params: Sequence[Any]) -> Result:
    from sqllake.execute import procedures

    return procedures.call(session, plan, params)


def _flush_table(session: Context, plan: nodes.FlushTable, params: Sequence[Any]) -> Result:
    from sqllake.execute import procedures

    return procedures.flush_table(session, plan, params)


HANDLERS: dict[type[nodes.Plan], Handler] = {
    nodes.CreateSchema: schema.create_schema,
    nodes.DropSchema: schema.drop_schema,
    nodes.ShowSchemas: schema.show_schemas,
    nodes.UseSchema: schema.use_schema,
    nodes.CreateTable: _create_table,
    nodes.DropTable: _drop_table,
    nodes.RenameTable: _rename_table,
    nodes.AlterTable: _alter_table,
    ChangeRef: _alter_ref,
    nodes.AlterSchemaProperties: _alter_schema_properties,
    nodes.RenameSchema: _rename_schema,
    nodes.ShowTables: _show_tables,
    nodes.DescribeTable: _describe_table,
    nodes.ShowCreateTable: _show_create_table,
    nodes.Query: query.run_query,
    nodes.Explain: query.explain,
    nodes.ChangeRows: _change_rows,
    nodes.Insert: _insert,
    nodes.Truncate: _truncate,
    nodes.CallProcedure: _call,
    nodes.FlushTable: _flush_table,
    nodes.Begin: transaction.begin,
    nodes.Commit: transaction.commit,
    nodes.Rollback: transaction.rollback,
    nodes.SetSetting: settings.set_setting,
    nodes.ResetSetting: settings.reset_setting,
    nodes.Pragma: settings.pragma,
}
