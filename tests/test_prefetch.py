"""The Prefetcher (videostyle/_prefetch.py): a bounded background thread mapping a function over an iterable
ahead of the consumer (the engine's decode and flows run in one)."""

from __future__ import annotations

import threading
import time

import pytest

from videostyle._prefetch import Prefetcher
from videostyle.errors import UsageError


def test_prefetcher_preserves_order():
    with Prefetcher(range(50), lambda i: i * i, depth=3) as results:
        assert list(results) == [i * i for i in range(50)]
    assert not results.alive


def test_prefetcher_reraises_worker_exception_in_order():
    def fn(i: int) -> int:
        if i == 3:
            raise ValueError("bad item 3")
        return i

    results = Prefetcher(range(10), fn)
    got = []
    with pytest.raises(ValueError, match="bad item 3"):
        for value in results:
            got.append(value)
    assert got == [0, 1, 2]
    assert list(results) == []  # finished after the error
    assert not results.alive


def test_prefetcher_reraises_iterable_exception():
    def source():
        yield 1
        raise RuntimeError("decoder broke")

    with Prefetcher(source(), lambda x: x) as results:
        assert next(results) == 1
        with pytest.raises(RuntimeError, match="decoder broke"):
            next(results)


def test_prefetcher_reports_a_non_iterable():
    with Prefetcher(42, lambda x: x) as results:  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            next(results)


def test_prefetcher_close_early_stops_the_thread_and_bounds_work():
    calls = []
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    def fn(i: int) -> int:
        calls.append(i)
        return i

    results = Prefetcher(endless(), fn, depth=2)
    assert next(results) == 0 and next(results) == 1
    time.sleep(0.3)  # let the worker run ahead as far as it may
    assert len(calls) <= 2 + 2 + 1  # consumed + queue depth + the one waiting to be queued
    results.close(timeout=5)
    assert not results.alive
    assert closed.is_set()  # the generator was closed (its cleanup ran)
    assert list(results) == []


def test_prefetcher_overlaps_work_with_the_consumer():
    def slow(i: int) -> int:
        time.sleep(0.05)
        return i

    start = time.perf_counter()
    with Prefetcher(range(10), slow) as results:
        for _ in results:
            time.sleep(0.05)  # the consumer's own work
    elapsed = time.perf_counter() - start
    assert elapsed < 0.85  # sequential would take 1.0 s; overlapped about 0.55 s


def test_prefetcher_rejects_bad_arguments():
    with pytest.raises(UsageError, match="invalid depth 0"):
        Prefetcher([], lambda x: x, depth=0)
    with pytest.raises(UsageError, match="fn must be callable"):
        Prefetcher([], 3)  # type: ignore[arg-type]
