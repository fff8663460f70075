"""The PEP 249 error hierarchy and SQL locations.

Every exception that reaches a user is one of the classes below. Foreign exceptions
(DuckDB, sqlglot, PyIceberg, PyArrow, SQLAlchemy) are translated into them by
:mod:`sqllake.translation` at the execution boundary and nowhere else. This module
imports no dependency, so that naming an error class costs nothing at start-up.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqllake.secrets import mask


@dataclass(frozen=True)
class Location:
    """A 1-based line and column, and the 0-based character offset they came from."""

    line: int
    col: int
    offset: int

    @classmethod
    def of(cls, text: str, offset: int) -> Location:
        offset = max(0, min(offset, len(text)))
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return cls(line, col, offset)


@dataclass(frozen=True)
class Diagnostic:
    """What an error is about, beside its message (as psycopg's ``Error.diag``); a field
    is None where the error does not know it.

    ``row_number`` is 1-based, in the order the statement wrote (or read) its rows;
    ``value`` is the offending value as text; ``statement_position`` is the 1-based
    character of the statement the error points at.
    """

    table_name: str | None = None
    column_name: str | None = None
    row_number: int | None = None
    value: str | None = None
    statement_position: int | None = None


class Warning(builtins.Exception):  # noqa: A001 - the name PEP 249 requires
    """Important warnings (PEP 249)."""


class Error(builtins.Exception):
    """Base of every sqllake error (PEP 249).

    ``offset`` is the 0-based position in the statement the error points at, when known;
    ``location`` is filled in once the statement text is known (see :meth:`locate`).
    ``table``, ``column``, ``row`` and ``value`` say what the error is about, where
    known; :attr:`diag` gives them with the position. Credentials in the message and
    the value are masked (see :mod:`sqllake.secrets`).
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        table: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: str | None = None,
    ) -> None:
        message = mask(message)
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.location: Location | None = None
        self.table = table
        self.column = column
        self.row = row
        self.value = mask(value) if value is not None else None

    @property
    def diag(self) -> Diagnostic:
        position = None
        if self.location is not None and self.offset is not None:
            position = self.location.offset + 1
        return Diagnostic(self.table, self.column, self.row, self.value, position)

    def locate(self, text: str, base: int = 0) -> Error:
        """Resolve ``offset`` (relative to a statement starting at ``base`` in ``text``)."""
        self.location = Location.of(text, base + (self.offset or 0))
        return self

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.message} (line {self.location.line}, column {self.location.col})"


class InterfaceError(Error):
    """Misuse of the DB-API interface itself (closed cursor, fetch without a result)."""


class DatabaseError(Error):
    """Errors related to the database."""


class DataError(DatabaseError):
    """A value that does not fit: bad cast, overflow, out of range."""


class OperationalError(DatabaseError):
    """Commit conflict after retries, storage or catalog unreachable, cancelled statement."""


class IntegrityError(DatabaseError):
    """A NULL in a NOT NULL column."""


class InternalError(DatabaseError):
    """A bug in sqllake: the message says what failed."""


class ProgrammingError(DatabaseError):
    """Bad SQL: syntax, unknown table or column, wrong parameter count."""


class NotSupportedError(DatabaseError):
    """SQL that sqllake understands but does not support (yet)."""


@dataclass(frozen=True)
class Hint:
    """What the code that saw a foreign exception knows about it, for its translation
    at the execution boundary (:func:`sqllake.translation.translate`): where in the
    statement it belongs (``offset``: before any name its message quotes;
    ``near``: only when it quotes none) and which class it is (``kind``)."""

    offset: int | None = None
    near: int | None = None
    kind: type[Error] | None = None


_HINT = "_sqllake_hint"


def hint_of(exc: BaseException) -> Hint:
    found = getattr(exc, _HINT, None)
    return found if isinstance(found, Hint) else Hint()


def add_hint(
    exc: BaseException,
    *,
    offset: int | None = None,
    near: int | None = None,
    kind: type[Error] | None = None,
) -> None:
    """Attach what is known to a foreign exception; what an inner block said stays."""
    old = hint_of(exc)
    new = Hint(
        old.offset if old.offset is not None else offset,
        old.near if old.near is not None else near,
        old.kind or kind,
    )
    # An exception without a __dict__ is translated without the hint.
    with contextlib.suppress(AttributeError):
        setattr(exc, _HINT, new)


@contextmanager
def located(offset: int | None) -> Iterator[None]:
    """Point errors raised inside the block that carry no position at ``offset``; a
    foreign exception points there unless its message quotes a name of the statement."""
    try:
        yield
    except Error as exc:
        if exc.offset is None:
            exc.offset = offset
        raise
    except Exception as exc:
        add_hint(exc, near=offset)
        raise


class UnconfirmedCommitError(OperationalError):
    """A commit the catalog did not confirm: it may have landed, so nothing it wrote may
    be deleted. Raised when the catalog's answer was lost and asking again found that the
    commit did not land, or could not tell."""
