"""Parquet encoding on every core: tasks run on a few threads, those of one key in order.

PyArrow's Parquet writer releases the GIL while it encodes and compresses, so the
files of different partitions can be written at once while the statement's thread
splits the next batch. All work on one file goes to the same thread (by its
partition's key), which keeps each file's row groups in order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from queue import Queue

# Tasks waiting per thread: a producer faster than the writers waits instead of
# holding more batches in memory.
_DEPTH = 4
# Past a few threads the statement's own thread (splitting batches) is the bottleneck.
_MOST_THREADS = 8

Task = Callable[[], object]  # what a task returns is not kept


class KeyedThreads:
    """A fixed set of threads; tasks submitted under one key run in order on one thread.

    The first error a task raises ends all further work and is raised in the caller at
    its next :meth:`submit` or at :meth:`join`. :meth:`cancel` drops queued tasks.
    """

    def __init__(self, count: int | None = None) -> None:
        """``count`` threads (the session's ``threads`` setting), at most a few; by
        default one per core."""
        wanted = count if count is not None else os.cpu_count() or 1
        self._count = max(1, min(wanted, _MOST_THREADS))
        self._queues: list[Queue[Task | None]] = [Queue(maxsize=_DEPTH) for _ in range(self._count)]
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name="sqllake-writer", daemon=True)
            for q in self._queues
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, queue: Queue[Task | None]) -> None:
        while (task := queue.get()) is not None:
            # After an error or a cancel, tasks are taken off the queue but not run, so
            # a submitter blocked on a full queue is released.
            if self._error is not None or self._cancelled.is_set():
                continue
            try:
                task()
            except BaseException as exc:  # raised in the submitting thread
                if self._error is None:
                    self._error = exc

    def submit(self, key: Hashable, task: Task) -> None:
        self._raise_error()
        self._queues[hash(key) % self._count].put(task)

    def join(self) -> None:
        """Wait for every submitted task; raise the first error one raised."""
        self._stop()
        self._raise_error()

    def cancel(self) -> None:
        """Drop queued tasks and wait for the running ones (safe to call more than once)."""
        self._cancelled.set()
        self._stop()

    def _stop(self) -> None:
        for queue, thread in zip(self._queues, self._threads, strict=True):
            if thread.is_alive():
                queue.put(None)
        for thread in self._threads:
            thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
