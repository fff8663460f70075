"""Layering rules the code keeps (checked on the source, not by convention)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sqllake"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_core_never_imports_the_user_interface() -> None:
    for path in _modules():
        # The command line, and ``python -m sqllake`` which starts it, are the interface.
        if "cli" in path.relative_to(PACKAGE).parts or path.name == "__main__.py":
            continue
        bad = {
            m for m in _imports(path) if m.startswith(("prompt_toolkit", "sqllake.cli", "pygments"))
        }
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_only_the_engine_runs_duckdb() -> None:
    # errors.py names DuckDB's exception classes to translate them; nothing else may import it.
    allowed = {PACKAGE / "read" / "engine.py", PACKAGE / "errors.py"}
    for path in _modules():
        if path not in allowed:
            assert "duckdb" not in _imports(path), f"{path.relative_to(PACKAGE)} imports duckdb"


def test_ruff_is_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", str(PACKAGE)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout


def test_mypy_strict_is_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", str(PACKAGE)],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
    )
    assert out.returncode == 0, out.stdout


_QUOTES = {"'", "''", '"', '""'}


def _hand_quoting(tree: ast.AST) -> list[int]:
    """Lines that double or wrap quotes by hand: ``x.replace("'", "''")``, ``'"' + name``."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "replace"
            and len(node.args) == 2
            and all(isinstance(a, ast.Constant) and a.value in _QUOTES for a in node.args)
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            sides = (node.left, node.right)
            if any(isinstance(s, ast.Constant) and s.value in {"'", '"'} for s in sides):
                lines.append(node.lineno)
    return lines


def test_sql_text_is_quoted_in_one_place() -> None:
    owner = PACKAGE / "sql" / "text.py"
    for path in _modules():
        if path != owner:
            found = _hand_quoting(ast.parse(path.read_text()))
            assert not found, f"{path.relative_to(PACKAGE)} quotes SQL by hand at lines {found}"


def test_the_quoting_check_finds_hand_quoting() -> None:
    assert _hand_quoting(ast.parse("x = \"'\" + s.replace(\"'\", \"''\") + \"'\""))
    assert _hand_quoting(ast.parse("x = '\"' + name + '\"'"))
    assert not _hand_quoting(ast.parse("x = quote_string(s)"))
