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
