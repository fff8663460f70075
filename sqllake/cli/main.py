"""``sqllake``: run SQL scripts, ``-c`` commands or standard input, or open the REPL.

Exit status: 0 when every statement succeeded, 1 when one failed (or the lakehouse
could not be opened), 2 for bad arguments (argparse), 130 when interrupted, 141 (as
for SIGPIPE) when the reader of the output went away, as in ``sqllake ... | head``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import sqllake
from sqllake.cli.options import FORMATS, add_connection_options, connect
from sqllake.cli.report import NotUtf8, Source, decode_script, report_error
from sqllake.errors import Error

if TYPE_CHECKING:
    from sqllake.cli.shell import Shell, Streams

# What runs statements (the engine, the parser, the shell) and the REPL's prompt-toolkit
# are imported once the arguments are parsed: ``--version`` and ``--help`` need none of it.

# ``sqllake changes ...`` is the change feed's command and ``sqllake maintain ...`` the
# maintenance command; scripts of those names are run as ``sqllake ./changes``.
CHANGES = "changes"
MAINTAIN = "maintain"
STDIN_NAME = "<stdin>"
COMMAND_NAME = "<command>"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sqllake",
        description="SQL for an Apache Iceberg lakehouse. With no FILE and no -c, reads SQL "
        "from standard input when it is a pipe, else opens the interactive shell. "
        "'sqllake changes TABLE ...' prints a table's changes (see 'sqllake changes -h'); "
        "'sqllake maintain [TABLE ...]' compacts and expires (see 'sqllake maintain -h').",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="SQL scripts to run; - is stdin")
    p.add_argument(
        "-c",
        dest="commands",
        action="append",
        default=[],
        metavar="SQL",
        help="run SQL (repeatable; -c commands run before FILEs)",
    )
    add_connection_options(p)
    p.add_argument("--format", choices=list(FORMATS), default="table", help="result format")
    p.add_argument(
        "--continue-on-error",
        action="store_true",
        help="go on after a failing statement (the exit status is still 1)",
    )
    p.add_argument("--version", action="version", version=f"sqllake {sqllake.__version__}")
    return p


class CannotRead(Exception):
    """A script named on the command line could not be read."""


def _read(name: str) -> Source:
    """A script's text: bytes that are not UTF-8 raise NotUtf8, located at the first."""
    if name == "-":
        stdin = getattr(sys.stdin, "buffer", None)  # bytes, unless replaced by text
        if stdin is None:
            return Source(STDIN_NAME, sys.stdin.read())
        return decode_script(STDIN_NAME, stdin.read())
    try:
        with open(name, "rb") as script:
            data = script.read()
    except OSError as exc:
        raise CannotRead(f"cannot read {name}: {exc.strerror or exc}") from exc
    return decode_script(name, data)


def _sources(args: argparse.Namespace) -> list[Source] | None:
    """The scripts to run, in order; None for the REPL."""
    # Arguments that are not UTF-8 arrive with their bytes escaped (os.fsencode undoes it).
    sources = [decode_script(COMMAND_NAME, os.fsencode(text)) for text in args.commands]
    sources += [_read(name) for name in args.files]
    if sources:
        return sources
    return None if sys.stdin.isatty() else [_read("-")]


def _run(shell: Shell, sources: list[Source] | None, io: Streams) -> int:
    if sources is None:
        from sqllake.cli.repl import repl

        shell.show_status = True
        shell.timer = True
        try:
            return repl(shell, io.out)
        finally:
            shell.set_output(None)
    from sqllake.cli.script import run_source

    try:
        for source in sources:
            if not run_source(shell, source, io) and not shell.continue_on_error:
                break
            if shell.done:
                break
    finally:
        shell.set_output(None)
    return 1 if shell.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == [CHANGES]:
        from sqllake.cli import changes

        try:
            return changes.main(arguments[1:])
        except BrokenPipeError:
            _discard_stdout()
            return 141
    if arguments[:1] == [MAINTAIN]:
        from sqllake.cli import maintain

        return maintain.main(arguments[1:])
    args = parser().parse_args(arguments)
    with _collecting_later():
        from sqllake.cli.shell import Shell, Streams

    io = Streams(sys.stdout, sys.stderr)
    try:
        sources = _sources(args)
    except CannotRead as exc:
        io.err.write(f"sqllake: {exc}\n")
        return 1
    except NotUtf8 as exc:
        report_error(io.err, exc.source, 0, exc.error)
        return 1
    try:
        with _collecting_later():
            connection = connect(args)
    except Error as error:
        io.err.write(f"sqllake: {type(error).__name__}: {error.message}\n")
        return 1
    shell = Shell(connection.session, mode=args.format, continue_on_error=args.continue_on_error)
    status = 130
    try:
        status = _run(shell, sources, io)
    except KeyboardInterrupt:
        io.err.write("sqllake: interrupted\n")
    except BrokenPipeError:
        _discard_stdout()
        status = 141
    finally:
        status = _close(connection, io, status)
    return status


@contextlib.contextmanager
def _collecting_later() -> Iterator[None]:
    """Import (and connect) without Python's cyclic garbage collector, then set what was
    built aside for good. The parser's and the engine's modules build some 45,000
    container objects that live as long as the process; the collector would walk them
    again and again as they are made (about a tenth of a ``-c "SELECT 1"`` run's CPU
    time). Frozen, later collections skip them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _discard_stdout() -> None:
    # Python flushes stdout at exit and would report the broken pipe again: point the
    # descriptor at /dev/null instead (the recipe of Python's signal documentation).
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass


def _close(connection: sqllake.Connection, io: Streams, status: int) -> int:
    """Close the connection: an open explicit transaction is discarded, buffered rows flushed."""
    try:
        connection.close()
    except Error as error:
        io.err.write(f"sqllake: {type(error).__name__}: {error.message}\n")
        return max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
