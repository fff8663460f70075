"""The state a script run or REPL keeps between statements, and how a result is shown."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

import pyarrow as pa

from sqllake.cli.render import COUNTED, RENDERERS
from sqllake.errors import OperationalError
from sqllake.result import Result
from sqllake.session import Session

# Formats for people, where .maxrows applies; the others are for programs and stay whole.
FOR_PEOPLE = frozenset({"table", "line"})


@dataclass(frozen=True)
class Streams:
    """Where results (``out``) and error reports (``err``) go."""

    out: TextIO
    err: TextIO


@dataclass(frozen=True)
class Shown:
    """What :func:`show` printed: rows shown, and rows left out by ``.maxrows``."""

    rows: int
    hidden: int = 0


@dataclass
class Shell:
    """One command-line session.

    ``mode`` is the output format (a key of :data:`RENDERERS`); ``show_status`` prints
    the status of statements without rows and a row count after results (the REPL
    does, scripts stay quiet); ``failed`` records that a statement failed; ``done`` is
    set by ``.quit``; ``depth`` counts nested ``.read`` scripts. ``timer`` prints each
    statement's elapsed time; ``max_rows`` (0: no limit) caps the rows shown in the
    formats for people; ``width`` is the terminal's, which ``table`` and ``line`` fit
    (None: values are never cut); ``output`` is the file ``.output`` sends results to.
    ``cancel`` is set from another thread to stop a result while it streams;
    ``fetched`` counts the rows streamed so far (for progress).
    """

    session: Session
    mode: str = "table"
    continue_on_error: bool = False
    show_status: bool = False
    failed: bool = False
    done: bool = False
    depth: int = 0
    timer: bool = False
    max_rows: int = 0
    width: int | None = None
    output: TextIO | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    fetched: int = 0

    def set_output(self, output: TextIO | None) -> None:
        """Send results to ``output`` (None: back to the terminal), closing the last file."""
        if self.output is not None:
            self.output.close()
        self.output = output


def batches(shell: Shell, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The reader's batches (an engine error raised while they stream comes translated,
    see :func:`sqllake.translation.translating`). Stops with ``statement cancelled``
    once ``shell.cancel`` is set."""
    for batch in reader:
        if shell.cancel.is_set():
            raise OperationalError("statement cancelled")
        shell.fetched += batch.num_rows
        yield batch


def _first(
    rows: int, stream: Iterable[pa.RecordBatch], hidden: list[int]
) -> Iterator[pa.RecordBatch]:
    """The first ``rows`` rows of ``stream``; the count of the rest is added to ``hidden``."""
    left = rows
    for batch in stream:
        if left > 0:
            yield batch.slice(0, left)
        hidden[0] += max(0, batch.num_rows - left)
        left = max(0, left - batch.num_rows)


def show(shell: Shell, result: Result, out: TextIO) -> Shown | None:
    """Render ``result`` in the shell's format; statements without rows print their
    status only where ``show_status`` asks for it (and give None)."""
    if result.reader is None:
        if shell.show_status and result.status:
            out.write(result.status + "\n")
        return None
    stream: Iterable[pa.RecordBatch] = batches(shell, result.reader)
    hidden = [0]
    if shell.max_rows > 0 and shell.mode in FOR_PEOPLE:
        stream = _first(shell.max_rows, stream, hidden)
    rows = RENDERERS[shell.mode](result.columns, stream, out, width=shell.width)
    if hidden[0]:
        more = hidden[0]
        out.write(f"... {more} more {'row' if more == 1 else 'rows'} (.maxrows {shell.max_rows})\n")
    return Shown(rows, hidden[0])


def summary(shell: Shell, shown: Shown | None, seconds: float) -> str:
    """The line after a statement: its row count where the format did not print one
    (REPL only) and its time when ``.timer`` is on; empty when there is nothing to say."""
    parts: list[str] = []
    counted = shell.mode in COUNTED and shell.output is None
    if shell.show_status and shown is not None and not counted:
        parts.append(f"({shown.rows} {'row' if shown.rows == 1 else 'rows'})")
    if shell.timer:
        parts.append(f"Time: {seconds:.3f} s")
    return " ".join(parts) + "\n" if parts else ""
