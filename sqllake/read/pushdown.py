"""WHERE clause -> PyIceberg row filter, for pruning files only.

The filter only decides which files the scan opens; DuckDB still applies the full
WHERE clause to every row. So a translation may be looser than the SQL (anything not
understood becomes "always true"), never tighter: dropping a file that holds a
matching row would be a wrong answer.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

from pyiceberg import expressions as ie
from pyiceberg.expressions.visitors import bind
from pyiceberg.schema import Schema
from pyiceberg.types import (
    BooleanType,
    DateType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    TimestamptzType,
)
from sqlglot import exp

from sqllake.types import is_utc

Literal = bool | int | float | str | Decimal
ColumnResolver = Callable[[exp.Column], str | None]

_COMPARISONS: dict[type[exp.Expr], type[ie.BooleanExpression]] = {
    exp.EQ: ie.EqualTo,
    exp.NEQ: ie.NotEqualTo,
    exp.GT: ie.GreaterThan,
    exp.GTE: ie.GreaterThanOrEqual,
    exp.LT: ie.LessThan,
    exp.LTE: ie.LessThanOrEqual,
}
# a < col  is  col > a
_MIRRORED: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.EQ: exp.EQ,
    exp.NEQ: exp.NEQ,
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
}


def _literal(node: exp.Expr) -> Literal | None:
    """A constant a file's min/max can be compared with, or None."""
    if isinstance(node, exp.Paren):
        return _literal(node.this)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Neg):
        inner = _literal(node.this)
        return -inner if isinstance(inner, int | float | Decimal) else None
    if isinstance(node, exp.Cast | exp.TsOrDsToDate) and isinstance(node.this, exp.Literal):
        # DATE '...', TIMESTAMP '...': the text, converted below by the column's type.
        kind = node.args.get("to")
        temporal = isinstance(kind, exp.DataType) and kind.this in _TEMPORAL_CASTS
        return node.this.name if temporal and node.this.is_string else None
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return str(node.this)
    text = str(node.this)
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return Decimal(text) if "e" not in text.lower() else float(text)
    except ArithmeticError:
        return None


_TEMPORAL_CASTS = {
    exp.DataType.Type.DATE,
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.TIMESTAMPTZ,
}


def _timestamp(text: str, with_zone: bool, time_zone: str = "UTC") -> str | None:
    """SQL timestamp text as the ISO form PyIceberg's literals accept.

    Text without an offset compared with a TIMESTAMPTZ column is a time in the session's
    time zone; outside UTC the engine's own conversion decides (daylight saving gaps
    and folds included), so such text prunes nothing.
    """
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if with_zone:
        if moment.tzinfo is None:
            if not is_utc(time_zone):
                return None
            moment = moment.replace(tzinfo=datetime.UTC)
        return moment.astimezone(datetime.UTC).isoformat()
    return None if moment.tzinfo is not None else moment.isoformat()


def _date(text: str) -> str | None:
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


# Column type -> how a string literal compared with it is read (text, session time zone).
_COERCE_TEXT: dict[type[IcebergType], Callable[[str, str], str | None]] = {
    DateType: lambda text, zone: _date(text),
    TimestampType: lambda text, zone: _timestamp(text, with_zone=False),
    TimestamptzType: lambda text, zone: _timestamp(text, with_zone=True, time_zone=zone),
}


class _Translator:
    def __init__(self, resolve: ColumnResolver, schema: Schema, time_zone: str) -> None:
        self._resolve = resolve
        self._types = {f.name: f.field_type for f in schema.fields}
        self._time_zone = time_zone

    def _coerce(self, column: str, value: Literal | None) -> Literal | None:
        """String literals compared with dates and timestamps, in the form they bind."""
        coerce = _COERCE_TEXT.get(type(self._types.get(column)))
        if coerce is None or not isinstance(value, str):
            return value
        return coerce(value, self._time_zone)

    def translate(self, node: exp.Expr) -> ie.BooleanExpression:
        handler = self.HANDLERS.get(type(node))
        if handler is None:
            return ie.AlwaysTrue()
        return handler(self, node)

    def _column(self, node: exp.Expr) -> str | None:
        return self._resolve(node) if isinstance(node, exp.Column) else None

    def _and(self, node: exp.Expr) -> ie.BooleanExpression:
        return ie.And(self.translate(node.this), self.translate(node.expression))

    def _or(self, node: exp.Expr) -> ie.BooleanExpression:
        return ie.Or(self.translate(node.this), self.translate(node.expression))

    def _paren(self, node: exp.Expr) -> ie.BooleanExpression:
        return self.translate(node.this)

    def _compare(self, node: exp.Expr) -> ie.BooleanExpression:
        kind = type(node)
        left, right = node.this, node.expression
        column, value = self._column(left), _literal(right)
        if column is None:
            column, value = self._column(right), _literal(left)
            kind = _MIRRORED[kind]
        value = self._coerce(column, value) if column is not None else None
        if column is None or value is None:
            return ie.AlwaysTrue()
        return _COMPARISONS[kind](column, value)

    def _between(self, node: exp.Expr) -> ie.BooleanExpression:
        column = self._column(node.this)
        low, high = _literal(node.args["low"]), _literal(node.args["high"])
        if column is not None:
            low, high = self._coerce(column, low), self._coerce(column, high)
        if column is None or low is None or high is None:
            return ie.AlwaysTrue()
        return ie.And(ie.GreaterThanOrEqual(column, low), ie.LessThanOrEqual(column, high))

    def _in(self, node: exp.Expr) -> ie.BooleanExpression:
        column = self._column(node.this)
        values = [_literal(v) for v in node.expressions]
        if column is not None:
            values = [self._coerce(column, v) for v in values]
        if column is None or not values or any(v is None for v in values) or node.args.get("query"):
            return ie.AlwaysTrue()
        return ie.In(column, values)

    def _is(self, node: exp.Expr) -> ie.BooleanExpression:
        column = self._column(node.this)
        if column is None or not isinstance(node.expression, exp.Null):
            return ie.AlwaysTrue()
        return ie.IsNull(column)

    def _not(self, node: exp.Expr) -> ie.BooleanExpression:
        inner = node.this
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
            column = self._column(inner.this)
            return ie.NotNull(column) if column else ie.AlwaysTrue()
        return ie.AlwaysTrue()

    HANDLERS: dict[type[exp.Expr], Callable[[_Translator, exp.Expr], ie.BooleanExpression]] = {
        exp.And: _and,
        exp.Or: _or,
        exp.Paren: _paren,
        **dict.fromkeys(_COMPARISONS, _compare),
        exp.Between: _between,
        exp.In: _in,
        exp.Is: _is,
        exp.Not: _not,
    }


def row_filter(
    where: exp.Expr | None, schema: Schema, resolve: ColumnResolver, time_zone: str = "UTC"
) -> ie.BooleanExpression:
    """The pruning filter for one table, checked to bind against its schema; text
    compared with TIMESTAMPTZ columns is read in ``time_zone`` (the session's)."""
    if where is None:
        return ie.AlwaysTrue()
    predicate = _Translator(resolve, schema, time_zone).translate(where)
    try:
        bind(schema, predicate, case_sensitive=True)
    except (ValueError, TypeError, ArithmeticError, KeyError):
        # A literal that does not convert to the column's type: prune nothing.
        return ie.AlwaysTrue()
    return predicate


# Column types whose comparisons with a literal of the given Python type mean in Iceberg
# what they mean in SQL (no rounding of the literal to the column's type).
_EXACT_LITERALS: dict[type[IcebergType], tuple[type, ...]] = {
    IntegerType: (int,),
    LongType: (int,),
    StringType: (str,),
    DateType: (str,),
    TimestampType: (str,),
    TimestamptzType: (str,),
    BooleanType: (bool,),
}
# Iceberg's NOT EQUAL matches NULL, SQL's does not: those are never exact.
_EXACT_LEAVES = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In, exp.Is, exp.Not)


def _exact_leaf(node: exp.Expr, translator: _Translator, types: dict[str, IcebergType]) -> bool:
    if isinstance(translator.translate(node), ie.AlwaysTrue):
        return False
    for column in node.find_all(exp.Column):
        name = translator._column(column)  # noqa: SLF001
        literals = [
            _literal(item)
            for item in node.iter_expressions()
            if not isinstance(item, exp.Column | exp.Null)
        ]
        if isinstance(node, exp.In):
            literals = [_literal(item) for item in node.expressions]
        if isinstance(node, exp.Between):
            literals = [_literal(node.args["low"]), _literal(node.args["high"])]
        if isinstance(node, exp.Is | exp.Not):
            literals = []
        allowed = _EXACT_LITERALS.get(type(types.get(name or ""))) if name else None
        if allowed is None:
            return False
        for value in literals:
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                return False
    return True


def exact_filter(
    where: exp.Expr, schema: Schema, resolve: ColumnResolver, time_zone: str = "UTC"
) -> ie.BooleanExpression | None:
    """``where`` as an Iceberg expression that matches exactly the rows SQL matches, or
    None when it cannot be translated so (a DELETE then drops files whose metrics prove
    that every row matches, without reading them: a looser filter would drop rows)."""
    translator = _Translator(resolve, schema, time_zone)
    types = {f.name: f.field_type for f in schema.fields}

    def exact(node: exp.Expr) -> bool:
        if isinstance(node, exp.And | exp.Or):
            return exact(node.this) and exact(node.expression)
        if isinstance(node, exp.Paren):
            return exact(node.this)
        return isinstance(node, _EXACT_LEAVES) and _exact_leaf(node, translator, types)

    if not exact(where):
        return None
    predicate = translator.translate(where)
    try:
        bind(schema, predicate, case_sensitive=True)
    except (ValueError, TypeError, ArithmeticError, KeyError):
        return None
    return predicate
