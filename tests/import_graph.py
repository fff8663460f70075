"""Which part of sqllake imports which: the package-level import graph of the source.

A part is a subpackage (``sql``, ``plan``, ``execute``, ...) or a top-level module
(``session``, ``catalog``, ...). Run ``python -m tests.import_graph`` to print one line per
part; ``tests/test_boundaries.py`` checks the house rules on the same graph.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sqllake"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def module_graph() -> dict[str, set[str]]:
    """Each sqllake module -> the sqllake modules it imports."""
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): {m for m in imported(p) if m in known} for p in paths}


def part_graph() -> dict[str, set[str]]:
    """Each part -> the other parts it imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in module_graph().items():
        graph[part_of(module)].update(part_of(t) for t in targets if part_of(t) != part_of(module))
    return dict(graph)


def main() -> None:
    for part, targets in sorted(part_graph().items()):
        sys.stdout.write(f"{part:<16} -> {', '.join(sorted(targets)) or '-'}\n")


if __name__ == "__main__":
    main()
