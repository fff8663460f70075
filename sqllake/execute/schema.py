"""Namespaces: CREATE / DROP SCHEMA, SHOW SCHEMAS, USE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqllake.errors import ProgrammingError, located
from sqllake.plan import nodes
from sqllake.result import Result

if TYPE_CHECKING:
    from sqllake.context import Context


def create_schema(session: Context, plan: nodes.CreateSchema, params: Sequence[Any]) -> Result:
    with located(plan.name.offset):
        session.lakehouse.create_namespace(plan.name.parts, plan.if_not_exists)
    return Result.status_only("CREATE SCHEMA")


def drop_schema(session: Context, plan: nodes.DropSchema, params: Sequence[Any]) -> Result:
    with located(plan.name.offset):
        if plan.name.parts == session.schema and session.lakehouse.namespace_exists(
            plan.name.parts
        ):
            raise ProgrammingError(f"cannot drop the current schema {'.'.join(plan.name.parts)}")
        session.lakehouse.drop_namespace(plan.name.parts, plan.if_exists, plan.cascade)
    return Result.status_only("DROP SCHEMA")


def show_schemas(session: Context, plan: nodes.ShowSchemas, params: Sequence[Any]) -> Result:
    rows = [(name,) for name in session.lakehouse.namespaces()]
    return Result.rows("SHOW SCHEMAS", [("schema_name", "VARCHAR")], rows)


def use_schema(session: Context, plan: nodes.UseSchema, params: Sequence[Any]) -> Result:
    if not session.lakehouse.namespace_exists(plan.name.parts):
        raise ProgrammingError(
            f"schema {'.'.join(plan.name.parts)} does not exist", offset=plan.name.offset
        )
    session.schema = plan.name.parts
    return Result.status_only("USE")
