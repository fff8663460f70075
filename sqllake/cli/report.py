"""How failures are shown: ``FILE:LINE:COL: ErrorClass: message``, the line, a caret.

A :class:`sqllake.errors.Error` is the user's problem and never shows a traceback; any
other exception is a bug in sqllake: its traceback goes to the log file, and the user
sees ``InternalError`` with the log's path. Credentials are masked in all of it, the
echoed source line included (see :mod:`sqllake.secrets`).
"""

from __future__ import annotations

import datetime
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqllake.cli.paths import log_file
from sqllake.errors import DataError, Error, Location
from sqllake.secrets import mask, mask_at


@dataclass(frozen=True)
class Source:
    """A script: the name errors show (a path, ``<stdin>``, ``<command>``) and its text."""

    name: str
    text: str


class NotUtf8(Exception):
    """A script that is not UTF-8 text, reported like any error: at its first bad byte."""

    def __init__(self, source: Source, error: Error) -> None:
        super().__init__(error.message)
        self.source = source  # the text with U+FFFD for bytes that did not decode
        self.error = error


def decode_script(name: str, data: bytes) -> Source:
    """The text of the script ``name``; raises :class:`NotUtf8` unless ``data`` is UTF-8."""
    try:
        return Source(name, data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        offset = len(data[: exc.start].decode("utf-8"))  # what comes before it decodes
        error = DataError(
            f"not UTF-8 text at byte 0x{data[exc.start]:02x} ({exc.reason}); scripts must be UTF-8",
            offset=offset,
        )
        raise NotUtf8(Source(name, data.decode("utf-8", "replace")), error) from None


def caret_lines(text: str, location: Location) -> str:
    """The source line at ``location`` (credentials masked) and a caret under its column."""
    lines = text.splitlines() or [""]
    line, col = mask_at(lines[min(location.line, len(lines)) - 1], location.col - 1)
    # Keep tabs so the caret lines up with the source line however tabs are shown.
    indent = "".join(ch if ch == "\t" else " " for ch in line[:col])
    return f"{line}\n{indent}^\n"


def report_error(err: TextIO, source: Source, offset: int, error: Error) -> None:
    """Print ``error`` raised by the statement at ``offset`` in ``source``.

    ``error.offset`` is relative to the statement, so the position in the script is
    the statement's start plus that offset.
    """
    at = Location.of(source.text, offset + (error.offset or 0))
    err.write(f"{source.name}:{at.line}:{at.col}: {type(error).__name__}: {error.message}\n")
    err.write(caret_lines(source.text, at))


def log_exception(exc: BaseException) -> Path | None:
    """Append ``exc``'s traceback to the log file; its path (None if it cannot be written)."""
    try:
        path = log_file()
        with path.open("a", encoding="utf-8") as log:
            log.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n")
            log.write(mask("".join(traceback.format_exception(exc))))
    except OSError:
        return None
    return path


def report_internal(err: TextIO, source: Source, offset: int, exc: BaseException) -> None:
    """Print an unexpected exception as an ``InternalError`` pointing at the log file."""
    at = Location.of(source.text, offset)
    path = log_exception(exc)
    where = f"the traceback is in {path}" if path else "the log file could not be written"
    message = mask(str(exc))
    err.write(
        f"{source.name}:{at.line}:{at.col}: InternalError: {type(exc).__name__}: {message} "
        f"(a bug in sqllake; {where})\n"
    )
    err.write(caret_lines(source.text, at))
