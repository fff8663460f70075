"""A stopwatch for the measured section of a case (setup and checks stay outside)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Lap:
    seconds: float = 0.0


@contextmanager
def measured() -> Iterator[Lap]:
    lap = Lap()
    start = time.perf_counter()
    try:
        yield lap
    finally:
        lap.seconds = time.perf_counter() - start
