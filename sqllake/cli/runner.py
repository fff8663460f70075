"""Running SQL text (a script, a -c command, standard input, a REPL entry) in a session.

One runner serves scripts and the shell: statements come from the shared splitter,
results go to the chosen renderer, errors are printed located in the source as
``FILE:LINE:COL: ErrorClass: message`` with the source line and a caret. Unexpected
exceptions are bugs: their traceback goes to a log file, never to the screen.
"""

from __future__ import annotations

import logging
import time
import traceback

from sqllake.cli.commands import run_command
from sqllake.cli.render import RENDERERS
from sqllake.cli.state import ShellState, log_path, report
from sqllake.errors import Error
from sqllake.result import Result
from sqllake.sql import Statement, split


def _internal(state: ShellState, exc: BaseException) -> str:
    path = log_path()
    logging.basicConfig(filename=path, level=logging.ERROR)
    logging.getLogger("sqllake").error("".join(traceback.format_exception(exc)))
    return f"{exc} (a bug in sqllake; details in {path})"


def show(state: ShellState, result: Result, elapsed: float) -> None:
    if result.reader is not None:
        names = [c.name for c in result.columns]
        RENDERERS[state.mode](names, result.reader, state.out, state.options)
    elif state.interactive:
        state.out.write(result.status + "\n")
    if state.timer:
        state.out.write(f"Run Time: {elapsed:.3f} s\n")
    state.out.flush()


def run_statement(state: ShellState, source: str, text: str, statement: Statement) -> bool:
    """Run one statement or dot command; False if it failed (the error is printed)."""
    started = time.perf_counter()
    try:
        if statement.is_dot_command:
            run_command(state, statement.text, run_text)
            return True
        result = state.connection.session.execute(statement.text)
        show(state, result, time.perf_counter() - started)
        return True
    except BrokenPipeError:
        state.quit = True  # the reader went away (`| head`): stop quietly
        return True
    except Error as exc:
        offset = statement.start + (exc.offset or 0)
        report(state, source, text, offset, type(exc).__name__, exc.message)
    except Exception as exc:  # a bug: logged, reported briefly, the session goes on
        report(state, source, text, statement.start, "InternalError", _internal(state, exc))
    return False


def run_text(state: ShellState, source: str, text: str, keep_going: bool = False) -> bool:
    """Run every statement of ``text``; stop at the first failure unless ``keep_going``."""
    ok = True
    for statement in split(text):
        if state.quit:
            break
        if not run_statement(state, source, text, statement):
            ok = False
            if not keep_going:
                break
    return ok
