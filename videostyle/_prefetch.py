"""A bounded background thread that computes ``fn(item)`` ahead of the consumer (flows ahead of the optimiser)."""

from __future__ import annotations

import inspect
import queue
import threading
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from .errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()  # end-of-stream marker
_POLL_S = 0.05  # how often a blocked worker looks at the stop flag


class _Failure:
    """An exception raised in the worker, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(out: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; return whether it was put."""
    while not stop.is_set():
        try:
            out.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _work(iterable: Iterable[T], fn: Callable[[T], R], out: queue.Queue, stop: threading.Event) -> None:
    """Worker loop. Takes no reference to the Prefetcher, so an abandoned one can be garbage-collected."""
    iterator: Iterator[T] | None = None
    try:
        iterator = iter(iterable)
        for item in iterator:
            if stop.is_set():
                return
            if not _put(out, fn(item), stop) or stop.is_set():
                return  # closed: do not fetch another item
        _put(out, _DONE, stop)
    except BaseException as error:  # noqa: BLE001 - every failure is handed to the consumer
        _put(out, _Failure(error), stop)
    finally:
        if inspect.isgenerator(iterator):
            iterator.close()  # runs the generator's cleanup (e.g. closes a decoder) in the thread that ran it


class Prefetcher(Generic[T, R]):
    """Iterate over ``fn(item) for item in iterable``, computed by a background thread up to ``depth`` ahead.

    The worker is a daemon ``threading.Thread``; results pass through a ``queue.Queue(maxsize=depth)``, so at
    most ``depth`` finished results (plus the one being computed) are held — memory is bounded. OpenCV releases
    the GIL while it computes flow, so the worker really runs beside torch in the consumer thread.

    * Order is preserved.
    * An exception raised by ``fn`` or by the iterable is re-raised in the consumer when it reaches that
      position (results before it are delivered first); iteration then ends.
    * ``close()`` (also on leaving a ``with`` block, and when garbage-collected) stops the worker: it finishes
      the ``fn`` call in progress (which cannot be interrupted), computes nothing more and, if ``iterable`` is a
      generator, closes it. Results not yet consumed are dropped.

    Example::

        est = FlowEstimator("dis-medium")
        with Prefetcher(pairs, lambda p: est.pair(*p), depth=4) as flows:
            for flow_bwd, flow_fwd, mask in flows:
                ...
    """

    def __init__(self, iterable: Iterable[T], fn: Callable[[T], R], depth: int = 4) -> None:
        if not callable(fn):
            raise UsageError(f"Prefetcher: fn must be callable, got {type(fn).__name__}")
        if not isinstance(depth, int) or depth < 1:
            raise UsageError(f"Prefetcher: invalid depth {depth!r}: must be an integer >= 1")
        self.depth = depth
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(
            target=_work, args=(iterable, fn, self._queue, self._stop), name="videostyle-prefetch", daemon=True
        )
        self._thread.start()

    def __iter__(self) -> Iterator[R]:
        return self

    def __next__(self) -> R:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self._finish()
            raise StopIteration
        if isinstance(item, _Failure):
            self._finish()
            raise item.error
        return item  # type: ignore[return-value]

    @property
    def alive(self) -> bool:
        """Whether the worker thread is still running."""
        return self._thread.is_alive()

    def _finish(self) -> None:
        self._finished = True
        self._thread.join()

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def close(self, timeout: float | None = None) -> None:
        """Stop the worker and wait for it (at most ``timeout`` seconds); idempotent."""
        self._finished = True
        self._stop.set()
        self._drain()  # unblock a worker waiting on a full queue, and drop results nobody will read
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._drain()  # a result the worker queued while we drained

    def __enter__(self) -> "Prefetcher[T, R]":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
