"""Running a planned batch: the local executor (in-process, or a process pool) and the Ray executor.

A job is one task (decode, stylise into the frame store, encode); with ``shot_parallel`` a job becomes a
shot-detection task, one task per shot range (``run_frames(config, frame_range=...)`` into the shared frame
store), then one task that encodes the clip in order with its audio (``finish``). The driver only submits the next
stage of a job when the previous one finished; placement, resources and retries are the executor's (Ray's) job.

* ``local``: sequential in this process, or with ``workers > 1`` a ``concurrent.futures`` process pool (default:
  one worker per visible CUDA GPU, each pinned to its GPU). No retries: a dead worker fails its jobs.
* ``ray``: every task is a Ray remote task with ``num_gpus=1`` when the cluster has GPUs (``num_cpus=1``
  otherwise) and ``max_retries``; a retried task resumes from the frame store, which must be on storage every
  node sees. Without an address a local Ray instance is started (``num_cpus=workers`` when given).

Failures are collected per job (one job's bad input fails that job alone); results come back as
:class:`JobResult` rows in manifest order.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError, VideostyleError
from . import _tasks
from .plan import Plan, PlannedJob, segments

EXECUTORS = ("local", "ray")


@dataclass
class JobResult:
    """One row of the batch summary."""

    index: int
    name: str
    input: str
    output: str
    status: str  # "ok" | "skipped" | "failed"
    frames: int | None = None
    seconds: float | None = None  # wall seconds of the job's tasks (summed over shots)
    message: str = ""
    report: dict[str, Any] | None = None
    tasks: int = 0  # tasks that ran for the job (1, or detect + one per shot + finish with shot_parallel)
    cpu_seconds: float | None = None  # CPU seconds of the job's tasks (summed)

    @property
    def label(self) -> str:
        return f"job {self.index} ({self.name})"


@dataclass
class BatchResult:
    """What a batch did."""

    results: list[JobResult]
    executor: str
    seconds: float

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when no job failed, 1 otherwise."""
        return 1 if self.failed else 0


# --- backends ------------------------------------------------------------------------------------------------------
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

    def __init__(self, workers: int, threads: int | None, gpus: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        queue = None
        if gpus:
            queue = ctx.Queue()
            for i in range(gpus):
                queue.put(i)
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


def require_ray() -> Any:
    """Import Ray or raise a one-line UsageError saying how to install it."""
    try:
        import ray
    except ModuleNotFoundError:
        raise UsageError("the ray executor needs Ray: pip install 'videostyle[ray]' "
                         "(or use --executor local)") from None
    return ray


class _RayBackend(_Backend):
    """Ray remote tasks: ``num_gpus=1`` where the cluster has GPUs, ``num_cpus=1`` otherwise, with retries."""

    name = "ray"

    def __init__(self, address: str | None, workers: int | None, threads: int | None, max_retries: int,
                 quiet: bool = False) -> None:
        ray = require_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"logging_level": logging.ERROR if quiet else logging.WARNING,
                                      "configure_logging": True}
            try:
                if address:
                    ray.init(address=address, **kwargs)
                else:
                    # Workers of a local instance import videostyle from where this process does (a source
                    # checkout works without installing it).
                    package_parent = str(Path(__file__).resolve().parents[2])
                    path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p)
                    ray.init(num_cpus=workers, include_dashboard=False,
                             runtime_env={"env_vars": {"PYTHONPATH": path}}, **kwargs)
            except Exception as err:  # noqa: BLE001 - Ray raises many types (ConnectionError, RuntimeError, ...)
                first = next((line for line in str(err).splitlines() if line.strip()), type(err).__name__)
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise ConfigError(f"cannot start or join {where}: {first}") from None
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


def visible_gpus() -> int:
    """CUDA devices this process can see (0 without CUDA or without torch's CUDA build)."""
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001
        return 0


# --- progress ------------------------------------------------------------------------------------------------------
def count_stored_frames(work_dir: Path) -> int:
    """Finished frame records in a frame store (all passes); cheap enough to poll."""
    frames = work_dir / "frames"
    try:
        return sum(1 for d in frames.iterdir() if d.is_dir() for f in os.scandir(d) if f.name.endswith(".json"))
    except OSError:
        return 0


class _Progress:
    """tqdm bars on stderr: jobs done, and frames stored across every job (polled from the frame stores)."""

    def __init__(self, jobs: Sequence[PlannedJob], quiet: bool) -> None:
        self._jobs = list(jobs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.jobs_bar = self.frames_bar = None
        if quiet or not jobs:
            return
        from tqdm import tqdm  # type: ignore[import-untyped]

        totals = [j.frames * j.passes if j.frames is not None else None for j in self._jobs]
        total = None if any(t is None for t in totals) else sum(t for t in totals if t is not None)
        self._done_frames = {j.job.index: count_stored_frames(j.work_dir) if not j.config.force else 0
                             for j in self._jobs}
        self.jobs_bar = tqdm(total=len(self._jobs), desc="jobs", unit="job", file=sys.stderr, position=0,
                             dynamic_ncols=True)
        self.frames_bar = tqdm(total=total, initial=sum(self._done_frames.values()), desc="frames", unit="frame",
                               file=sys.stderr, position=1, dynamic_ncols=True, smoothing=0.05)
        self._thread = threading.Thread(target=self._poll, name="videostyle-batch-progress", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self.refresh()

    def refresh(self) -> None:
        if self.frames_bar is None:
            return
        now = {j.job.index: count_stored_frames(j.work_dir) for j in self._jobs}
        delta = sum(now.values()) - sum(self._done_frames.values())
        self._done_frames = now
        if delta:
            self.frames_bar.update(delta)

    def job_done(self) -> None:
        if self.jobs_bar is not None:
            self.refresh()
            self.jobs_bar.update(1)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for bar in (self.frames_bar, self.jobs_bar):
            if bar is not None:
                bar.close()


# --- the driver ----------------------------------------------------------------------------------------------------
@dataclass
class _JobRun:
    planned: PlannedJob
    stage: str = "queued"  # queued | detect | shots | finish | done
    outstanding: int = 0
    states: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    tasks: int = 0
    result: JobResult | None = None


def _row(pj: PlannedJob, status: str, **kw: Any) -> JobResult:
    return JobResult(index=pj.job.index, name=pj.job.name, input=pj.config.input, output=pj.config.output,
                     status=status, **kw)


def _prepare_forced(pj: PlannedJob) -> None:
    """Apply ``--force`` once, before any task: restart the job's frame store (tasks never wipe it)."""
    if pj.config.force:
        from ..video import open_store

        open_store(pj.config, force=True)


def run_plan(plan: Plan, backend: _Backend, *, shot_parallel: bool = False, quiet: bool = False) -> list[JobResult]:
    """Run the jobs of ``plan`` on ``backend``; returns one row per manifest job (skipped ones included)."""
    rows: dict[int, JobResult] = {pj.job.index: _row(pj, "skipped", frames=pj.frames, message=pj.reason)
                                  for pj in plan.skipped}
    runs = [_JobRun(pj) for pj in plan.to_run]
    ready: collections.deque[tuple[_JobRun, Callable[..., _tasks.Outcome], tuple[Any, ...], str]] = \
        collections.deque()
    in_flight: dict[Any, tuple[_JobRun, str]] = {}
    progress = _Progress([r.planned for r in runs], quiet)

    def fail(run: _JobRun, message: str) -> None:
        run.stage = "done"
        run.result = _row(run.planned, "failed", seconds=run.seconds, message=message, tasks=run.tasks,
                          cpu_seconds=run.cpu_seconds)
        progress.job_done()

    for run in runs:
        try:
            _prepare_forced(run.planned)
        except VideostyleError as err:
            fail(run, str(err))
            continue
        cfg = run.planned.config
        if shot_parallel:
            run.stage = "detect"
            ready.append((run, _tasks.detect, (cfg,), "detect"))
        else:
            run.stage = "job"
            ready.append((run, _tasks.run_job, (cfg,), "job"))

    def on_done(run: _JobRun, kind: str, out: _tasks.Outcome) -> None:
        run.seconds += out.seconds
        run.cpu_seconds += out.cpu_seconds
        run.tasks += 1
        if run.stage == "done":
            return
        if not out.ok:
            fail(run, out.error)
            return
        cfg = run.planned.config
        if kind == "job" or kind == "finish":
            report = out.value
            run.stage = "done"
            run.result = _row(run.planned, "ok", frames=report.get("frames"), seconds=run.seconds,
                              message=_ok_message(report, shot_parallel), report=report, tasks=run.tasks,
                              cpu_seconds=run.cpu_seconds)
            progress.job_done()
        elif kind == "detect":
            ranges = segments(out.value)
            run.stage = "shots"
            run.outstanding = len(ranges)
            # Finish started jobs first: their shots go to the front of the queue.
            for rng in reversed(ranges):
                ready.appendleft((run, _tasks.run_segment, (cfg, rng), "shot"))
        elif kind == "shot":
            run.states.append(out.value)
            run.outstanding -= 1
            if run.outstanding == 0:
                run.stage = "finish"
                ready.appendleft((run, _tasks.finish_segments, (cfg, list(run.states)), "finish"))

    try:
        while ready or in_flight:
            while ready and (backend.max_in_flight is None or len(in_flight) < backend.max_in_flight):
                run, fn, args, kind = ready.popleft()
                if run.stage == "done":  # an earlier shot of this job failed
                    continue
                in_flight[backend.submit(fn, args, run.planned.label)] = (run, kind)
            if not in_flight:
                continue
            for handle in backend.wait(list(in_flight), timeout=1.0):
                run, kind = in_flight.pop(handle)
                on_done(run, kind, backend.outcome(handle))
    finally:
        progress.close()
    for run in runs:
        assert run.result is not None
        rows[run.planned.job.index] = run.result
    return [rows[pj.job.index] for pj in plan.jobs]


def _ok_message(report: dict[str, Any], shot_parallel: bool) -> str:
    parts = []
    shots = report.get("shots") or []
    if shot_parallel and len(shots) > 1:
        parts.append(f"{len(shots)} shots in parallel")
    if report.get("frames_resumed"):
        parts.append(f"resumed {report['frames_resumed']} stored frames")
    return "; ".join(parts)


def check_options(executor: str, *, workers: int | None = None, threads: int | None = None,
                  ray_address: str | None = None, max_retries: int = 3) -> None:
    """Raise UsageError for executor options that cannot work (before any work starts)."""
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise UsageError(f"invalid --workers {workers}: must be >= 1")
    if threads is not None and threads < 1:
        raise UsageError(f"invalid --threads {threads}: must be >= 1")
    if max_retries < 0:
        raise UsageError(f"invalid --max-retries {max_retries}: must be >= 0")
    if ray_address and executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if executor == "ray":
        require_ray()


def make_backend(executor: str, *, workers: int | None = None, threads: int | None = None,
                 ray_address: str | None = None, max_retries: int = 3, quiet: bool = False) -> _Backend:
    """The backend for ``executor`` (``local`` or ``ray``); see the module docstring."""
    check_options(executor, workers=workers, threads=threads, ray_address=ray_address, max_retries=max_retries)
    if executor == "ray":
        return _RayBackend(ray_address, workers, threads, max_retries, quiet)
    gpus = visible_gpus()
    n = workers if workers is not None else max(1, gpus)
    if n == 1:
        return _SerialBackend(threads)
    return _PoolBackend(n, threads if threads is not None else 1, gpus if gpus > 1 else 0)


def run_batch(plan: Plan, *, executor: str = "local", workers: int | None = None, threads: int | None = None,
              ray_address: str | None = None, max_retries: int = 3, shot_parallel: bool = False,
              quiet: bool = False) -> BatchResult:
    """Run a validated plan and collect one :class:`JobResult` per job (never raises for a job's failure).

    ``threads``: torch/OpenCV threads per worker (default 1 for pool and Ray workers, the library default when
    running sequentially in this process).
    """
    t0 = time.perf_counter()
    backend = make_backend(executor, workers=workers, threads=threads, ray_address=ray_address,
                           max_retries=max_retries, quiet=quiet)
    try:
        rows = run_plan(plan, backend, shot_parallel=shot_parallel, quiet=quiet)
    finally:
        backend.close()
    return BatchResult(results=rows, executor=executor, seconds=time.perf_counter() - t0)


def format_summary(result: BatchResult) -> str:
    """The summary table: job, status, frames, seconds, message; and a totals line."""
    header = ("job", "status", "frames", "seconds", "message")
    rows = [(r.label, r.status, "-" if r.frames is None else str(r.frames),
             "-" if r.seconds is None else f"{r.seconds:.1f}", r.message) for r in result.results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i != 2 and i != 3 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    counts = collections.Counter(r.status for r in result.results)
    total = (f"{len(result.results)} jobs: {counts.get('ok', 0)} ok, {counts.get('skipped', 0)} skipped, "
             f"{counts.get('failed', 0)} failed in {result.seconds:.1f} s ({result.executor} executor)")
    out = [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows), total]
    return "\n".join(out)


__all__ = [
    "EXECUTORS",
    "BatchResult",
    "JobResult",
    "check_options",
    "format_summary",
    "make_backend",
    "require_ray",
    "run_batch",
    "run_plan",
]
