"""Dot commands (`.tables`, `.schema T` ...): one registry for scripts, the REPL and `.help`.

A handler gets the shell, the parsed call and the output streams. It may return a
:class:`Source` for the runner to run next (``.read``), which keeps this module free
of the script runner. Errors are :class:`sqllake.errors.Error` with an offset inside
the command's line, so they are reported like SQL errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqllake.cli.render import RENDERERS
from sqllake.cli.report import Source, decode_script
from sqllake.cli.shell import Shell, Streams, show
from sqllake.errors import Error, OperationalError, ProgrammingError
from sqllake.read.information_schema import STATISTICS
from sqllake.result import Result
from sqllake.sql.text import qualified_name, quote_identifier, quote_string

_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|[^\s;]+")


@dataclass(frozen=True)
class Call:
    """A parsed dot command: ``.name arg ...``, with each argument's offset in the line."""

    name: str
    args: tuple[str, ...]
    offsets: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Call:
        """Split on blanks; quotes group an argument; a ``;`` is ignored (a SQL habit)."""
        tokens = list(_TOKEN.finditer(text))
        name = tokens[0].group(0)[1:] if tokens else ""
        args = tuple(_unquote(t.group(0)) for t in tokens[1:])
        return cls(name, args, tuple(t.start() for t in tokens[1:]))

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None

    def at(self, index: int) -> int:
        """Offset of argument ``index`` (of the command itself when there is none)."""
        return self.offsets[index] if index < len(self.offsets) else 0

    def expect(self, most: int) -> None:
        if len(self.args) > most:
            raise ProgrammingError(
                f".{self.name} takes at most {most} argument(s)", offset=self.at(most)
            )


def _unquote(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"" else token


Handler = Callable[[Shell, Call, Streams], Source | None]


@dataclass(frozen=True)
class DotCommand:
    handler: Handler
    usage: str
    help: str


def _query(shell: Shell, sql: str, at: int) -> Result:
    """Run SQL the command generated; its errors point at the argument the user typed."""
    try:
        return shell.session.execute(sql)
    except Error as error:
        error.offset = at
        raise


def _help(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(0)
    width = max(len(c.usage) for c in COMMANDS.values())
    for name in sorted(COMMANDS):
        command = COMMANDS[name]
        io.out.write(f".{command.usage.ljust(width)}  {command.help}\n")


def _tables(shell: Shell, call: Call, io: Streams, detail: bool = False) -> None:
    call.expect(1)
    argument = call.arg(0)
    if argument is not None and any(c in argument for c in "*?%"):
        # A pattern (glob, or SQL's %) over schema.table names in every schema.
        pattern = quote_string(argument.replace("%", "*"))
        statistics = "".join(f", {column}" for column in STATISTICS) if detail else ""
        sql = (
            f"SELECT table_schema || '.' || table_name AS name{statistics} "
            "FROM information_schema.tables "
            f"WHERE (table_schema || '.' || table_name) GLOB {pattern} "
            f"OR table_name GLOB {pattern} ORDER BY name"
        )
    else:
        show_tables = "SHOW TABLE EXTENDED" if detail else "SHOW TABLES"
        sql = show_tables if argument is None else f"{show_tables} IN {argument}"
    show(shell, _query(shell, sql, call.at(0)), io.out)


def _tables_detail(shell: Shell, call: Call, io: Streams) -> None:
    _tables(shell, call, io, detail=True)


def _create_statement(shell: Shell, table: str, at: int) -> str:
    result = _query(shell, f"SHOW CREATE TABLE {table}", at)
    assert result.reader is not None
    return "".join(str(text) + ";\n" for text in result.reader.read_all().column(0).to_pylist())


def _table_names(shell: Shell) -> list[str]:
    result = _query(shell, "SHOW TABLES", 0)
    assert result.reader is not None
    return [str(name) for name in result.reader.read_all().column(0).to_pylist()]


def _schema(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(1)
    table = call.arg(0)
    names = [table] if table is not None else [quote_identifier(n) for n in _table_names(shell)]
    for name in names:
        io.out.write(_create_statement(shell, name, call.at(0)))


def _mode(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(1)
    mode = call.arg(0)
    if mode is None:
        io.out.write(f"{shell.mode}\n")
    elif mode in RENDERERS:
        shell.mode = mode
    else:
        choices = ", ".join(RENDERERS)
        raise ProgrammingError(f"unknown format {mode!r}; one of: {choices}", offset=call.at(0))


def _read(shell: Shell, call: Call, io: Streams) -> Source:
    call.expect(1)
    path = call.arg(0)
    if path is None:
        raise ProgrammingError(".read needs a FILE", offset=0)
    try:
        # Relative paths resolve against the working directory, as in sqlite3 and psql.
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise OperationalError(f"cannot read {path}: {reason}", offset=call.at(0)) from exc
    return decode_script(path, data)


SWITCH = {"on": True, "off": False}


def _timer(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(1)
    setting = call.arg(0)
    if setting is None:
        io.out.write(f"{'on' if shell.timer else 'off'}\n")
    elif setting.lower() in SWITCH:
        shell.timer = SWITCH[setting.lower()]
    else:
        raise ProgrammingError(".timer takes on or off", offset=call.at(0))


def _output(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(1)
    path = call.arg(0)
    if path is None:
        shell.set_output(None)
        return
    try:
        # Truncated, as sqlite3's .output and psql's \\o do.
        shell.set_output(open(path, "w", encoding="utf-8"))  # noqa: SIM115 (closed by .output)
    except OSError as exc:
        raise OperationalError(
            f"cannot write {path}: {exc.strerror or exc}", offset=call.at(0)
        ) from exc


def _snapshots(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(1)
    table = call.arg(0)
    if table is None:
        raise ProgrammingError(".snapshots needs a TABLE", offset=0)
    *schema, name = table.split(".")
    qualified = qualified_name([*schema, name + "$snapshots"])
    sql = (
        "SELECT committed_at, snapshot_id, parent_id, operation "
        f"FROM {qualified} ORDER BY committed_at"
    )
    show(shell, _query(shell, sql, call.at(0)), io.out)


def _maxrows(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(1)
    count = call.arg(0)
    if count is None:
        io.out.write(f"{shell.max_rows}\n")
    elif count.isdigit():
        shell.max_rows = int(count)
    else:
        raise ProgrammingError(".maxrows takes a number (0: no limit)", offset=call.at(0))


def _quit(shell: Shell, call: Call, io: Streams) -> None:
    call.expect(0)
    shell.done = True


COMMANDS: dict[str, DotCommand] = {
    "help": DotCommand(_help, "help", "show the dot commands"),
    "tables": DotCommand(
        _tables,
        "tables [SCHEMA|PATTERN]",
        "list the tables of the current schema, of SCHEMA, or matching a glob PATTERN",
    ),
    "tables+": DotCommand(
        _tables_detail,
        "tables+ [SCHEMA|PATTERN]",
        "the same, with each table's rows, files, bytes, snapshots and last change",
    ),
    "schema": DotCommand(_schema, "schema [TABLE]", "show CREATE TABLE for one or every table"),
    "mode": DotCommand(
        _mode, "mode [FORMAT]", "show or set the output format: " + "|".join(RENDERERS)
    ),
    "read": DotCommand(_read, "read FILE", "run the SQL script FILE"),
    "timer": DotCommand(_timer, "timer [on|off]", "show or set printing each statement's time"),
    "output": DotCommand(
        _output, "output [FILE]", "send results to FILE (truncated), or back to the terminal"
    ),
    "snapshots": DotCommand(
        _snapshots, "snapshots TABLE", "list the snapshots of TABLE, oldest first"
    ),
    "maxrows": DotCommand(
        _maxrows,
        "maxrows [N]",
        "show or set how many rows table and line output show (0: all)",
    ),
    "quit": DotCommand(_quit, "quit", "leave (end of input does too)"),
    "exit": DotCommand(_quit, "exit", "leave, like .quit"),
}


def run_command(shell: Shell, text: str, io: Streams) -> Source | None:
    """Run the dot command line ``text``; a script to run next, if the command names one."""
    call = Call.parse(text)
    command = COMMANDS.get(call.name)
    if command is None:
        raise ProgrammingError(f"unknown command .{call.name} (.help lists them)", offset=0)
    return command.handler(shell, call, io)
