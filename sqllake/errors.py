"""The PEP 249 error hierarchy and SQL locations.

Every exception that reaches a user is one of the classes below. Foreign exceptions
(DuckDB, sqlglot, PyIceberg, PyArrow, SQLAlchemy) are translated into them by
:mod:`sqllake.translation` at the execution boundary and nowhere else. This module
imports no dependency, so that naming an error class costs nothing at start-up.
"""

from __future__ import annotations

import builtins
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


class Warning(builtins.Exception):  # noqa: A001 - the name PEP 249 requires
    """Important warnings (PEP 249)."""


class Error(builtins.Exception):
    """Base of every sqllake error (PEP 249).

    ``offset`` is the 0-based position in the statement the error points at, when known;
    ``location`` is filled in once the statement text is known (see :meth:`locate`).
    Credentials in the message are masked (see :mod:`sqllake.secrets`).
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        message = mask(message)
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.location: Location | None = None

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


@contextmanager
def located(offset: int | None) -> Iterator[None]:
    """Point errors raised inside the block that carry no position at ``offset``."""
    try:
        yield
    except Error as exc:
        if exc.offset is None:
            exc.offset = offset
        raise


class UnconfirmedCommitError(OperationalError):
    """A commit the catalog did not confirm: it may have landed, so nothing it wrote may
    be deleted. Raised when the catalog's answer was lost and asking again found that the
    commit did not land, or could not tell."""
