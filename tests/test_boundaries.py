"""Layering rules the code keeps (checked on the source, not by convention)."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

from tests.import_graph import part_graph

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
    # translation.py names DuckDB's exception classes to translate them, and
    # compat/duckdb.py holds the client internals the engine uses; nothing else may.
    allowed = {
        PACKAGE / "read" / "engine.py",
        PACKAGE / "translation.py",
        PACKAGE / "compat" / "duckdb.py",
    }
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


def test_a_query_of_a_small_table_imports_no_catalog_library(tmp_path: Path) -> None:
    # The light read path (execute/light_scans.py) looks the table up on the SQLite
    # catalog with the standard library's driver and decodes its manifests itself.
    warehouse = str(tmp_path / "wh")
    code = (
        "import contextlib, io\nfrom sqllake.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['--warehouse', {warehouse!r}, '-c', 'SELECT count(*) FROM t']) == 0"
    )
    setup = "CREATE TABLE t (id BIGINT); INSERT INTO t VALUES (1); FLUSH t"
    subprocess.run(
        [sys.executable, "-m", "sqllake", "--warehouse", warehouse, "-c", setup],
        check=True,
        capture_output=True,
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


_QUOTES = {"'", "''", '"', '""'}


_SQL_WORDS = re.compile(r"\b(SELECT|FROM|AS|CAST|WHERE|TIMESTAMPTZ|DATE|VALUES|GLOB)\b")


def _quoted_in_fstring(node: ast.JoinedStr) -> bool:
    """An f-string of SQL that wraps a value in quotes: ``f"... FROM \"{view}\""``."""
    parts = node.values
    texts = [p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]
    if not _SQL_WORDS.search(" ".join(texts)):
        return False
    for before, value, after in zip(parts, parts[1:], parts[2:], strict=False):
        if (
            isinstance(value, ast.FormattedValue)
            and isinstance(before, ast.Constant)
            and isinstance(after, ast.Constant)
            and str(before.value)[-1:] in {"'", '"'}
            and str(after.value)[:1] == str(before.value)[-1:]
        ):
            return True
    return False


def _hand_quoting(tree: ast.AST) -> list[int]:
    """Lines that double or wrap quotes by hand: ``x.replace("'", "''")``, ``'"' + name``,
    ``f"SELECT '{value}'"``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and _quoted_in_fstring(node):
            lines.append(node.lineno)
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
    assert _hand_quoting(ast.parse('x = "\'" + s.replace("\'", "\'\'") + "\'"'))
    assert _hand_quoting(ast.parse("x = '\"' + name + '\"'"))
    assert _hand_quoting(ast.parse("x = f'SELECT * FROM \"{view}\"'"))
    assert _hand_quoting(ast.parse("x = f\"SELECT '{kind}' AS k\""))
    assert not _hand_quoting(ast.parse("x = quote_string(s)"))
    assert not _hand_quoting(ast.parse("x = f\"table property '{key}' is unknown\""))


# Private internals of dependencies live in sqllake/compat/ only.


def _is_private(name: str) -> bool:
    return len(name) > 1 and name.startswith("_") and not name.endswith("__")


def _is_foreign(module: str) -> bool:
    top = module.split(".")[0]
    return top != "sqllake" and top not in sys.stdlib_module_names


@cache
def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in _modules()}


@cache
def _defined_in_sqllake() -> frozenset[str]:
    """Every name sqllake's own source defines: functions, classes, assigned names and
    attributes (``self._x = ...``), parameters."""
    found: set[str] = set()
    for tree in _trees().values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                found.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                found.add(node.attr)
            elif isinstance(node, ast.arg):
                found.add(node.arg)
            elif isinstance(node, ast.alias):
                found.add(node.asname or node.name.split(".")[0])
    return frozenset(found)


def _foreign_private_names(path: Path, class_name: str) -> set[str]:
    """The private names the foreign base classes of a sqllake class have."""
    module = importlib.import_module(
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    )
    cls = getattr(module, class_name, None)
    names: set[str] = set()
    for base in inspect.getmro(cls) if inspect.isclass(cls) else ():
        if _is_foreign(base.__module__):
            names.update(n for n in dir(base) if _is_private(n))
    return names


def _private_uses(path: Path, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _is_foreign(node.module):
            parts = [*node.module.split("."), *(a.name for a in node.names)]
            found += [f"{node.lineno}: imports {p}" for p in parts if _is_private(p)]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_foreign(alias.name) and any(map(_is_private, alias.name.split("."))):
                    found.append(f"{node.lineno}: imports {alias.name}")
        elif isinstance(node, ast.ClassDef):
            inherited = _foreign_private_names(path, node.name)
            for inner in ast.walk(node):
                name = inner.name if isinstance(inner, ast.FunctionDef) else None
                name = inner.attr if isinstance(inner, ast.Attribute) else name
                if name is not None and name in inherited:
                    found.append(f"{inner.lineno}: {node.name} uses its foreign base's {name}")
        elif (
            isinstance(node, ast.Attribute)
            and _is_private(node.attr)
            and node.attr not in _defined_in_sqllake()
        ):
            found.append(f"{node.lineno}: uses .{node.attr}, which sqllake does not define")
    return found


def test_only_compat_touches_private_names_of_dependencies() -> None:
    compat = PACKAGE / "compat"
    for path, tree in _trees().items():
        if compat not in path.parents and path.name != "__main__.py":
            found = _private_uses(path, tree)
            assert not found, f"{path.relative_to(PACKAGE)}: {found}"


def test_the_private_name_check_finds_private_uses() -> None:
    # Checked as if written in dialect.py, where SqlLakeParser derives from sqlglot's parser.
    sample = PACKAGE / "sql" / "dialect.py"
    code = (
        "from pyiceberg.manifest import _inherit_from_manifest\n"
        "import duckdb._seam\n"
        "planner._build_metrics_evaluator()\n"
    )
    found = _private_uses(sample, ast.parse(code))
    assert [f.split(":")[0] for f in found] == ["1", "2", "3"]
    parser = "class SqlLakeParser:\n    def _parse_statement(self):\n        return self._curr\n"
    found = _private_uses(sample, ast.parse(parser))
    assert any("_parse_statement" in f for f in found) and any("_curr" in f for f in found)


# Every package sqllake imports is one it declares.


def _declared() -> set[str]:
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    names = (re.match(r"[A-Za-z0-9_.-]+", d) for d in project["dependencies"])
    return {_canonical(m.group(0)) for m in names if m}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_a_declared_dependency() -> None:
    distributions = importlib.metadata.packages_distributions()
    declared = _declared()
    for path, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in filter(_is_foreign, modules):
                top = module.split(".")[0]
                owners = {_canonical(d) for d in distributions.get(top, [top])}
                assert owners & declared, (
                    f"{path.relative_to(PACKAGE)} imports {top}, which pyproject.toml does "
                    f"not declare (from {sorted(owners)})"
                )


def test_versions_of_the_dependencies_whose_internals_we_use_are_bounded() -> None:
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    for name in ("sqlglot", "pyiceberg", "duckdb"):
        (spec,) = [d for d in project["dependencies"] if d.startswith(name)]
        assert "<" in spec, f"{name} has no upper bound: {spec}"


# Handlers see a narrow context (context.py), not the session.


def test_handlers_never_import_the_session() -> None:
    narrow = [
        *(PACKAGE / "execute").glob("*.py"),
        *(PACKAGE / "changes").glob("*.py"),
        PACKAGE / "maintenance.py",
    ]
    for path in narrow:
        bad = {m for m in _imports(path) if m == "sqllake.session" or m.startswith("sqllake.dbapi")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}: use context.py"


def test_only_the_session_reaches_into_its_transaction() -> None:
    # The transaction's dictionaries are the session's own; others ask it through Writes.
    inner = {"pending", "held", "pinned", "explicit"}
    for path, tree in _trees().items():
        if path == PACKAGE / "session.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in inner
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "transaction"
            ):
                raise AssertionError(
                    f"{path.relative_to(PACKAGE)}:{node.lineno} reads .transaction.{node.attr}"
                )


# The change feed has one home (sqllake/changes/); faces call it with typed arguments.


def test_the_change_feed_is_used_by_its_faces_only() -> None:
    faces = {
        PACKAGE / "execute" / "changes.py",
        PACKAGE / "cli" / "changes.py",
        PACKAGE / "dbapi.py",
        PACKAGE / "session.py",
    }
    for path in _modules():
        if PACKAGE / "changes" in path.parents or path in faces:
            continue
        bad = {m for m in _imports(path) if m.startswith("sqllake.changes")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}: go through a face"


def _runs_sql_through_a_session(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "execute"
            and "session" in ast.unparse(node.func.value).lower()
        ):
            lines.append(node.lineno)
    return lines


def test_the_core_never_runs_sql_text_through_a_session() -> None:
    # SQL text is what users write; the core calls typed functions instead of writing
    # ``table_changes(...)`` or ``SELECT count(*) FROM ...`` and parsing it back.
    for path, tree in _trees().items():
        if "cli" in path.relative_to(PACKAGE).parts or path.name in ("dbapi.py", "session.py"):
            continue
        found = _runs_sql_through_a_session(tree)
        assert not found, f"{path.relative_to(PACKAGE)} runs SQL through a session at {found}"
    assert _runs_sql_through_a_session(ast.parse("self._session.execute(sql)"))


def test_no_module_writes_a_table_changes_query() -> None:
    for path, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = ast.unparse(node)
                assert not ("SELECT" in text and "FUNCTION}(" in text), (
                    f"{path.relative_to(PACKAGE)}:{node.lineno} writes a table_changes query"
                )
                assert "table_changes(" not in text or "SELECT" not in text, (
                    f"{path.relative_to(PACKAGE)}:{node.lineno} writes a table_changes query"
                )


# The pipeline reads front to back: sql/ -> plan/ -> read/ and write/ -> execute/ -> session.


def test_each_part_imports_only_the_parts_before_it() -> None:
    graph = part_graph()
    assert graph.get("sql", set()) <= {"compat", "errors"}
    behind = {"execute", "session", "changes", "maintenance", "cli", "dbapi", "(root)"}
    for part in ("compat", "plan", "read", "write"):
        assert not graph.get(part, set()) & behind, f"{part}/ imports {graph[part] & behind}"
    # The handlers' interface and the change feed sit below the handlers.
    for part in ("context", "changes"):
        assert not graph.get(part, set()) & behind, f"{part} imports {graph[part] & behind}"


def test_every_handler_imported_on_first_use_exists() -> None:
    from sqllake.execute import HANDLERS, Lazy

    lazy = [handler for handler in HANDLERS.values() if isinstance(handler, Lazy)]
    assert lazy
    for handler in lazy:
        assert callable(handler.resolve()), handler


def _reads_message_text(tree: ast.AST) -> bool:
    """Whether the code asks if some text is ``in str(...)`` of an exception-like name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.In | ast.NotIn) for op in node.ops
        ):
            for side in node.comparators:
                if (
                    isinstance(side, ast.Call)
                    and isinstance(side.func, ast.Name)
                    and side.func.id == "str"
                    and side.args
                    and isinstance(side.args[0], ast.Name)
                    and side.args[0].id in ("exc", "error", "err", "e")
                ):
                    return True
    return False


def test_only_translation_reads_the_text_of_foreign_errors() -> None:
    for path in _modules():
        if path != PACKAGE / "translation.py":
            assert not _reads_message_text(ast.parse(path.read_text())), path


def test_the_message_text_check_finds_text_reads() -> None:
    assert _reads_message_text(ast.parse("if 'No default' not in str(exc): pass"))
    assert not _reads_message_text(ast.parse("if kind in KINDS: pass"))
