"""The state a script run or REPL keeps between statements, and how a result is shown."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import pyarrow as pa

from sqllake.cli.render import RENDERERS
from sqllake.errors import Error, translate
from sqllake.result import Result
from sqllake.session import Session


@dataclass(frozen=True)
class Streams:
    """Where results (``out``) and error reports (``err``) go."""

    out: TextIO
    err: TextIO


@dataclass
class Shell:
    """One command-line session.

    ``mode`` is the output format (a key of :data:`RENDERERS`); ``show_status`` prints
    the status of statements without rows (the REPL does, scripts stay quiet);
    ``failed`` records that a statement failed; ``done`` is set by ``.quit``;
    ``depth`` counts nested ``.read`` scripts.
    """

    session: Session
    mode: str = "table"
    continue_on_error: bool = False
    show_status: bool = False
    failed: bool = False
    done: bool = False
    depth: int = 0


def batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The reader's batches; an engine error raised while they stream (after
    ``Session.execute`` returned) is translated as the DB-API cursor does."""
    try:
        yield from reader
    except Error:
        raise
    except Exception as exc:
        raise translate(exc) from exc


def show(shell: Shell, result: Result, out: TextIO) -> None:
    """Render ``result`` in the shell's format; statements without rows print their
    status only where ``show_status`` asks for it."""
    if result.reader is None:
        if shell.show_status and result.status:
            out.write(result.status + "\n")
        return
    RENDERERS[shell.mode](result.columns, batches(result.reader), out)
