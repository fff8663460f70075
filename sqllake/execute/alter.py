"""ALTER TABLE and ALTER SCHEMA: schema evolution and properties, one metadata commit each.

Every action of one ALTER TABLE statement goes into one Iceberg transaction, so the
table gets one new schema (and metadata file) or, if any action is refused, nothing.
A conflict with another writer's commit is retried on the fresh metadata, where each
action is checked again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pyiceberg.exceptions import ValidationError
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction
from pyiceberg.table.sorting import NullOrder
from pyiceberg.table.update.schema import UpdateSchema
from pyiceberg.table.update.sorting import UpdateSortOrder
from pyiceberg.table.update.spec import UpdateSpec
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DecimalType, NestedField, StructType

from sqllake.catalog import TableName, refuse_relocated_write
from sqllake.compat import iceberg_v3
from sqllake.errors import NotSupportedError, ProgrammingError, located
from sqllake.execute.defaults import evaluate_default, refuse_before_v3
from sqllake.plan import nodes
from sqllake.result import Result
from sqllake.translation import MISSING_FIELD, pyiceberg_says
from sqllake.types import check_identifier_field, duckdb_type
from sqllake.write.commit import commit_with_retry

if TYPE_CHECKING:
    from sqllake.context import Context


class AlterContext:
    """What an action changes: the table's transaction and its pending updates.

    Each kind of update (schema, partition spec, sort order) is created when an action
    first needs it; a pending schema update is staged before a spec or sort update is
    created, so ``ADD COLUMN c ..., ADD PARTITION FIELD c`` sees the new column.
    """

    def __init__(
        self, name: TableName, tx: Transaction, defaults: dict[int, Any] | None = None
    ) -> None:
        self.name = name
        self.tx = tx
        # The value of each action's DEFAULT (by the action's id), evaluated beforehand.
        self.defaults = defaults or {}
        self._schema: UpdateSchema | None = None
        self._spec: UpdateSpec | None = None
        self._sort: UpdateSortOrder | None = None

    @property
    def update(self) -> UpdateSchema:
        if self._schema is None:
            self._schema = self.tx.update_schema(case_sensitive=False)
        return self._schema

    @property
    def spec(self) -> UpdateSpec:
        self._stage_schema()
        if self._spec is None:
            self._spec = self.tx.update_spec()
        return self._spec

    @property
    def sort(self) -> UpdateSortOrder:
        self._stage_schema()
        if self._sort is None:
            self._sort = self.tx.update_sort_order(case_sensitive=False)
        return self._sort

    def _stage_schema(self) -> None:
        if self._schema is not None:
            self._schema.commit()
            self._schema = None

    def stage(self) -> None:
        """Stage every pending update into the transaction."""
        self._stage_schema()
        for update in (self._spec, self._sort):
            if update is not None:
                update.commit()


FORMAT_VERSION = "format-version"

LEGAL_PROMOTIONS = (
    "INT -> BIGINT, FLOAT -> DOUBLE, DECIMAL(p,s) -> DECIMAL(p2,s) with p2 >= p "
    "(and the same for list elements and map values)"
)


def _exists(ctx: AlterContext, column: nodes.ColumnRef) -> bool:
    try:
        ctx.tx.table_metadata.schema().find_field(".".join(column.path), False)
    except ValueError:
        return False
    return True


def _add(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.AddColumn)
    if action.if_not_exists and _exists(ctx, action.column):
        return
    default = ctx.defaults.get(id(action))
    if action.default is not None:
        refuse_before_v3(
            ctx.tx.table_metadata.format_version, str(ctx.name), f"DEFAULT of {action.column}"
        )
    if action.required and default is None:
        raise NotSupportedError(
            f"a new column cannot be NOT NULL without a DEFAULT: the existing rows have no "
            f"value for {action.column}; add it nullable, or with a DEFAULT (format 3), "
            "which the existing rows then read"
        )
    path = action.column.path
    ctx.update.add_column(
        path, action.field_type, doc=action.doc, required=action.required, default_value=default
    )
    if action.first:
        ctx.update.move_first(path)
    elif action.after is not None:
        ctx.update.move_after(path, action.after.path)


def _set_default(ctx: AlterContext, action: nodes.AlterAction) -> None:
    """SET DEFAULT / DROP DEFAULT: the write default (rows already written keep theirs)."""
    assert isinstance(action, nodes.SetColumnDefault)
    field = _find(ctx, ctx.tx.table_metadata.schema(), action.column)
    if action.default is None and field.write_default is None:
        return
    refuse_before_v3(
        ctx.tx.table_metadata.format_version, str(ctx.name), f"DEFAULT of {action.column}"
    )
    if action.default is None and field.required:
        raise ProgrammingError(
            f"column {action.column} of table {ctx.name} is NOT NULL: its DEFAULT can be "
            "changed, not dropped"
        )
    ctx.update.set_default_value(action.column.path, ctx.defaults.get(id(action)))


def _drop(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.DropColumn)
    if action.if_exists and not _exists(ctx, action.column):
        return
    if _in_key(ctx, action.column):
        raise ProgrammingError(
            f"cannot drop identifier field {action.column} of table {ctx.name} (part of its "
            "PRIMARY KEY); SET IDENTIFIER FIELDS without it first"
        )
    ctx.update.delete_column(action.column.path)


def _rename(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.RenameColumn)
    ctx.update.rename_column(action.column.path, action.new_name)


def _set_type(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.SetColumnType)
    refusal = NotSupportedError(
        f"cannot change the type of {action.column} to {duckdb_type(action.field_type)}: "
        f"Iceberg allows only {LEGAL_PROMOTIONS}"
    )
    current = _find(ctx, ctx.tx.table_metadata.schema(), action.column).field_type
    new = action.field_type
    # PyIceberg's promotion check ignores a decimal's scale, which would round old values.
    decimals = isinstance(current, DecimalType) and isinstance(new, DecimalType)
    if decimals and (new.scale != current.scale or new.precision < current.precision):  # type: ignore[attr-defined]
        raise refusal
    try:
        ctx.update.update_column(action.column.path, field_type=new)
    except (ValidationError, ValueError, TypeError) as exc:
        if pyiceberg_says(exc, MISSING_FIELD):
            raise
        raise refusal from exc


def _nullability(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.SetColumnNullability)
    if action.required:
        raise NotSupportedError(
            f"cannot make {action.column} NOT NULL: rows already written may hold NULLs and "
            "Iceberg tables are not checked; create a new table with the constraint instead"
        )
    if _in_key(ctx, action.column):
        raise ProgrammingError(
            f"column {action.column} is an identifier field (PRIMARY KEY) of table {ctx.name}, "
            "which must stay NOT NULL"
        )
    ctx.update.update_column(action.column.path, required=False)


def _comment(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.SetColumnComment)
    ctx.update.update_column(action.column.path, doc=action.doc)


def _identifier_fields(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.SetIdentifierFields)
    schema = ctx.tx.table_metadata.schema()
    if action.add and schema.identifier_field_ids:
        raise ProgrammingError(
            f"table {ctx.name} already has a PRIMARY KEY (identifier fields); "
            "SET IDENTIFIER FIELDS replaces it"
        )
    names = []
    for column in action.columns:
        with located(column.offset):
            field = _find(ctx, schema, column)
            check_identifier_field(field, str(column))
        names.append(schema.find_column_name(field.field_id) or str(column))
    ctx.update.set_identifier_fields(*names)


def _find(ctx: AlterContext, schema: Schema, column: nodes.ColumnRef) -> NestedField:
    try:
        return schema.find_field(".".join(column.path), case_sensitive=False)
    except ValueError:
        raise ProgrammingError(f"table {ctx.name} has no column {column}") from None


def _in_key(ctx: AlterContext, column: nodes.ColumnRef) -> bool:
    schema = ctx.tx.table_metadata.schema()
    try:
        field = schema.find_field(".".join(column.path), case_sensitive=False)
    except ValueError:
        return False
    return field.field_id in schema.identifier_field_ids


def _set_properties(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.SetProperties)
    properties = dict(action.properties)
    version = properties.pop(FORMAT_VERSION, None)
    if version is not None:
        # Not a property but the table's format: an upgrade (never a downgrade).
        if not version.isdigit() or int(version) < ctx.tx.table_metadata.format_version:
            raise NotSupportedError(
                f"cannot set format-version of {ctx.name} to {version}: an Iceberg table's "
                f"format can only be upgraded (it is {ctx.tx.table_metadata.format_version})"
            )
        iceberg_v3.upgrade(ctx.tx, int(version))
    if properties:
        ctx.tx.set_properties(properties)


def _unset_properties(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.UnsetProperties)
    present = ctx.tx.table_metadata.properties
    missing = [
        (key, at)
        for key, at in zip(action.keys, action.offsets, strict=False)
        if key not in present
    ]
    if missing and not action.if_exists:
        raise ProgrammingError(
            f"table {ctx.name} has no property {missing[0][0]}", offset=missing[0][1]
        )
    keys = [key for key in action.keys if key in present]
    if keys:
        ctx.tx.remove_properties(*keys)


def _matching_field(ctx: AlterContext, item: nodes.PartitionItem) -> str | None:
    """The name of the current partition field that ``item`` names (by name or
    transform), or None."""
    spec = ctx.tx.table_metadata.spec()
    schema = ctx.tx.table_metadata.schema()
    for field in spec.fields:
        if (
            isinstance(item.transform, IdentityTransform)
            and field.name.lower() == item.source.lower()
        ):
            return field.name
        source = schema.find_column_name(field.source_id) or ""
        if source.lower() == item.source.lower() and field.transform == item.transform:
            return field.name
    return None


def _spec_field_name(ctx: AlterContext, item: nodes.PartitionItem) -> str:
    """The name of the current partition field that ``item`` names (by name or transform)."""
    found = _matching_field(ctx, item)
    if found is None:
        raise ProgrammingError(
            f"table {ctx.name} has no partition field {item.transform}({item.source})"
        )
    return found


def _add_partition(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.AddPartitionField)
    spec = ctx.spec  # stages earlier column changes, so the field can be a new column
    if action.if_not_exists and _matching_field(ctx, action.item) is not None:
        return
    column = nodes.ColumnRef((action.item.source,), action.item.offset)
    source = _find(ctx, ctx.tx.table_metadata.schema(), column)
    spec.add_field(_column_name(ctx, source), action.item.transform, action.name)


def _set_partitioning(ctx: AlterContext, action: nodes.AlterAction) -> None:
    """DuckDB's SET PARTITIONED BY: fields the new list keeps stay as they are (with
    their field ids), the others are dropped, the new ones added."""
    assert isinstance(action, nodes.SetPartitioning)
    spec = ctx.spec
    kept = set()
    for item in action.items:
        with located(item.offset):
            column = nodes.ColumnRef((item.source,), item.offset)
            source = _find(ctx, ctx.tx.table_metadata.schema(), column)
        name = next(
            (
                f.name
                for f in ctx.tx.table_metadata.spec().fields
                if f.source_id == source.field_id and f.transform == item.transform
            ),
            None,
        )
        if name is None:
            with located(item.offset):
                spec.add_field(_column_name(ctx, source), item.transform)
        else:
            kept.add(name)
    for field in ctx.tx.table_metadata.spec().fields:
        if field.name not in kept:
            spec.remove_field(field.name)


def _column_name(ctx: AlterContext, field: NestedField) -> str:
    return ctx.tx.table_metadata.schema().find_column_name(field.field_id) or field.name


def _drop_partition(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.DropPartitionField)
    if action.if_exists and _matching_field(ctx, action.item) is None:
        return
    ctx.spec.remove_field(_spec_field_name(ctx, action.item))


def _replace_partition(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.ReplacePartitionField)
    spec = ctx.spec
    spec.remove_field(_spec_field_name(ctx, action.old))
    column = nodes.ColumnRef((action.new.source,), action.new.offset)
    source = _find(ctx, ctx.tx.table_metadata.schema(), column)
    spec.add_field(_column_name(ctx, source), action.new.transform, action.name)


def _write_order(ctx: AlterContext, action: nodes.AlterAction) -> None:
    assert isinstance(action, nodes.SetWriteOrder)
    sort = ctx.sort
    schema = ctx.tx.table_metadata.schema()
    for item in action.items:
        with located(item.offset):
            field = _find(ctx, schema, nodes.ColumnRef((item.column,), item.offset))
        nulls = NullOrder.NULLS_FIRST if item.nulls_first else NullOrder.NULLS_LAST
        add = sort.desc if item.descending else sort.asc
        add(_column_name(ctx, field), IdentityTransform(), nulls)


Apply = Callable[[AlterContext, nodes.AlterAction], None]

ACTIONS: dict[type, Apply] = {
    nodes.AddColumn: _add,
    nodes.SetColumnDefault: _set_default,
    nodes.DropColumn: _drop,
    nodes.RenameColumn: _rename,
    nodes.SetColumnType: _set_type,
    nodes.SetColumnNullability: _nullability,
    nodes.SetColumnComment: _comment,
    nodes.SetIdentifierFields: _identifier_fields,
    nodes.SetProperties: _set_properties,
    nodes.UnsetProperties: _unset_properties,
    nodes.AddPartitionField: _add_partition,
    nodes.DropPartitionField: _drop_partition,
    nodes.ReplacePartitionField: _replace_partition,
    nodes.SetPartitioning: _set_partitioning,
    nodes.SetWriteOrder: _write_order,
}


def _offset(action: nodes.AlterAction) -> int | None:
    """Where the action's column or partition field was written."""
    for attribute in ("column", "item", "old"):
        target = getattr(action, attribute, None)
        if isinstance(target, nodes.ColumnRef | nodes.PartitionItem):
            return target.offset
    if isinstance(action, nodes.SetWriteOrder | nodes.SetPartitioning) and action.items:
        offset: int = action.items[0].offset
        return offset
    if isinstance(action, nodes.UnsetProperties) and action.offsets:
        return action.offsets[0]
    return None


def _refuse_duplicate_names(name: TableName, struct: StructType, path: str = "") -> None:
    """Column names are matched without regard to case, so two may not differ only by it;
    and a struct keeps at least one field (Parquet cannot store an empty one)."""
    if not struct.fields and path:
        raise NotSupportedError(
            f"cannot drop the last field of struct {path.rstrip('.')} of table {name}; "
            "drop the struct column instead"
        )
    seen: dict[str, str] = {}
    for field in struct.fields:
        key = field.name.lower()
        if key in seen:
            raise ProgrammingError(
                f"table {name} would have two columns named "
                f"{path}{seen[key]} and {path}{field.name}"
            )
        seen[key] = field.name
        if isinstance(field.field_type, StructType):
            _refuse_duplicate_names(name, field.field_type, f"{path}{field.name}.")


def _defaults(
    session: Context, table: Table, actions: Sequence[nodes.AlterAction]
) -> dict[int, Any]:
    """The value of every DEFAULT the actions give, by action (evaluated once, in the
    column's type, before the commit that may be retried)."""
    values: dict[int, Any] = {}
    schema = table.schema()
    for action in actions:
        if isinstance(action, nodes.AddColumn) and action.default is not None:
            itype = action.field_type
        elif isinstance(action, nodes.SetColumnDefault) and action.default is not None:
            try:
                itype = schema.find_field(".".join(action.column.path), False).field_type
            except ValueError:
                continue  # the action reports the missing column
        else:
            continue
        assert action.default is not None
        values[id(action)] = evaluate_default(session, action.default, itype, str(action.column))
    return values


def alter_table(session: Context, plan: nodes.AlterTable, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.name)
    if plan.if_exists and not session.lakehouse.exists(name):
        return Result.status_only("ALTER TABLE")
    refuse_relocated_write(session.load(name, plan.name.offset), name)
    if session.transaction.wrote(name):
        raise NotSupportedError(f"cannot alter {name} while this transaction has writes to it")

    defaults = _defaults(session, session.load(name), plan.actions)

    def apply(tx: Transaction) -> None:
        context = AlterContext(name, tx, defaults)
        for action in plan.actions:
            with located(_offset(action)):
                try:
                    ACTIONS[type(action)](context, action)
                except (ValueError, ValidationError) as exc:
                    column = getattr(action, "column", None)
                    if column is not None and pyiceberg_says(exc, MISSING_FIELD):
                        raise ProgrammingError(f"table {name} has no column {column}") from exc
                    raise ProgrammingError(f"table {name}: {exc}") from exc
        try:
            context.stage()
        except (ValueError, ValidationError) as exc:
            raise ProgrammingError(f"table {name}: {exc}") from exc
        _refuse_duplicate_names(name, tx.table_metadata.schema().as_struct())

    commit_with_retry(session.lakehouse, [(name, apply)])
    return Result.status_only("ALTER TABLE")


def alter_schema_properties(
    session: Context, plan: nodes.AlterSchemaProperties, params: Sequence[Any]
) -> Result:
    with located(plan.name.offset):
        session.lakehouse.set_namespace_properties(plan.name.parts, plan.properties)
    return Result.status_only("ALTER SCHEMA")


def rename_schema(session: Context, plan: nodes.RenameSchema, params: Sequence[Any]) -> Result:
    raise NotSupportedError(
        "ALTER SCHEMA ... RENAME TO: Iceberg catalogs reached through PyIceberg cannot rename "
        "a schema; create the new schema and ALTER TABLE ... RENAME TO each table into it",
        offset=plan.name.offset,
    )
