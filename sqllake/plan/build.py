"""Syntax tree -> typed plan, dispatched on the tree's node class.

Anything without an entry in :data:`PLANNERS` is refused: a statement sqlglot only
recognised as an opaque ``Command`` never runs.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.plan import nodes
from sqllake.plan.common import name_of, query_of, refuse
from sqllake.plan.rowlevel import PLANNERS as ROW_PLANNERS
from sqllake.plan.settings import PLANNERS as SETTINGS_PLANNERS
from sqllake.sql import alter as alter_sql
from sqllake.sql import dialect, refs
from sqllake.sql.syntax import normalize, offset_of

Planner = Callable[[exp.Expr, str], nodes.Plan]


def _create(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Create)
    kind = (tree.kind or "").upper()
    exists = bool(tree.args.get("exists"))
    if kind == "SCHEMA":
        return nodes.CreateSchema(name_of(tree.this), if_not_exists=exists)
    if kind != "TABLE":
        raise refuse(f"CREATE {kind}", tree)
    # A table's schema is planned in Iceberg's types: PyIceberg is imported with it.
    from sqllake.plan.create import plan_create_table

    return plan_create_table(tree, text)


def _alter_table(tree: exp.Expr, text: str) -> nodes.Plan:
    from sqllake.plan.alter import plan_alter_table

    return plan_alter_table(tree, text)


def _alter_schema(tree: exp.Expr, text: str) -> nodes.Plan:
    from sqllake.plan.alter import plan_alter_schema

    return plan_alter_schema(tree, text)


def _ref(tree: exp.Expr, text: str) -> nodes.Plan:
    from sqllake.plan.refs import plan_ref

    return plan_ref(tree, text)


def _drop(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Drop)
    kind = (tree.kind or "").upper()
    exists = bool(tree.args.get("exists"))
    if kind in ("SCHEMA", "DATABASE"):
        # sqlglot keeps a dropped schema's name as a table whose "db" part is the name.
        target = tree.this or (tree.args.get("tables") or [None])[0]
        if target is None:
            raise ProgrammingError("DROP SCHEMA needs a name", offset=0)
        return nodes.DropSchema(name_of(target), exists, bool(tree.args.get("cascade")))
    if kind != "TABLE":
        raise refuse(f"DROP {kind}", tree)
    tables = tree.args.get("tables") or [tree.this]
    if len(tables) != 1:
        raise refuse("dropping several tables in one statement", tree)
    return nodes.DropTable(name_of(tables[0]), exists, bool(tree.args.get("purge")))


def _partition_values(target: exp.Expr) -> tuple[nodes.PartitionValue, ...]:
    """The PARTITION (c = v, d, ...) clause of an INSERT's target."""
    table = target.this if isinstance(target, exp.Schema) else target
    clause = table.args.get("partition") if isinstance(table, exp.Table) else None
    if clause is None:
        return ()
    values = []
    for item in clause.expressions:
        column, value = (item.this, item.expression) if isinstance(item, exp.EQ) else (item, None)
        if not isinstance(column, exp.Column | exp.Identifier) or (
            isinstance(column, exp.Column) and column.table
        ):
            raise ProgrammingError(
                "PARTITION takes column names, each with an optional = value",
                offset=offset_of(item),
            )
        if value is not None and list(value.find_all(exp.Column)):
            raise ProgrammingError(
                f"the value of partition column {column.name} must be a constant",
                offset=offset_of(value),
            )
        values.append(nodes.PartitionValue(normalize(column.this), value, offset_of(column)))
    return tuple(values)


def _insert(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Insert)
    for option in ("conflict", "returning", "by_name", "alternative"):
        if tree.args.get(option):
            raise refuse(f"INSERT with {option.replace('_', ' ').upper()}", tree)
    target, source = tree.this, tree.expression
    overwrite = bool(tree.args.get("overwrite"))
    partition = _partition_values(target)
    if source is None and tree.args.get("default") and not isinstance(target, exp.Schema):
        if overwrite or partition:
            raise refuse("INSERT OVERWRITE or PARTITION with DEFAULT VALUES", tree)
        return nodes.Insert(name_of(target), None, None)  # DEFAULT VALUES
    if source is None:
        raise refuse("INSERT without VALUES or SELECT", tree)
    columns = None
    if isinstance(target, exp.Schema):
        columns = tuple((c.name, offset_of(c)) for c in target.expressions)
    return nodes.Insert(
        name_of(target), columns, query_of(source, text), overwrite=overwrite, partition=partition
    )


def _truncate(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.TruncateTable)
    if tree.args.get("is_database") or len(tree.expressions) != 1:
        raise refuse("TRUNCATE of several tables or a database", tree)
    for option in ("exists", "only", "cluster", "identity", "option", "partition"):
        if tree.args.get(option):
            raise refuse(f"TRUNCATE with {option.upper()}", tree)
    return nodes.Truncate(name_of(tree.expressions[0]))


def _describe(tree: exp.Expr, text: str) -> nodes.Plan:
    kind = str(tree.args.get("kind") or "TABLE").upper()
    if not isinstance(tree.this, exp.Table) or kind != "TABLE":
        raise refuse("DESCRIBE of a query", tree)
    return nodes.DescribeTable(name_of(tree.this))


def _explain(tree: exp.Expr, text: str) -> nodes.Plan:
    inner = tree.this
    if not isinstance(inner, exp.Query):
        raise refuse("EXPLAIN of a statement other than a query", inner)
    return nodes.Explain(query_of(inner, text), bool(tree.args.get("analyze")))


def _call(tree: exp.Expr, text: str) -> nodes.Plan:
    arguments = []
    for arg in tree.expressions:
        named = isinstance(arg, exp.Kwarg | exp.PropertyEQ)
        value = arg.expression if named else arg
        arguments.append(nodes.Argument(arg.this.name if named else None, value, offset_of(arg)))
    return nodes.CallProcedure(name_of(tree.this), tuple(arguments))


def _command(tree: exp.Expr, text: str) -> nodes.Plan:
    word = str(tree.this).split()[0].upper() if tree.this else "this statement"
    raise NotSupportedError(f"{word} is not supported", offset=0)


PLANNERS: dict[type[exp.Expr], Planner] = {
    exp.Create: _create,
    exp.Drop: _drop,
    alter_sql.AlterTable: _alter_table,
    alter_sql.AlterSchema: _alter_schema,
    refs.AlterTableRef: _ref,
    exp.Use: lambda tree, text: nodes.UseSchema(name_of(tree.this)),
    dialect.ShowSchemas: lambda tree, text: nodes.ShowSchemas(),
    dialect.ShowTables: lambda tree, text: nodes.ShowTables(
        name_of(tree.this) if tree.this else None,
        tree.args["like"].name if tree.args.get("like") else None,
        bool(tree.args.get("extended")),
    ),
    dialect.ShowCreateTable: lambda tree, text: nodes.ShowCreateTable(name_of(tree.this)),
    exp.Describe: _describe,
    dialect.Explain: _explain,
    dialect.Call: _call,
    dialect.Flush: lambda tree, text: nodes.FlushTable(name_of(tree.this)),
    exp.Select: query_of,
    exp.Union: query_of,
    exp.Intersect: query_of,
    exp.Except: query_of,
    exp.Values: query_of,
    exp.Insert: _insert,
    exp.TruncateTable: _truncate,
    exp.Transaction: lambda tree, text: nodes.Begin(),
    exp.Commit: lambda tree, text: nodes.Commit(),
    exp.Rollback: lambda tree, text: nodes.Rollback(),
    exp.Command: _command,
    **SETTINGS_PLANNERS,
    **ROW_PLANNERS,
}

# Statements sqlglot parses that sqllake does not run (yet).
_KNOWN_STATEMENTS = (
    exp.DML,
    exp.DDL,
    exp.Pragma,
    exp.Set,
    exp.Copy,
    exp.Show,
    exp.Kill,
    exp.TruncateTable,
)


def build(tree: exp.Expr, text: str) -> nodes.Plan:
    planner = PLANNERS.get(type(tree))
    if planner is not None:
        return planner(tree, text)
    if isinstance(tree, _KNOWN_STATEMENTS):
        keyword = text.split()[0].upper() if text.split() else type(tree).__name__
        raise NotSupportedError(f"{keyword} is not supported", offset=0)
    raise ProgrammingError(
        f"syntax error near {text.split()[0]!r}: not a statement"
        if text.split()
        else "empty statement",
        offset=0,
    )
