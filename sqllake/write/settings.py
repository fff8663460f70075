"""Write settings: how small writes are buffered (the settings a connection opens with),
and the session setting that says what INSERT OVERWRITE replaces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WriteSettings:
    """How small writes are buffered (see :mod:`sqllake.write.buffer`)."""

    inline_rows: int = 10_000  # autocommit INSERTs with fewer rows go to the buffer; 0: never
    flush_rows: int = 100_000  # flush a table's buffer once it holds this many rows
    flush_bytes: int = 64 * 1024 * 1024  # ... or this many bytes of Arrow IPC
    flush_interval: float = 60.0  # ... or once its oldest row is this many seconds old


# SET partition_overwrite_mode (Spark's name): 'static' (the default) replaces what the
# statement's PARTITION clause names, 'dynamic' the partitions its rows fall into.
STATIC, DYNAMIC = "static", "dynamic"
MODE_SETTING = "partition_overwrite_mode"
