"""The REPL runs each input on a worker thread while the prompt's thread waits.

Waiting on the main thread keeps Ctrl-C there (Python delivers signals to the main
thread only): a Ctrl-C sets ``shell.cancel`` and calls ``Session.interrupt``, so DuckDB
stops the running query and the statement fails with ``statement cancelled``; the
session, and anything committed before, are untouched. While it waits, the main thread
shows progress on a terminal: elapsed seconds and rows fetched so far, on one line of
standard error that is erased before the worker prints anything.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable
from typing import TextIO

from sqllake.cli.shell import Shell

PROGRESS_AFTER = 1.0  # seconds before a statement shows progress
TICK = 0.1  # seconds between looks at the worker


class Progress:
    """The progress line on ``err``: drawn by the waiting thread, erased (under a lock)
    before the worker's first write and when the work ends."""

    def __init__(self, err: TextIO | None) -> None:
        self.err = err
        self.lock = threading.Lock()
        self.shown = False
        self.silenced = False  # the worker has printed: no more progress for this input

    def draw(self, seconds: float, rows: int) -> None:
        if self.err is None:
            return
        fetched = f", {rows:,} rows" if rows else ""
        with self.lock:
            if self.silenced:
                return
            self.err.write(f"\r\x1b[K[running {seconds:.0f} s{fetched}; Ctrl-C cancels]")
            self.err.flush()
            self.shown = True

    def erase(self, silence: bool = False) -> None:
        with self.lock:
            self.silenced = self.silenced or silence
            if self.shown and self.err is not None:
                self.err.write("\r\x1b[K")
                self.err.flush()
            self.shown = False


class Watched(io.TextIOBase, TextIO):
    """A text stream that erases the progress line before it writes."""

    def __init__(self, inner: TextIO, progress: Progress) -> None:
        self.inner = inner
        self.progress = progress

    def write(self, text: str) -> int:
        if not self.progress.silenced:
            self.progress.erase(silence=True)
        return self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()


def _interrupt(shell: Shell) -> None:
    shell.cancel.set()
    # The engine may be between queries: the flag still stops the rows.
    with contextlib.suppress(Exception):
        shell.session.interrupt()


def run_cancellable(
    shell: Shell, work: Callable[[TextIO], None], out: TextIO, err: TextIO | None
) -> None:
    """Run ``work(out)`` on a worker thread until it ends; Ctrl-C cancels it.

    ``err`` gets the progress line (None: no progress, as when output is not a terminal).
    An exception ``work`` raises is raised here.
    """
    progress = Progress(err)
    failure: list[BaseException] = []
    # An Event, not Thread.join: a Ctrl-C that interrupts join() can leave the thread
    # looking finished while it still runs (seen on CPython 3.11).
    finished = threading.Event()

    def target() -> None:
        try:
            work(Watched(out, progress))
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)
        finally:
            finished.set()

    shell.cancel.clear()
    worker = threading.Thread(target=target, name="sqllake-statement", daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        while not finished.is_set():
            try:
                if finished.wait(TICK):
                    break
                if shell.cancel.is_set():
                    # Again, until the work ends: a cancel can reach the session just
                    # before the statement starts, which forgets earlier ones.
                    _interrupt(shell)
                if time.monotonic() - started >= PROGRESS_AFTER:
                    progress.draw(time.monotonic() - started, shell.fetched)
            except KeyboardInterrupt:
                _interrupt(shell)
    finally:
        progress.erase()
        shell.cancel.clear()
    if failure:
        raise failure[0]
