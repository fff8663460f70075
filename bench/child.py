"""One measured run in a process of its own: ``python -m bench.child CASE < inputs.json``.

A fresh process per run keeps each peak RSS that case's own (``RUSAGE_SELF``) and
leaves no cache warm from an earlier case but the operating system's page cache.
The run's :class:`~bench.model.RunRecord` is printed as the last line of stdout.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
from collections.abc import Callable
from pathlib import Path

from bench.cases import CASES, PREPARE, PREPARE_S3
from bench.model import Inputs, Outcome, RunRecord


def _peak_kib() -> int:
    """This process's peak resident set, in KiB.

    Linux's VmHWM belongs to this program alone; ``ru_maxrss`` carries over the
    parent's peak across fork and exec, so it is only the fallback elsewhere.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def main(argv: list[str]) -> int:
    (name,) = argv
    spec = {PREPARE.name: PREPARE, PREPARE_S3.name: PREPARE_S3}.get(name) or CASES[name]
    inputs = Inputs.from_json(json.loads(sys.stdin.read()))
    case: Callable[[Inputs], Outcome] = getattr(importlib.import_module(spec.module), spec.function)
    imported = _peak_kib()
    outcome = case(inputs)
    record = RunRecord(outcome, peak_rss_kib=_peak_kib(), import_rss_kib=imported)
    print(json.dumps(record.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
