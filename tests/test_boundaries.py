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
    # translation.py names DuckDB's exception classes to translate them; nothing else may.
    allowed = {PACKAGE / "read" / "engine.py", PACKAGE / "translation.py"}
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


# Start-up: what a process imports is what its statements need (see bench/startup.py).
# PyIceberg's exception classes (which translation names) are the one part of the
# catalog's libraries every statement may load: "pyiceberg.exceptions" below.
_ENGINE = {"duckdb", "sqlglot", "pyarrow"}
_CATALOG = {"pyiceberg.catalog", "pyiceberg.table", "pyiceberg.io", "pyiceberg.schema"}
_CATALOG |= {"pyiceberg.manifest", "sqlalchemy", "pydantic", "psycopg", "fsspec", "pyroaring"}
_INTERFACE = {"prompt_toolkit", "pygments"}


def _loaded(code: str, tmp_path: Path) -> set[str]:
    """The top-level packages and PyIceberg's modules a new interpreter has after ``code``."""
    report = "import sys; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    modules = set(out.stdout.split())
    tops = {name.split(".")[0] for name in modules}
    iceberg = {".".join(m.split(".")[:2]) for m in modules if m.startswith("pyiceberg.")}
    return tops | iceberg


def test_import_sqllake_imports_no_dependency(tmp_path: Path) -> None:
    loaded = _loaded("import sqllake", tmp_path)
    assert not loaded & {*_ENGINE, *_CATALOG, *_INTERFACE, "pyiceberg"}


def test_the_version_and_help_import_no_dependency(tmp_path: Path) -> None:
    for argument in ("--version", "--help"):
        code = (
            "import contextlib, io\nfrom sqllake.cli.main import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            f"    main(['{argument}'])"
        )
        loaded = _loaded(code, tmp_path)
        assert not loaded & {*_ENGINE, *_CATALOG, *_INTERFACE, "pyiceberg"}, argument


def test_a_statement_without_tables_opens_no_catalog(tmp_path: Path) -> None:
    code = (
        "import sqllake\n"
        f"con = sqllake.connect({str(tmp_path / 'wh')!r})\n"
        "assert con.cursor().execute('SELECT 1').fetchall() == [(1,)]\n"
    )
    loaded = _loaded(code, tmp_path)
    assert not loaded & {*_CATALOG, *_INTERFACE}, loaded & {*_CATALOG, *_INTERFACE}
    assert {m for m in loaded if m.startswith("pyiceberg.")} <= {"pyiceberg.exceptions"}
    assert {m for m in loaded if m.startswith("pyiceberg.")} <= {"pyiceberg.exceptions"}
    assert not (tmp_path / "wh").exists()  # the catalog was never opened


def test_the_command_line_imports_the_repl_only_for_the_repl(tmp_path: Path) -> None:
    code = (
        "import contextlib, io\nfrom sqllake.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['--warehouse', {str(tmp_path / 'wh')!r}, '-c', 'SELECT 1']) == 0"
    )
    loaded = _loaded(code, tmp_path)
    assert not loaded & {*_CATALOG, *_INTERFACE}, loaded & {*_CATALOG, *_INTERFACE}
    assert {m for m in loaded if m.startswith("pyiceberg.")} <= {"pyiceberg.exceptions"}


def test_names_kept_apart_for_start_up_match_their_owners() -> None:
    # Named in light modules so that parsing arguments or finding a statement's tables
    # imports no renderer or catalog; they must not drift from what they name.
    from sqllake.cli.options import FORMATS
    from sqllake.cli.render import RENDERERS
    from sqllake.read.information_schema import VIEWS
    from sqllake.read.query import INFORMATION_VIEWS

    assert tuple(RENDERERS) == FORMATS
    assert set(VIEWS) == INFORMATION_VIEWS


def test_foreign_errors_are_translated_in_one_place() -> None:
    # The session's statement boundary and the wrapper of streamed results
    # (translation.translating) call translate; handlers hint and let errors go.
    allowed = {PACKAGE / "session.py", PACKAGE / "translation.py"}
    for path in _modules():
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            named = isinstance(node, ast.ImportFrom) and any(
                alias.name == "translate" for alias in node.names
            )
            called = (
                isinstance(node, ast.Attribute)
                and node.attr == "translate"
                and isinstance(node.value, ast.Name)
                and node.value.id in ("translation", "errors")
            )
            assert not named and not called, f"{path.relative_to(PACKAGE)} translates"
