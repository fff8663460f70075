"""The grammar files: every ``sql`` example parses and plans, every file is indexed.

``grammar/`` holds one Markdown file per lakehouse statement, each with its grammar in
an ``ebnf`` code block and examples in ``sql`` code blocks (see ``grammar/README.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sqllake.errors import Error
from sqllake.plan.build import build
from sqllake.sql import parse, split

GRAMMAR = Path(__file__).resolve().parent.parent / "grammar"
FILES = sorted(p for p in GRAMMAR.glob("*.md") if p.name != "README.md")
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(path: Path, language: str) -> list[tuple[int, str]]:
    """The code blocks of ``language`` in a file, each with the line its code starts on."""
    text = path.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start(2)) + 1, match.group(2))
        for match in _BLOCK.finditer(text)
        if match.group(1) == language
    ]


EXAMPLES = [(path, line, code) for path in FILES for line, code in _blocks(path, "sql")]


def test_grammar_files_exist() -> None:
    assert FILES, f"no grammar files in {GRAMMAR}"


@pytest.mark.parametrize(
    ("path", "line", "code"), EXAMPLES, ids=[f"{p.stem}:{line}" for p, line, _ in EXAMPLES]
)
def test_example_parses_and_plans(path: Path, line: int, code: str) -> None:
    statements = [s for s in split(code) if not s.is_dot_command]
    assert statements, f"{path.name}:{line}: empty sql block"
    for statement in statements:
        where = f"{path.name}:{line + code.count(chr(10), 0, statement.start)}"
        try:
            build(parse(statement.text), statement.text)
        except Error as exc:
            exc.locate(statement.text)
            pytest.fail(f"{where}: {type(exc).__name__}: {exc}\n{statement.text}", pytrace=False)
        except Exception as exc:
            pytest.fail(
                f"{where}: foreign exception {type(exc).__name__}: {exc}\n{statement.text}",
                pytrace=False,
            )


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_file_has_grammar_and_examples(path: Path) -> None:
    assert _blocks(path, "ebnf"), f"{path.name} has no ```ebnf block"
    assert _blocks(path, "sql"), f"{path.name} has no ```sql example"


def test_every_file_is_in_the_index() -> None:
    index = (GRAMMAR / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w.]+\.md)\)", index))
    missing = sorted(p.name for p in FILES if p.name not in linked)
    assert not missing, f"grammar files missing from grammar/README.md: {missing}"
    dangling = sorted(name for name in linked if not (GRAMMAR / name).is_file())
    assert not dangling, f"grammar/README.md links files that do not exist: {dangling}"
