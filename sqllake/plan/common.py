"""Helpers every planner shares: names, refusals, property lists."""

from __future__ import annotations

from sqlglot import exp

from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.plan import nodes
from sqllake.properties import check_table_property
from sqllake.secrets import is_secret_key
from sqllake.sql.syntax import normalize, offset_of


def name_of(node: exp.Expr) -> nodes.Name:
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        parts = tuple(normalize(p) for p in node.parts)
    elif isinstance(node, exp.Identifier | exp.Var | exp.Column | exp.Dot):
        parts = tuple(normalize(p) for p in node.parts) if hasattr(node, "parts") else (node.name,)
    else:
        raise ProgrammingError("expected a name", offset=offset_of(node))
    return nodes.Name(parts, offset_of(node))


def query_of(tree: exp.Expr, text: str) -> nodes.Query:
    return nodes.Query(tree, text, len(list(tree.find_all(exp.Placeholder))))


def refuse(what: str, node: exp.Expr) -> NotSupportedError:
    return NotSupportedError(f"{what} is not supported", offset=offset_of(node))


def property_value(node: exp.Expr) -> str:
    if isinstance(node, exp.Literal | exp.Var | exp.Identifier | exp.Boolean):
        return str(node.this).lower() if isinstance(node, exp.Boolean) else node.name
    raise ProgrammingError("a table property value must be a literal", offset=offset_of(node))


# Trino spellings of Iceberg table properties.
PROPERTY_ALIASES = {"format_version": "format-version"}


def properties_of(pairs: list[exp.Expr], owner: str = "table") -> dict[str, str]:
    """Property(key, value) nodes -> table or schema properties (Trino names mapped).

    A credential (``s3.secret-access-key``...) is refused: properties are stored in
    plain text where every engine and every user of the table reads them.
    """
    properties: dict[str, str] = {}
    for prop in pairs:
        key = property_value(prop.this)
        if is_secret_key(key):
            raise NotSupportedError(
                f"{owner} property '{key}' is a credential: {owner} properties are stored in "
                "plain text for every engine to read; configure credentials in the catalog "
                "or the environment instead",
                offset=offset_of(prop.this),
            )
        value = prop.args.get("value")
        if value is None:
            raise ProgrammingError(f"property {key} needs a value", offset=offset_of(prop))
        key = PROPERTY_ALIASES.get(key.lower(), key)
        text = property_value(value)
        if owner == "table":
            check_table_property(key, text, offset_of(value))
        properties[key] = text
    return properties
