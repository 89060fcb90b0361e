"""Where a batch's tasks run: in this process, in a process pool (one worker per GPU), or as Ray remote tasks.

Each backend submits module-level functions of :mod:`._tasks` and reports their :class:`~._tasks.Outcome`; the
driver (:mod:`.executors`) decides what to submit.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from . import _tasks
from .ray_cluster import RAY_CONNECT_TIMEOUT, connect_ray, require_ray


class _Backend:
    """Submits module-level functions of :mod:`._tasks` and reports their :class:`~._tasks.Outcome`."""

    name = "local"
    max_in_flight: int | None = 1
    threads: int | None = None

    def submit(self, fn: Callable[..., _tasks.Outcome], args: tuple[Any, ...], label: str) -> Any:
        raise NotImplementedError

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        raise NotImplementedError

    def outcome(self, handle: Any) -> _tasks.Outcome:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _SerialBackend(_Backend):
    """Runs each task at submission, in this process (Ctrl-C interrupts the running job; its frames are kept)."""

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self.max_in_flight = 1
        self._done: dict[int, _tasks.Outcome] = {}
        self._next = 0

    def submit(self, fn: Callable[..., _tasks.Outcome], args: tuple[Any, ...], label: str) -> Any:
        self._next += 1
        self._done[self._next] = fn(*args, threads=self.threads)
        return self._next

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        return list(handles)

    def outcome(self, handle: Any) -> _tasks.Outcome:
        return self._done.pop(handle)


class _PoolBackend(_Backend):
    """A ``concurrent.futures`` process pool (spawned workers), optionally one per GPU."""

    def __init__(self, workers: int, threads: int | None, gpus: Sequence[str]) -> None:
        ctx = multiprocessing.get_context("spawn")
        queue = None
        if gpus:  # each worker takes one id and sets CUDA_VISIBLE_DEVICES to it (_tasks.init_pool_worker)
            queue = ctx.Queue()
            for gpu in gpus:
                queue.put(gpu)
        self.threads = threads
        self.max_in_flight = workers
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                            initializer=_tasks.init_pool_worker, initargs=(queue, threads))

    def submit(self, fn: Callable[..., _tasks.Outcome], args: tuple[Any, ...], label: str) -> Any:
        return self._pool.submit(fn, *args, threads=self.threads)

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def outcome(self, handle: Any) -> _tasks.Outcome:
        try:
            return handle.result()
        except Exception as err:  # noqa: BLE001 - a dead worker (BrokenProcessPool) fails its job
            return _tasks.Outcome(False, error=f"worker failed: {type(err).__name__}: {err}")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _RayBackend(_Backend):
    """Ray remote tasks: ``num_gpus=1`` where the cluster has GPUs, ``num_cpus=1`` otherwise, with retries."""

    name = "ray"

    def __init__(self, address: str | None, workers: int | None, threads: int | None, max_retries: int,
                 quiet: bool = False, connect_timeout: float = RAY_CONNECT_TIMEOUT) -> None:
        ray = require_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            connect_ray(ray, address, workers=workers, quiet=quiet, timeout=connect_timeout)
            self._started = True
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        self.resources = {"num_gpus": 1} if has_gpus else {"num_cpus": 1}
        self.threads = threads if threads is not None else 1
        self.max_retries = max_retries
        # With an existing cluster, --workers caps the tasks in flight; otherwise Ray queues by resources.
        self.max_in_flight = workers if (workers and address) else None
        self._remote: dict[Callable[..., Any], Any] = {}

    def submit(self, fn: Callable[..., _tasks.Outcome], args: tuple[Any, ...], label: str) -> Any:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(fn)
        return remote.options(max_retries=self.max_retries, retry_exceptions=False,
                              name=f"videostyle.{fn.__name__}", **self.resources).remote(*args, threads=self.threads)

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        done, _ = self._ray.wait(list(handles), num_returns=1, timeout=timeout)
        return list(done)

    def outcome(self, handle: Any) -> _tasks.Outcome:
        try:
            return self._ray.get(handle)
        except self._ray.exceptions.RayError as err:  # worker died beyond max_retries, node lost, ...
            first = next((line for line in str(err).splitlines() if line.strip()), type(err).__name__)
            return _tasks.Outcome(False, error=f"{type(err).__name__} after {self.max_retries} retries: {first}")

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
