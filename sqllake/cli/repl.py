"""The interactive shell: a prompt_toolkit loop around :func:`run_input`.

The only module of sqllake that imports prompt_toolkit. Each submitted buffer runs
through the script runner, so statements, dot commands and error reports behave as
in scripts; an error never ends the session. The buffer runs on a worker thread
(:mod:`.worker`), so Ctrl-C cancels the statement and not the shell; completion
(:mod:`.complete`) reads names that a background thread refreshes after DDL.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import Output
from pygments.lexers.sql import SqlLexer

from sqllake import __version__
from sqllake.cli.commands import COMMANDS
from sqllake.cli.complete import NameCache, suggest
from sqllake.cli.paths import history_file
from sqllake.cli.render import RENDERERS
from sqllake.cli.report import Source, log_exception
from sqllake.cli.script import run_source
from sqllake.cli.shell import Shell, Streams
from sqllake.cli.worker import run_cancellable
from sqllake.maintenance import maintain_recent
from sqllake.sql import is_complete, split

INPUT_NAME = "<input>"  # what error reports call the text typed at the prompt

# Statements after which the names completion offers may have changed.
# SET and RESET too: SET schema = 's' switches schema, as USE does.
CHANGES_NAMES = frozenset({"CREATE", "DROP", "ALTER", "USE", "SET", "RESET"})


def prompt_text(shell: Shell) -> str:
    """``sqllake:SCHEMA> ``, with ``*`` after the schema while a transaction is open."""
    schema = ".".join(shell.session.schema)
    mark = "*" if shell.session.in_transaction else ""
    return f"sqllake:{schema}{mark}> "


def run_input(shell: Shell, text: str, out: TextIO, progress: TextIO | None = None) -> bool:
    """Run what the user submitted, results and errors to ``out``; False to end the session.

    It runs on a worker thread; Ctrl-C cancels the running statement (which then fails
    as ``statement cancelled``). ``progress`` gets a progress line for slow statements.
    """

    def work(stream: TextIO) -> None:
        run_source(shell, Source(INPUT_NAME, text), Streams(stream, stream))

    run_cancellable(shell, work, out, progress)
    return not shell.done


def changes_names(text: str) -> bool:
    """Could ``text`` create, drop or rename a schema, table or column (or switch schema)?"""
    for statement in split(text):
        words = statement.text.split(None, 1)
        if statement.is_dot_command or (words and words[0].upper() in CHANGES_NAMES):
            return True
    return False


class SqlCompleter(Completer):
    """prompt_toolkit's face of :func:`suggest`."""

    def __init__(self, shell: Shell, cache: NameCache) -> None:
        self.shell = shell
        self.cache = cache

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        try:
            names = dataclasses.replace(
                self.cache.names, current=".".join(self.shell.session.schema)
            )
            found = suggest(names, document.text_before_cursor, document.text_after_cursor)
        except Exception:  # completion never breaks the prompt
            found = []
        for suggestion in found:
            yield Completion(
                suggestion.text, start_position=-suggestion.replace, display_meta=suggestion.kind
            )


def _enter(event: KeyPressEvent) -> None:
    # Enter submits a blank buffer or one that ends a statement; otherwise it starts a new line.
    buffer = event.current_buffer
    if not buffer.text.strip() or is_complete(buffer.text):
        buffer.validate_and_handle()
    else:
        buffer.insert_text("\n")


def _continuation(width: int, line_number: int, is_soft_wrap: int) -> str:
    return "-> ".rjust(width)


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()
    bindings.add("enter")(_enter)
    return bindings


def name_cache(shell: Shell) -> NameCache:
    """Names for completion, their first reading started in the background."""
    cache = NameCache(shell.session, COMMANDS, RENDERERS)
    cache.refresh()
    return cache


def make_prompt(
    *,
    history: History | None = None,
    input: Input | None = None,
    output: Output | None = None,
    completer: Completer | None = None,
) -> PromptSession[str]:
    """The prompt: multi-line, submits complete statements, highlights SQL, completes
    names, history in the state folder."""
    return PromptSession(
        history=history if history is not None else FileHistory(str(history_file())),
        multiline=True,
        key_bindings=key_bindings(),
        prompt_continuation=_continuation,
        lexer=PygmentsLexer(SqlLexer),
        completer=completer,
        input=input,
        output=output,
    )


class TimedFlush:
    """Flushes the insert buffer's due rows while the shell waits at its prompt, and
    does the due maintenance of the tables it flushed (see ``sqllake/maintenance.py``).

    Buffered rows must reach Parquet within the flush interval even in a process that
    stays open for hours; a statement in progress holds ``idle``, so a flush never runs
    beside one.
    """

    def __init__(self, shell: Shell, every: float = 5.0) -> None:
        self.idle = threading.Lock()
        self._shell = shell
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqllake-flush", daemon=True)

    def __enter__(self) -> TimedFlush:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            if not self.idle.acquire(blocking=False):
                continue
            try:
                self._shell.session.flush_due()
                maintain_recent(self._shell.session)
            except Exception as exc:  # never disturbs the shell; the log file keeps the details
                log_exception(exc)
            finally:
                self.idle.release()


def repl(
    shell: Shell,
    out: TextIO,
    prompt: PromptSession[str] | None = None,
    names: NameCache | None = None,
) -> int:
    """Read, run, print until Ctrl-D or ``.quit``; exit status 0."""
    cache = names if names is not None else name_cache(shell)
    session = prompt if prompt is not None else make_prompt(completer=SqlCompleter(shell, cache))
    progress = sys.stderr if sys.stderr.isatty() and out.isatty() else None
    out.write(f"sqllake {__version__}: end statements with ';', .help for help, Ctrl-D quits\n")
    with TimedFlush(shell) as flusher:
        while True:
            try:
                text = session.prompt(prompt_text(shell))
            except KeyboardInterrupt:  # Ctrl-C on the prompt clears the line
                continue
            except EOFError:
                break
            shell.width = shutil.get_terminal_size().columns
            with flusher.idle:
                going_on = run_input(shell, text, out, progress)
            if changes_names(text):
                cache.refresh()
            if not going_on:
                break
    return 0
