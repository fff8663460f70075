"""ALTER TABLE / ALTER SCHEMA trees -> typed plans, one dataclass per action."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sqllake.errors import NotSupportedError, located
from sqllake.plan import nodes
from sqllake.plan.common import name_of, properties_of, property_value, refuse
from sqllake.plan.partition import partition_item, partition_items
from sqllake.sql import alter
from sqllake.sql.syntax import offset_of
from sqllake.types import field_ids, iceberg_type


def _column(path: exp.Expr) -> nodes.ColumnRef:
    assert isinstance(path, alter.ColumnPath)
    return nodes.ColumnRef(path.path, offset_of(path))


def _add(action: exp.Expr) -> nodes.AlterAction:
    column = _column(action.this)
    with located(column.offset):
        field_type = iceberg_type(action.args["kind"], field_ids(), f"column {column}")
    comment = action.args.get("comment")
    after = action.args.get("after")
    return nodes.AddColumn(
        column,
        field_type,
        required=bool(action.args.get("not_null")),
        doc=comment.name if comment else None,
        first=bool(action.args.get("first")),
        after=_column(after) if after is not None else None,
        if_not_exists=bool(action.args.get("exists")),
        default=default_of(action.args.get("default")),
    )


# Expressions whose value changes from row to row or statement to statement.
_VOLATILE = (
    exp.Select,
    exp.Column,
    exp.Table,
    exp.CurrentTimestamp,
    exp.CurrentDate,
    exp.CurrentTime,
    exp.Localtimestamp,
    exp.Rand,
    exp.Uuid,
    exp.Placeholder,
)
_VOLATILE_NAMES = {
    "now",
    "nextval",
    "currval",
    "get_current_timestamp",
    "get_current_time",
    "transaction_timestamp",
    "current_localtimestamp",
    "current_localtime",
    "random",
    "setseed",
}


def default_of(value: exp.Expr | None) -> nodes.Default | None:
    """A DEFAULT value as written; it must be a constant: Iceberg stores the value
    itself (``now()`` or a sequence would be evaluated once, not per row)."""
    if value is None:
        return None
    offset = int(value.meta.get("start", offset_of(value)))
    volatile = value.find(*_VOLATILE) or next(
        (f for f in value.find_all(exp.Anonymous) if f.name.lower() in _VOLATILE_NAMES), None
    )
    if volatile is not None:
        raise NotSupportedError(
            f"DEFAULT {value.sql(dialect='duckdb')}: an Iceberg default is a constant value "
            "(an expression evaluated per row, such as now() or nextval(), has no Iceberg "
            "form); give a constant",
            offset=offset,
        )
    return nodes.Default(value, offset)


def _set_type(action: exp.Expr) -> nodes.AlterAction:
    column = _column(action.this)
    with located(column.offset):
        field_type = iceberg_type(action.args["kind"], field_ids(), str(column))
    return nodes.SetColumnType(column, field_type)


def _alias(action: exp.Expr) -> str | None:
    alias = action.args.get("alias")
    return alias.name if alias is not None else None


def _sort_items(action: exp.Expr) -> nodes.AlterAction:
    items = []
    for ordered in action.expressions:
        column = ordered.this
        if not isinstance(column, exp.Column):
            raise refuse("WRITE ORDERED BY an expression (name columns)", column)
        items.append(
            nodes.SortItem(
                column.name,
                bool(ordered.args.get("desc")),
                bool(ordered.args.get("nulls_first")),
                offset_of(column),
            )
        )
    return nodes.SetWriteOrder(tuple(items))


ACTIONS: dict[type[exp.Expr], Callable[[exp.Expr], nodes.AlterAction]] = {
    alter.AddPartitionField: lambda a: nodes.AddPartitionField(
        partition_item(a.this), _alias(a), bool(a.args.get("exists"))
    ),
    alter.DropPartitionField: lambda a: nodes.DropPartitionField(
        partition_item(a.this), bool(a.args.get("exists"))
    ),
    alter.SetPartitioning: lambda a: nodes.SetPartitioning(partition_items(a.expressions)),
    alter.SetColumnDefault: lambda a: nodes.SetColumnDefault(
        _column(a.this), default_of(a.expression)
    ),
    alter.AddPrimaryKey: lambda a: nodes.SetIdentifierFields(
        tuple(_column(p) for p in a.expressions), add=True
    ),
    alter.ReplacePartitionField: lambda a: nodes.ReplacePartitionField(
        partition_item(a.this), partition_item(a.expression), _alias(a)
    ),
    alter.WriteOrderedBy: _sort_items,
    alter.AddColumn: _add,
    alter.DropColumn: lambda a: nodes.DropColumn(_column(a.this), bool(a.args.get("exists"))),
    alter.RenameColumn: lambda a: nodes.RenameColumn(_column(a.this), a.args["to"].name),
    alter.SetColumnType: _set_type,
    alter.SetColumnNullability: lambda a: nodes.SetColumnNullability(
        _column(a.this), bool(a.args["not_null"])
    ),
    alter.SetColumnComment: lambda a: nodes.SetColumnComment(
        _column(a.this), a.args["comment"].name
    ),
    alter.SetProperties: lambda a: nodes.SetProperties(properties_of(a.expressions)),
    alter.UnsetProperties: lambda a: nodes.UnsetProperties(
        tuple(property_value(k) for k in a.expressions),
        bool(a.args.get("exists")),
        tuple(offset_of(k) for k in a.expressions),
    ),
    alter.SetIdentifierFields: lambda a: nodes.SetIdentifierFields(
        tuple(_column(p) for p in a.expressions)
    ),
}


def plan_alter_table(tree: exp.Expr, text: str) -> nodes.Plan:
    actions = tree.expressions
    exists = bool(tree.args.get("exists"))
    if len(actions) == 1 and isinstance(actions[0], alter.RenameTo):
        return nodes.RenameTable(name_of(tree.this), name_of(actions[0].this), exists)
    planned = []
    for action in actions:
        if isinstance(action, alter.RenameTo):
            raise refuse("RENAME TO together with other changes", action)
        planned.append(ACTIONS[type(action)](action))
    return nodes.AlterTable(name_of(tree.this), tuple(planned), exists)


def plan_alter_schema(tree: exp.Expr, text: str) -> nodes.Plan:
    (action,) = tree.expressions
    if isinstance(action, alter.RenameTo):
        return nodes.RenameSchema(name_of(tree.this), name_of(action.this))
    properties = properties_of(action.expressions, owner="schema")
    return nodes.AlterSchemaProperties(name_of(tree.this), properties)
