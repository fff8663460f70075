"""The interactive shell: a prompt_toolkit loop around :func:`run_input`.

The only module of sqllake that imports prompt_toolkit. Each submitted buffer runs
through the script runner, so statements, dot commands and error reports behave as
in scripts; an error never ends the session.
"""

from __future__ import annotations

from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from sqllake import __version__
from sqllake.cli.paths import history_file
from sqllake.cli.report import Source
from sqllake.cli.script import run_source
from sqllake.cli.shell import Shell, Streams
from sqllake.sql import is_complete

INPUT_NAME = "<input>"  # what error reports call the text typed at the prompt


def prompt_text(shell: Shell) -> str:
    """``sqllake:SCHEMA> ``, with ``*`` after the schema while a transaction is open."""
    schema = ".".join(shell.session.schema)
    mark = "*" if shell.session.in_transaction else ""
    return f"sqllake:{schema}{mark}> "


def run_input(shell: Shell, text: str, out: TextIO) -> bool:
    """Run what the user submitted, results and errors to ``out``; False to end the session."""
    try:
        run_source(shell, Source(INPUT_NAME, text), Streams(out, out))
    except KeyboardInterrupt:  # Ctrl-C while rows are printed cancels the statement only
        out.write("cancelled\n")
    return not shell.done


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


def make_prompt(
    *, history: History | None = None, input: Input | None = None, output: Output | None = None
) -> PromptSession[str]:
    """The prompt: multi-line, submits complete statements, history in the state folder."""
    return PromptSession(
        history=history if history is not None else FileHistory(str(history_file())),
        multiline=True,
        key_bindings=key_bindings(),
        prompt_continuation=_continuation,
        input=input,
        output=output,
    )


def repl(shell: Shell, out: TextIO, prompt: PromptSession[str] | None = None) -> int:
    """Read, run, print until Ctrl-D or ``.quit``; exit status 0."""
    session = prompt if prompt is not None else make_prompt()
    out.write(f"sqllake {__version__}: end statements with ';', .help for help, Ctrl-D quits\n")
    while True:
        try:
            text = session.prompt(prompt_text(shell))
        except KeyboardInterrupt:  # Ctrl-C on the prompt clears the line
            continue
        except EOFError:
            break
        if not run_input(shell, text, out):
            break
    return 0
