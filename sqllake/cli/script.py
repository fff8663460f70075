"""The script runner: each statement of a script in order, results to ``out``, the
first failure reported as ``FILE:LINE:COL: ErrorClass: message`` with a caret.

The same runner serves files, ``-c``, standard input, ``.read`` and the REPL's input.
"""

from __future__ import annotations

import time

from sqllake.cli.report import NotUtf8, Source, report_error, report_internal
from sqllake.cli.shell import Shell, Streams, show, summary
from sqllake.errors import Error, ProgrammingError
from sqllake.sql import Statement, split

MAX_READ_DEPTH = 16  # .read nested deeper than this is almost surely a script reading itself


class AlreadyReported(Exception):
    """A script run by ``.read`` failed and has printed its own error."""


def run_source(shell: Shell, source: Source, io: Streams) -> bool:
    """Run every statement of ``source``; False if one failed.

    Stops at the first failure unless ``shell.continue_on_error``, and after ``.quit``.
    """
    ok = True
    for statement in split(source.text):
        if shell.done:
            break
        if not _run_reported(shell, source, statement, io):
            ok = False
            shell.failed = True
            if not shell.continue_on_error:
                break
    return ok


def _run_reported(shell: Shell, source: Source, statement: Statement, io: Streams) -> bool:
    try:
        run_statement(shell, statement, io)
    except Error as error:
        report_error(io.err, source, statement.start, error)
        return False
    except NotUtf8 as exc:  # a script .read names: the error points into that script
        report_error(io.err, exc.source, 0, exc.error)
        return False
    except AlreadyReported:
        return False
    except BrokenPipeError:  # the reader of our output went away (`| head`): main ends the run
        raise
    except Exception as exc:  # a bug: never a traceback on screen, but one in the log
        report_internal(io.err, source, statement.start, exc)
        return False
    return True


def run_statement(shell: Shell, statement: Statement, io: Streams) -> None:
    """Run one statement or dot command; its errors propagate.

    Results go to the ``.output`` file when one is set; the row count and time
    (:func:`summary`) always go to ``io.out``.
    """
    results = Streams(shell.output or io.out, io.err)
    if not statement.is_dot_command:
        started = time.monotonic()
        shell.fetched = 0
        shown = show(shell, shell.session.execute(statement.text), results.out)
        io.out.write(summary(shell, shown, time.monotonic() - started))
        return
    from sqllake.cli.commands import run_command  # dot commands: imported by the first

    nested = run_command(shell, statement.text, results)
    if nested is not None:
        _run_nested(shell, nested, io)


def _run_nested(shell: Shell, source: Source, io: Streams) -> None:
    if shell.depth >= MAX_READ_DEPTH:
        raise ProgrammingError(f".read nested more than {MAX_READ_DEPTH} deep", offset=0)
    shell.depth += 1
    try:
        ok = run_source(shell, source, io)
    finally:
        shell.depth -= 1
    if not ok:
        raise AlreadyReported(source.name)
