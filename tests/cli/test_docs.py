"""Every dot command has help text and is documented in the README."""

from __future__ import annotations

from pathlib import Path

from sqllake.cli.commands import COMMANDS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_dot_command_is_documented_with_help() -> None:
    readme = README.read_text().replace("\\|", "|")  # table cells escape |
    for name, command in COMMANDS.items():
        assert command.help, name
        assert f"`.{command.usage}`" in readme, f".{command.usage} is not in README.md"
