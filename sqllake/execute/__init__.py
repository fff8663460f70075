"""Plan class -> the handler that runs it in a session.

The handlers of statements that need the catalog (and with it PyIceberg and SQLAlchemy)
are named by module and function and imported by their first statement (:class:`Lazy`): a
session that only queries DuckDB, sets settings or opens transactions never imports them.
Queries import their lakehouse part the same way (see :mod:`sqllake.execute.query`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqllake.execute import query, schema, settings, transaction
from sqllake.plan import nodes
from sqllake.plan.refs import ChangeRef
from sqllake.result import Result

if TYPE_CHECKING:
    from sqllake.context import Context

Handler = Callable[["Context", Any, Sequence[Any]], Result]


@dataclass(frozen=True)
class Lazy:
    """The handler ``sqllake.execute.<module>.<function>``, imported by its first call."""

    module: str
    function: str

    def resolve(self) -> Handler:
        found: Handler = getattr(
            importlib.import_module(f"sqllake.execute.{self.module}"), self.function
        )
        return found

    def __call__(self, session: Context, plan: Any, params: Sequence[Any]) -> Result:
        return self.resolve()(session, plan, params)


HANDLERS: dict[type[nodes.Plan], Handler] = {
    nodes.CreateSchema: schema.create_schema,
    nodes.DropSchema: schema.drop_schema,
    nodes.ShowSchemas: schema.show_schemas,
    nodes.UseSchema: schema.use_schema,
    nodes.CreateTable: Lazy("table", "create_table"),
    nodes.DropTable: Lazy("table", "drop_table"),
    nodes.RenameTable: Lazy("table", "rename_table"),
    nodes.AlterTable: Lazy("alter", "alter_table"),
    ChangeRef: Lazy("refs", "alter_ref"),
    nodes.AlterSchemaProperties: Lazy("alter", "alter_schema_properties"),
    nodes.RenameSchema: Lazy("alter", "rename_schema"),
    nodes.ShowTables: Lazy("table", "show_tables"),
    nodes.DescribeTable: Lazy("table", "describe_table"),
    nodes.ShowCreateTable: Lazy("table", "show_create_table"),
    nodes.Query: query.run_query,
    nodes.Explain: query.explain,
    nodes.ChangeRows: Lazy("rowlevel", "change_rows"),
    nodes.Insert: Lazy("overwrite", "insert"),
    nodes.Truncate: Lazy("overwrite", "truncate"),
    nodes.CallProcedure: Lazy("procedures", "call"),
    nodes.FlushTable: Lazy("procedures", "flush_table"),
    nodes.Begin: transaction.begin,
    nodes.Commit: transaction.commit,
    nodes.Rollback: transaction.rollback,
    nodes.SetSetting: settings.set_setting,
    nodes.ResetSetting: settings.reset_setting,
    nodes.Pragma: settings.pragma,
}
