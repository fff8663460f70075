"""KeyedThreads: the threads partitioned writes encode Parquet on."""

from __future__ import annotations

import threading

import pytest

from sqllake.write.threads import KeyedThreads

WAIT = 10.0  # seconds; only reached when a test fails


def test_tasks_of_one_key_run_in_order_on_one_thread() -> None:
    threads = KeyedThreads(count=2)
    seen: dict[str, list[tuple[int, str]]] = {"a": [], "b": []}
    for i in range(200):
        for key in seen:
            threads.submit(
                key,
                lambda k=key, i=i: seen[k].append(
                    (i, threading.current_thread().name + str(threading.get_ident()))
                ),
            )
    threads.join()
    for key, calls in seen.items():
        assert [i for i, _ in calls] == list(range(200)), key
        assert len({thread for _, thread in calls}) == 1, key


def test_tasks_of_different_keys_run_at_the_same_time() -> None:
    """Each task waits for the other: only two threads at once can finish both."""
    threads = KeyedThreads(count=2)
    first, second = threading.Event(), threading.Event()
    outcome: list[bool] = []

    def meet(mine: threading.Event, theirs: threading.Event) -> None:
        mine.set()
        outcome.append(theirs.wait(WAIT))

    threads.submit(0, lambda: meet(first, second))  # hash(0) % 2 == 0
    threads.submit(1, lambda: meet(second, first))  # hash(1) % 2 == 1
    threads.join()
    assert outcome == [True, True]


def test_the_first_error_is_raised_and_later_tasks_do_not_run() -> None:
    threads = KeyedThreads(count=1)
    ran: list[int] = []

    def fail() -> None:
        raise OSError("disk full")

    threads.submit("k", lambda: ran.append(1))
    threads.submit("k", fail)
    threads.submit("k", lambda: ran.append(3))
    with pytest.raises(OSError, match="disk full"):
        threads.join()
    assert ran == [1]


def test_an_error_is_raised_at_the_next_submit() -> None:
    threads = KeyedThreads(count=1)
    failed = threading.Event()

    def fail() -> None:
        failed.set()
        raise ValueError("bad value")

    threads.submit("k", fail)
    assert failed.wait(WAIT)
    with pytest.raises(ValueError, match="bad value"):
        for _ in range(100):  # the error is recorded just after the event is set
            threads.submit("k", lambda: None)
    threads.cancel()


def test_a_failed_task_releases_a_submitter_blocked_on_a_full_queue() -> None:
    threads = KeyedThreads(count=1)
    release = threading.Event()
    ran: list[int] = []

    def fail_when_released() -> None:
        release.wait(WAIT)
        raise OSError("disk full")

    threads.submit("k", fail_when_released)
    raised: list[BaseException] = []

    def submit_many() -> None:
        try:
            for i in range(50):  # blocks once the queue is full
                threads.submit("k", lambda i=i: ran.append(i))
        except OSError as exc:
            raised.append(exc)

    submitter = threading.Thread(target=submit_many)
    submitter.start()
    release.set()
    submitter.join(WAIT)
    assert not submitter.is_alive()
    assert [str(e) for e in raised] == ["disk full"]
    assert ran == []
    threads.cancel()


def test_cancel_drops_queued_tasks() -> None:
    threads = KeyedThreads(count=1)
    release = threading.Event()
    ran: list[int] = []
    threads.submit("k", lambda: release.wait(WAIT))
    for i in range(3):
        threads.submit("k", lambda i=i: ran.append(i))
    canceller = threading.Thread(target=threads.cancel)
    canceller.start()
    assert threads._cancelled.wait(WAIT)  # cancelled while the first task still runs
    release.set()
    canceller.join(WAIT)
    assert not canceller.is_alive()
    assert ran == []
    threads.cancel()  # twice is harmless
