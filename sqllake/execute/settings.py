"""SET, RESET and PRAGMA: the DuckDB settings of the session's engine.

A DuckDB setting changes how the session's engine runs queries and writes (``threads``,
``memory_limit``, ``TimeZone``...), as in DuckDB itself; sqllake reads ``TimeZone`` and
``threads`` back after each of these statements and honours them in its own conversions
and writers (see :class:`~sqllake.read.engine.Engine`). A setting that would break what
the lakehouse guarantees (right answers, errors that name the row, every table readable)
is refused with the reason, before it reaches the engine: some cannot be undone once set.
``SET schema`` and ``SET search_path`` are ``USE``, since lakehouse names resolve in the
current schema. PRAGMAs that describe DuckDB's own (empty) database are answered for the
lakehouse or refused; the others run in the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from sqllake.errors import NotSupportedError, ProgrammingError, add_hint
from sqllake.execute import schema as schemas
from sqllake.names import DEFAULT_NAMESPACE
from sqllake.plan import nodes
from sqllake.plan.common import name_of
from sqllake.read.engine import SESSION_SETTINGS, Stream
from sqllake.result import Column, Result
from sqllake.sql.dialect import DIALECT
from sqllake.translation import error_class
from sqllake.write.settings import DYNAMIC, MODE_SETTING, STATIC

if TYPE_CHECKING:
    from sqllake.context import Context


_TRUE = frozenset({"true", "1", "on", "yes", "t", "y"})


@dataclass(frozen=True)
class Guard:
    """Which values of a setting the lakehouse allows (value as lower-case text)."""

    allowed: Callable[[str], bool]
    reason: str


def _off(value: str) -> bool:
    return value not in _TRUE


def _on(value: str) -> bool:
    return value in _TRUE


def _never(value: str) -> bool:
    return False


_PROGRESS = Guard(
    _off,
    "DuckDB's progress bar would be written into the results on standard output "
    "(the sqllake shell shows its own progress)",
)
_PREFETCH = Guard(
    _never,
    "sqllake decides Parquet prefetching for each statement (off for local files, on for "
    "object storage)",
)

# Canonical setting name (lower case) -> the values the lakehouse allows, and why.
GUARDS: dict[str, Guard] = {
    "enable_progress_bar": _PROGRESS,
    "enable_progress_bar_print": _PROGRESS,
    "disable_parquet_prefetching": _PREFETCH,
    "prefetch_all_parquet_files": _PREFETCH,
    "lock_configuration": Guard(
        _off, "sqllake changes the engine's settings for each statement (Parquet prefetching)"
    ),
    "enable_external_access": Guard(
        _on, "lakehouse tables are Parquet files the engine reads: none could be read"
    ),
    "disabled_filesystems": Guard(
        lambda value: value == "", "the engine reads the lakehouse's files through them"
    ),
    "errors_as_json": Guard(
        _off, "sqllake reads the engine's error messages to name the table, column and row"
    ),
    "default_collation": Guard(
        lambda value: value in ("", "binary"),
        "sqllake skips files by comparing their min/max values byte by byte, which under a "
        "collation could skip files that hold matching rows",
    ),
    "calendar": Guard(
        lambda value: value == "gregorian",
        "Iceberg dates and timestamps are Gregorian: text written into a TIMESTAMPTZ column "
        "would be read in another calendar's years",
    ),
    "binary_as_string": Guard(
        _off, "Iceberg binary columns would be read as text, which fails on other bytes"
    ),
}

# DuckDB's settings that name the current schema: in sqllake that is USE.
_SCHEMA_SETTINGS = frozenset({"schema", "search_path"})


def _canonical(session: Context, name: str) -> str:
    """The setting's own name (lower case) for any spelling or alias of it."""
    found = session.engine.row(
        "SELECT lower(name) FROM duckdb_settings() WHERE lower(name) = lower($1) "
        "OR lower($1) IN (SELECT lower(unnest(aliases)))",
        [name],
    )
    return str(found[0]) if found else name.lower()


def _value_text(session: Context, value: exp.Expr | None, lower: bool = True) -> str:
    """A setting's value as text (DEFAULT: empty), evaluated by the engine; lower-cased
    unless ``lower`` is false."""
    if value is None:
        return ""
    if isinstance(value, exp.Column) and not value.table:
        text = value.name  # SET TimeZone = UTC: a bare word is the text
    else:
        found = session.engine.row(f"SELECT CAST(({value.sql(dialect=DIALECT)}) AS VARCHAR)")
        text = str(found[0]).strip() if found and found[0] is not None else ""
    return text.lower() if lower else text


def _check(
    session: Context, name: str, value: exp.Expr | None, offset: int, shown: str = ""
) -> str:
    """The canonical name of a setting about to change; refused if the lakehouse forbids
    the value. ``shown`` is the statement as the error names it."""
    canonical = _canonical(session, name)
    guard = GUARDS.get(canonical)
    if guard is not None and not guard.allowed(_value_text(session, value)):
        if not shown:
            value_sql = value.sql(dialect=DIALECT) if value is not None else "DEFAULT"
            shown = f"SET {name} = {value_sql}"
        raise NotSupportedError(f"{shown} is not supported: {guard.reason}", offset=offset)
    return canonical


def _apply(session: Context, sql: str, offset: int) -> Stream | None:
    """Run a settings statement in the engine; its errors point at the setting's name.

    DuckDB reports some bad values (an unknown TimeZone) as not implemented: a value
    the statement gave is the user's mistake, a ProgrammingError.
    """
    try:
        return session.engine.apply(sql)
    except Exception as exc:
        local = "LOCAL" in sql.upper()
        refused = error_class(exc) is NotSupportedError and not local
        add_hint(exc, offset=offset, kind=ProgrammingError if refused else None)
        raise


def _use(session: Context, name: str, value: exp.Expr | None, offset: int) -> Result:
    """SET schema / search_path = 's': the current schema, as USE s sets it."""
    text = _value_text(session, value, lower=False) if value is not None else "default"
    if "," in text:
        raise NotSupportedError(
            f"a {name} of several schemas is not supported: lakehouse names resolve in the "
            "current schema (USE s) or are qualified (s.t)",
            offset=offset,
        )
    schemas.use_schema(session, nodes.UseSchema(nodes.Name(tuple(text.split(".")), offset)), ())
    return Result.status_only("SET")


# sqllake's own settings: name -> the values they take (the first is a new session's).
OWN_SETTINGS: dict[str, tuple[str, ...]] = {
    MODE_SETTING: (STATIC, DYNAMIC),
}


def _own(session: Context, name: str, value: exp.Expr | None, offset: int) -> Result:
    """SET partition_overwrite_mode = 'dynamic' (Spark's setting of that name)."""
    allowed = OWN_SETTINGS[name]
    text = _value_text(session, value) if value is not None else allowed[0]
    if text not in allowed:
        raise ProgrammingError(
            f"{name} is {' or '.join(repr(a) for a in allowed)}, not {text!r}", offset=offset
        )
    session.overwrite_mode = text
    return Result.status_only("SET")


def set_setting(session: Context, plan: nodes.SetSetting, params: Sequence[Any]) -> Result:
    if plan.name.lower() in OWN_SETTINGS and plan.scope != "VARIABLE":
        return _own(session, plan.name.lower(), plan.value, plan.offset)
    if plan.scope == "VARIABLE":
        _apply(session, plan.text, plan.offset)
        return Result.status_only("SET")
    canonical = _check(session, plan.name, plan.value, plan.offset)
    if canonical in _SCHEMA_SETTINGS:
        return _use(session, plan.name, plan.value, plan.offset)
    if plan.value is None:
        _reset(session, canonical, plan.scope, plan.text, plan.offset)
    else:
        _apply(session, plan.text, plan.offset)
    return Result.status_only("SET")


def _reset(session: Context, canonical: str, scope: str | None, text: str, offset: int) -> None:
    """A setting back to its value in a new sqllake session."""
    own = {name.lower(): (name, value) for name, value in SESSION_SETTINGS.items()}
    if canonical in _SCHEMA_SETTINGS:
        schemas.use_schema(session, nodes.UseSchema(nodes.Name((DEFAULT_NAMESPACE,), offset)), ())
    elif canonical in own:
        name, value = own[canonical]
        _apply(session, f"SET {name} = {value}", offset)
    else:
        _apply(session, text, offset)


def reset_setting(session: Context, plan: nodes.ResetSetting, params: Sequence[Any]) -> Result:
    if plan.name is None:
        raise NotSupportedError(
            "RESET ALL is not supported: reset each setting by name (RESET threads)", offset=0
        )
    if plan.name.lower() in OWN_SETTINGS and plan.scope != "VARIABLE":
        _own(session, plan.name.lower(), None, plan.offset)
    elif plan.scope != "VARIABLE":
        _reset(session, _canonical(session, plan.name), plan.scope, plan.text, plan.offset)
    else:
        _apply(session, plan.text, plan.offset)
    return Result.status_only("RESET")


def _table_argument(plan: nodes.Pragma) -> nodes.Name:
    if len(plan.arguments) != 1:
        raise ProgrammingError(f"PRAGMA {plan.name} takes one table name", offset=plan.offset)
    (argument,) = plan.arguments
    if isinstance(argument, exp.Literal) and argument.is_string:
        try:
            parsed = exp.to_table(argument.name, dialect=DIALECT)
        except Exception:
            raise ProgrammingError(
                f"PRAGMA {plan.name}: {argument.name!r} is not a table name", offset=plan.offset
            ) from None
        name = name_of(parsed)
        return nodes.Name(name.parts, plan.offset)
    return name_of(argument)


def _table_info(session: Context, plan: nodes.Pragma) -> Result:
    """PRAGMA table_info('t'): DuckDB's columns, for a lakehouse table."""
    from sqllake.execute import table as tables  # the catalog's side: imported on use

    name = _table_argument(plan)
    table = session.load(session.table_name(name), name.offset)
    key = set(table.schema().identifier_field_ids)
    rows = [
        (
            i,
            field.name,
            tables.column_type(field),
            field.required,
            tables.default_sql(field),
            field.field_id in key,
        )
        for i, field in enumerate(table.schema().fields)
    ]
    columns = [
        ("cid", "INTEGER"),
        ("name", "VARCHAR"),
        ("type", "VARCHAR"),
        ("notnull", "BOOLEAN"),
        ("dflt_value", "VARCHAR"),
        ("pk", "BOOLEAN"),
    ]
    return Result.rows("PRAGMA", columns, rows)


def _show(session: Context, plan: nodes.Pragma) -> Result:
    from sqllake.execute import table as tables

    return tables.describe_table(session, nodes.DescribeTable(_table_argument(plan)), ())


def _show_tables(session: Context, plan: nodes.Pragma) -> Result:
    from sqllake.execute import table as tables

    return tables.show_tables(session, nodes.ShowTables(None), ())


# PRAGMAs that describe the database: answered for the lakehouse.
_LAKEHOUSE_PRAGMAS: dict[str, Callable[[Context, nodes.Pragma], Result]] = {
    "table_info": _table_info,
    "show": _show,
    "show_tables": _show_tables,
}

# PRAGMAs about DuckDB's own in-memory database, which holds nothing of the lakehouse.
_ENGINE_DATABASE_PRAGMAS = frozenset(
    {
        "show_tables_expanded",
        "database_list",
        "show_databases",
        "database_size",
        "storage_info",
        "metadata_info",
        "table_storage_info",
    }
)

# PRAGMAs that are settings in disguise: PRAGMA enable_progress_bar is SET ... = true.
_SETTING_PRAGMAS = {
    "enable_progress_bar": "enable_progress_bar",
    "enable_print_progress_bar": "enable_progress_bar_print",
}


def pragma(session: Context, plan: nodes.Pragma, params: Sequence[Any]) -> Result:
    word = plan.name.lower()
    if plan.value is not None:
        _check(session, plan.name, plan.value, plan.offset, f"PRAGMA {plan.name}")
    elif word in _LAKEHOUSE_PRAGMAS:
        return _LAKEHOUSE_PRAGMAS[word](session, plan)
    elif word in _ENGINE_DATABASE_PRAGMAS:
        raise NotSupportedError(
            f"PRAGMA {plan.name} describes DuckDB's own (empty) database, not the lakehouse: "
            "use SHOW TABLES, DESCRIBE, SHOW TABLE EXTENDED or information_schema",
            offset=plan.offset,
        )
    elif word in _SETTING_PRAGMAS:
        _check(session, _SETTING_PRAGMAS[word], exp.true(), plan.offset, f"PRAGMA {plan.name}")
    stream = _apply(session, plan.text, plan.offset)
    if stream is None:
        return Result.status_only("PRAGMA")
    columns = stream.columns
    described = tuple(Column(n, t) for n, t in zip(columns.names, columns.types, strict=True))
    return Result(described, stream.batches, -1, "PRAGMA")
