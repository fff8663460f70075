"""Syntax tree -> typed plan, dispatched on the tree's node class.

Anything without an entry in :data:`PLANNERS` is refused: a statement sqlglot only
recognised as an opaque ``Command`` never runs.
"""

from __future__ import annotations

from collections.abc import Callable

from pyiceberg.schema import Schema
from pyiceberg.types import NestedField
from sqlglot import exp

from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.plan import nodes
from sqllake.read.query import normalize, offset_of
from sqllake.sql import dialect
from sqllake.types import field_ids, iceberg_type

Planner = Callable[[exp.Expr, str], nodes.Plan]


def _name(node: exp.Expr) -> nodes.Name:
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        parts = tuple(normalize(p) for p in node.parts)
    elif isinstance(node, exp.Identifier | exp.Var | exp.Column | exp.Dot):
        parts = tuple(normalize(p) for p in node.parts) if hasattr(node, "parts") else (node.name,)
    else:
        raise ProgrammingError("expected a name", offset=offset_of(node))
    return nodes.Name(parts, offset_of(node))


def _query(tree: exp.Expr, text: str) -> nodes.Query:
    return nodes.Query(tree, text, len(list(tree.find_all(exp.Placeholder))))


def _refuse(what: str, node: exp.Expr) -> NotSupportedError:
    return NotSupportedError(f"{what} is not supported", offset=offset_of(node))


# Column constraints: which ones CREATE TABLE understands.
_COLUMN_CONSTRAINTS = {exp.NotNullColumnConstraint, exp.CommentColumnConstraint}


def _column(column: exp.Expr, ids: object) -> NestedField:
    if not isinstance(column, exp.ColumnDef) or not isinstance(
        column.args.get("kind"), exp.DataType
    ):
        raise ProgrammingError("expected a column name and type", offset=offset_of(column))
    required, doc = False, None
    for constraint in column.constraints:
        kind = constraint.args.get("kind")
        if type(kind) not in _COLUMN_CONSTRAINTS:
            raise _refuse(f"column constraint {kind.sql('duckdb') if kind else ''}", constraint)
        if isinstance(kind, exp.NotNullColumnConstraint):
            required = not kind.args.get("allow_null")
        elif isinstance(kind, exp.CommentColumnConstraint):
            doc = kind.this.name
    name = column.this.name
    field_type = iceberg_type(column.args["kind"], ids, f"column {name}")  # type: ignore[arg-type]
    return NestedField(next(ids), name, field_type, required=required, doc=doc)  # type: ignore[call-overload]


def _schema(columns: list[exp.Expr]) -> Schema:
    ids = field_ids()
    fields, seen = [], set()
    for column in columns:
        field = _column(column, ids)
        if field.name.lower() in seen:
            raise ProgrammingError(f"column {field.name} is listed twice", offset=offset_of(column))
        seen.add(field.name.lower())
        fields.append(field)
    return Schema(*fields)


def _property_value(node: exp.Expr) -> str:
    if isinstance(node, exp.Literal | exp.Var | exp.Identifier | exp.Boolean):
        return str(node.this).lower() if isinstance(node, exp.Boolean) else node.name
    raise ProgrammingError("a table property value must be a literal", offset=offset_of(node))


# Trino spellings of Iceberg table properties.
_PROPERTY_ALIASES = {"format_version": "format-version"}


def _properties(create: exp.Create) -> dict[str, str]:
    properties: dict[str, str] = {}
    found = create.args.get("properties")
    for prop in found.expressions if found else []:
        if isinstance(prop, exp.PartitionedByProperty):
            raise _refuse("PARTITIONED BY", prop)
        if not isinstance(prop, exp.Property):
            raise _refuse(f"table option {prop.sql('duckdb')}", prop)
        key = _property_value(prop.this)
        properties[_PROPERTY_ALIASES.get(key.lower(), key)] = _property_value(prop.args["value"])
    return properties


def _create(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Create)
    kind = (tree.kind or "").upper()
    exists = bool(tree.args.get("exists"))
    if kind == "SCHEMA":
        return nodes.CreateSchema(_name(tree.this), if_not_exists=exists)
    if kind != "TABLE":
        raise _refuse(f"CREATE {kind}", tree)
    if tree.args.get("temporary") or any(
        isinstance(p, exp.TemporaryProperty)
        for p in (tree.args["properties"].expressions if tree.args.get("properties") else [])
    ):
        raise _refuse("CREATE TEMPORARY TABLE", tree)
    target = tree.this
    columns = target.expressions if isinstance(target, exp.Schema) else []
    query = tree.expression
    if query is not None and columns:
        raise _refuse("a column list with CREATE TABLE ... AS", tree)
    if query is None and not columns:
        raise ProgrammingError("CREATE TABLE needs columns or AS SELECT", offset=offset_of(tree))
    return nodes.CreateTable(
        name=_name(target),
        schema=_schema(columns) if columns else None,
        properties=_properties(tree),
        if_not_exists=exists,
        or_replace=bool(tree.args.get("replace")),
        query=_query(query, text) if query is not None else None,
    )


def _drop(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Drop)
    kind = (tree.kind or "").upper()
    exists = bool(tree.args.get("exists"))
    if kind in ("SCHEMA", "DATABASE"):
        return nodes.DropSchema(_name(tree.this), exists, bool(tree.args.get("cascade")))
    if kind != "TABLE":
        raise _refuse(f"DROP {kind}", tree)
    tables = tree.args.get("tables") or [tree.this]
    if len(tables) != 1:
        raise _refuse("dropping several tables in one statement", tree)
    return nodes.DropTable(_name(tables[0]), exists, bool(tree.args.get("purge")))


def _alter(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Alter)
    actions = tree.args.get("actions") or []
    if (tree.kind or "").upper() == "TABLE" and len(actions) == 1:
        action = actions[0]
        if isinstance(action, exp.AlterRename):
            return nodes.RenameTable(_name(tree.this), _name(action.this))
    raise _refuse("this ALTER statement", tree)


def _insert(tree: exp.Expr, text: str) -> nodes.Plan:
    assert isinstance(tree, exp.Insert)
    for option in ("overwrite", "conflict", "returning", "by_name", "alternative"):
        if tree.args.get(option):
            raise _refuse(f"INSERT with {option.replace('_', ' ').upper()}", tree)
    target, source = tree.this, tree.expression
    if source is None:
        raise _refuse("INSERT without VALUES or SELECT", tree)
    columns = None
    if isinstance(target, exp.Schema):
        columns = tuple((c.name, offset_of(c)) for c in target.expressions)
    return nodes.Insert(_name(target), columns, _query(source, text))


def _describe(tree: exp.Expr, text: str) -> nodes.Plan:
    if not isinstance(tree.this, exp.Table) or tree.args.get("kind"):
        raise _refuse("DESCRIBE of a query", tree)
    return nodes.DescribeTable(_name(tree.this))


def _explain(tree: exp.Expr, text: str) -> nodes.Plan:
    inner = tree.this
    if not isinstance(inner, exp.Query):
        raise _refuse("EXPLAIN of a statement other than a query", inner)
    return nodes.Explain(_query(inner, text), bool(tree.args.get("analyze")))


def _call(tree: exp.Expr, text: str) -> nodes.Plan:
    arguments = []
    for arg in tree.expressions:
        named = isinstance(arg, exp.Kwarg | exp.PropertyEQ)
        value = arg.expression if named else arg
        arguments.append(nodes.Argument(arg.this.name if named else None, value, offset_of(arg)))
    return nodes.CallProcedure(_name(tree.this), tuple(arguments))


def _command(tree: exp.Expr, text: str) -> nodes.Plan:
    word = str(tree.this).split()[0].upper() if tree.this else "this statement"
    raise NotSupportedError(f"{word} is not supported", offset=0)


PLANNERS: dict[type[exp.Expr], Planner] = {
    exp.Create: _create,
    exp.Drop: _drop,
    exp.Alter: _alter,
    exp.Use: lambda tree, text: nodes.UseSchema(_name(tree.this)),
    dialect.ShowSchemas: lambda tree, text: nodes.ShowSchemas(),
    dialect.ShowTables: lambda tree, text: nodes.ShowTables(
        _name(tree.this) if tree.this else None
    ),
    dialect.ShowCreateTable: lambda tree, text: nodes.ShowCreateTable(_name(tree.this)),
    exp.Describe: _describe,
    dialect.Explain: _explain,
    dialect.Call: _call,
    exp.Select: _query,
    exp.Union: _query,
    exp.Intersect: _query,
    exp.Except: _query,
    exp.Values: _query,
    exp.Insert: _insert,
    exp.Transaction: lambda tree, text: nodes.Begin(),
    exp.Commit: lambda tree, text: nodes.Commit(),
    exp.Rollback: lambda tree, text: nodes.Rollback(),
    exp.Command: _command,
}

# Statements sqlglot parses that sqllake does not run (yet).
_KNOWN_STATEMENTS = (exp.DML, exp.DDL, exp.Pragma, exp.Set, exp.Copy, exp.Show, exp.Kill)


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
