"""sqllake's modules byte-compiled before a benchmark starts its processes.

An installed wheel is compiled by pip at install. An editable checkout, or an
environment that sets PYTHONDONTWRITEBYTECODE, would otherwise compile sqllake's
modules again in every measured process (some 0.02-0.08 s each, measured here), a
cost no user's installation pays.
"""

from __future__ import annotations

import compileall
import importlib.util


def byte_compile_sqllake() -> None:
    """Compile sqllake's modules where they are imported from, as pip does at install."""
    spec = importlib.util.find_spec("sqllake")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)
