"""ALTER TABLE ... CREATE / REPLACE / DROP BRANCH | TAG: one metadata commit each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqllake.catalog import refuse_relocated_write
from sqllake.errors import located
from sqllake.plan.refs import ChangeRef
from sqllake.result import Result
from sqllake.write.refs import change_ref

if TYPE_CHECKING:
    from sqllake.context import Context


def alter_ref(session: Context, plan: ChangeRef, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.table)
    table = session.load(name, plan.table.offset)
    refuse_relocated_write(table, name)
    with located(plan.offset):
        change_ref(session.lakehouse, name, plan.change)
    verb = "DROP" if plan.change.drop else "CREATE" if plan.change.create else "REPLACE"
    return Result.status_only(f"{verb} {plan.change.kind.value.upper()}")
