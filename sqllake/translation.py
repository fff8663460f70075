"""The one translation of foreign exceptions into the PEP 249 hierarchy of :mod:`sqllake.errors`.

DuckDB's, sqlglot's, PyIceberg's, PyArrow's and the operating system's exceptions become
:class:`sqllake.errors.Error` subclasses here, and :func:`translate` is called in two
places only: where a session runs a statement (:meth:`sqllake.session.Session.execute`,
and where it opens and closes the catalog), and in :func:`translating`, the one wrapper
around a result's stream of batches (an engine error can come while rows stream, after
the statement returned). Handlers that know more about a foreign exception say so with
:func:`sqllake.errors.add_hint` (or ``located``) and let it go; handlers that need to
tell error kinds apart ask :func:`error_class` and :func:`marked`.

Every message text of DuckDB looked at to tell an error's kind is read here: DuckDB's
own prefixes and messages, and the markers of errors sqllake's generated SQL raises on
purpose (``error('sqllake-...:N')``).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterator

import duckdb
import pyarrow as pa
import sqlglot.errors
from pyiceberg import exceptions as ice

from sqllake.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    hint_of,
)
from sqllake.secrets import scrub
from sqllake.sql.text import unquote_string

# DuckDB error kinds -> PEP 249 classes. DuckDB's own hierarchy is broad, so the most
# specific class is looked up first along the exception's MRO.
_DUCKDB_CLASSES: dict[type[builtins.BaseException], type[Error]] = {
    duckdb.ConversionException: DataError,
    duckdb.OutOfRangeException: DataError,
    duckdb.ConstraintException: IntegrityError,
    duckdb.InterruptException: OperationalError,
    duckdb.IOException: OperationalError,
    duckdb.HTTPException: OperationalError,
    duckdb.NotImplementedException: NotSupportedError,
    duckdb.ParserException: ProgrammingError,
    duckdb.BinderException: ProgrammingError,
    duckdb.CatalogException: ProgrammingError,
    duckdb.InvalidInputException: ProgrammingError,
    duckdb.SyntaxException: ProgrammingError,
    duckdb.TypeMismatchException: ProgrammingError,
    duckdb.DataError: DataError,
    duckdb.ProgrammingError: ProgrammingError,
    duckdb.Error: DatabaseError,
}

_ICEBERG_CLASSES: dict[type[builtins.BaseException], type[Error]] = {
    ice.NoSuchTableError: ProgrammingError,
    ice.NoSuchNamespaceError: ProgrammingError,
    ice.TableAlreadyExistsError: ProgrammingError,
    ice.NamespaceAlreadyExistsError: ProgrammingError,
    ice.NamespaceNotEmptyError: ProgrammingError,
    ice.CommitFailedException: OperationalError,
    ice.ValidationError: ProgrammingError,
    ice.ServerError: OperationalError,
    # A REST catalog's answers (PyIceberg raises one class per HTTP status).
    ice.BadRequestError: ProgrammingError,
    ice.ForbiddenError: ProgrammingError,  # as SQL's insufficient privilege
    ice.UnauthorizedError: OperationalError,
    ice.AuthorizationExpiredError: OperationalError,
    ice.OAuthError: OperationalError,
    ice.ServiceUnavailableError: OperationalError,
    ice.TooManyRequestsError: OperationalError,
    ice.CommitStateUnknownException: OperationalError,
    ice.NoSuchIdentifierError: ProgrammingError,
    ice.NoSuchViewError: ProgrammingError,
    ice.RESTError: OperationalError,
}

# What a REST catalog's refusal means to the user, before its own words.
_ICEBERG_HINTS: dict[type[builtins.BaseException], str] = {
    ice.BadRequestError: "the catalog refused the request",
    ice.ForbiddenError: "the catalog's credential is not allowed to do this",
    ice.UnauthorizedError: "the catalog did not accept the credentials (check its "
    "credential or token property)",
    ice.AuthorizationExpiredError: "the catalog's token expired (renew its token property)",
    ice.OAuthError: "the catalog refused its credential (check its credential property, "
    "client id:secret)",
    ice.ServiceUnavailableError: "the catalog is unavailable; try again later",
    ice.TooManyRequestsError: "the catalog is rate limiting; try again later",
    ice.CommitStateUnknownException: "the catalog could not tell whether the commit "
    "landed; check the table before running the statement again",
    ice.ServerError: "the catalog failed",
}

_OTHER_CLASSES: dict[type[builtins.BaseException], type[Error]] = {
    sqlglot.errors.ParseError: ProgrammingError,
    sqlglot.errors.TokenError: ProgrammingError,
    pa.ArrowInvalid: DataError,
    pa.ArrowNotImplementedError: NotSupportedError,
    OSError: OperationalError,
    KeyboardInterrupt: OperationalError,
}

_TRANSLATIONS = {**_DUCKDB_CLASSES, **_ICEBERG_CLASSES, **_OTHER_CLASSES}

# A DuckDB error raised while Arrow pulls batches arrives as a plain OSError or
# ArrowInvalid; its message still starts with DuckDB's error kind.
_DUCKDB_KINDS: dict[str, type[Error]] = {
    "Conversion": DataError,
    "Out of Range": DataError,
    "Constraint": IntegrityError,
    "INTERRUPT": OperationalError,
    "Interrupt": OperationalError,
    "IO": OperationalError,
    "Not implemented": NotSupportedError,
    "Binder": ProgrammingError,
    "Catalog": ProgrammingError,
    "Parser": ProgrammingError,
    "Invalid Input": ProgrammingError,
}
_DUCKDB_KIND = re.compile(r"^([A-Za-z ]+?) Error: ")

# DuckDB errors whose kind is too broad ("Invalid Input" covers bad SQL and bad values
# alike), told apart by how their message starts.
_DUCKDB_MESSAGES: dict[str, type[Error]] = {
    "Division by zero": DataError,  # //, %, divide() (DuckDB's / gives inf)
    "Could not parse string": DataError,  # strptime
    "Malformed JSON": DataError,
}

# DuckDB appends "LINE 1: <sql>" with a caret into the SQL sqllake generated, which is
# not the user's text; only the first paragraph is kept, without the "Kind Error: " prefix.
_QUOTED_NAME = re.compile(r'"([^"]+)"')
_QUOTED_VALUE = re.compile(r"'((?:[^']|'')*)'")


def _clean_message(exc: builtins.BaseException) -> str:
    text = str(exc).split("\n\nLINE ")[0].split("\nLINE ")[0].strip()
    interrupted = text.upper().startswith("INTERRUPT")  # before the kind prefix goes
    if isinstance(exc, KeyboardInterrupt | duckdb.InterruptException) or interrupted:
        return "statement cancelled"
    if isinstance(exc, duckdb.Error) or _duckdb_kind(exc):
        text = _DUCKDB_KIND.sub("", text, count=1)
    # One line: messages are printed as FILE:LINE:COL: Class: message.
    return " ".join(text.split("\n")) or type(exc).__name__


def _duckdb_kind(exc: builtins.BaseException) -> type[Error] | None:
    if isinstance(exc, duckdb.Error):
        return None
    match = _DUCKDB_KIND.match(str(exc))
    return _DUCKDB_KINDS.get(match.group(1)) if match else None


def _duckdb_message_class(exc: builtins.BaseException) -> type[Error] | None:
    text = str(exc)
    if not isinstance(exc, duckdb.Error) and not _DUCKDB_KIND.match(text):
        return None
    message = _DUCKDB_KIND.sub("", text, count=1)
    return next((c for start, c in _DUCKDB_MESSAGES.items() if message.startswith(start)), None)


# Errors sqllake's generated SQL raises on purpose, each with a number after the marker:
# a value outside what a column can hold (the column's field id, see write/ranges.py), a
# NULL in a NOT NULL path (the index of the path, see write/bulk.py).
OUT_OF_RANGE = "sqllake-out-of-range:"
NOT_NULL = "sqllake-not-null-violation:"
_MARKED = {marker: re.compile(re.escape(marker) + r"(\d+)") for marker in (OUT_OF_RANGE, NOT_NULL)}

# DuckDB's messages that name what they are about: (pattern, field of the error).
_NAMED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'^Referenced column "([^"]+)" not found'), "column"),
    (re.compile(r"^Table with name ([^\s]+) does not exist"), "table"),
    (re.compile(r'^Values list "([^"]+)" does not have a column named "([^"]+)"'), "column"),
)


def _named(message: str) -> Iterator[tuple[str, str]]:
    for pattern, field in _NAMED:
        found = pattern.match(message)
        if found is not None:
            yield field, found.group(found.lastindex or 1)


# PyIceberg's refusals that share one exception class (ValueError), told apart by text.
MISSING_FIELD = "missing field"  # a column path no field of the schema has
NO_WAREHOUSE = "no warehouse"  # a catalog with no place for a new table
_PYICEBERG_SAYS = {MISSING_FIELD: "Could not find", NO_WAREHOUSE: "No default path"}


def pyiceberg_says(exc: builtins.BaseException, kind: str) -> bool:
    """Whether PyIceberg's ``exc`` is the refusal ``kind`` (:data:`MISSING_FIELD`, ...)."""
    return _PYICEBERG_SAYS[kind] in str(exc)


def marked(exc: builtins.BaseException, marker: str) -> int | None:
    """The number after ``marker`` in the message of an error sqllake's SQL raised."""
    found = _MARKED[marker].search(str(exc))
    return int(found.group(1)) if found else None


def quoted_value(exc: builtins.BaseException) -> str | None:
    """The first value a message quotes ('forty' in DuckDB's "Could not convert string
    'forty' to INT32"), unescaped."""
    found = _QUOTED_VALUE.search(_clean_message(exc))
    return unquote_string(found.group(1)) if found else None


def message_of(exc: builtins.BaseException) -> str:
    """The message a translation of ``exc`` would carry (without hints or location)."""
    return _clean_message(exc)


def error_class(exc: builtins.BaseException) -> type[Error]:
    """The PEP 249 class ``exc`` translates to."""
    if isinstance(exc, Error):
        return type(exc)
    return hint_of(exc).kind or _error_class(exc)


def _error_class(exc: builtins.BaseException) -> type[Error]:
    kind = _duckdb_message_class(exc) or _duckdb_kind(exc)
    if kind is not None:
        return kind
    for klass in type(exc).__mro__:
        if klass in _TRANSLATIONS:
            return _TRANSLATIONS[klass]
    return InternalError


def translate(
    exc: builtins.BaseException, *, locate_name: Callable[[str], int | None] | None = None
) -> Error:
    """The one translation of a foreign exception into the PEP 249 hierarchy.

    ``locate_name`` maps a name quoted in the message (a column, a table) to its offset in
    the user's statement, so the error points at what the user typed. Credentials are
    masked in the message and in ``exc``'s chain, which stays attached as the cause.
    """
    if isinstance(exc, Error):
        return exc
    scrub(exc)
    message = _clean_message(exc)
    hint = hint_of(exc)
    offset = hint.offset
    if offset is None and locate_name is not None:
        for name in _QUOTED_NAME.findall(message):
            offset = locate_name(name)
            if offset is not None:
                break
    if offset is None:
        offset = hint.near
    said = next((_ICEBERG_HINTS[k] for k in type(exc).__mro__ if k in _ICEBERG_HINTS), None)
    if said is not None:
        message = f"{said}: {message}"
    if isinstance(exc, sqlglot.errors.ParseError) and exc.errors:
        first = exc.errors[0]
        message = str(first.get("description") or message)
    named = {field: found for field, found in _named(message)}
    error = error_class(exc)(
        message, offset=offset, table=named.get("table"), column=named.get("column")
    )
    error.__cause__ = exc if isinstance(exc, builtins.Exception) else None
    return error


def translating(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader``, its errors translated: an engine error raised while batches stream
    (after the statement returned) reaches the DB-API cursor and the shell as a PEP 249
    error, as it would have from the statement."""

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except Error:
            raise
        except Exception as exc:
            raise translate(exc) from exc

    return pa.RecordBatchReader.from_batches(reader.schema, batches())
