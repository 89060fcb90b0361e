"""Running a planned batch (the driver): the local executor (in-process, or a process pool) and the Ray executor.

The pieces live beside it: :mod:`.backends` (where tasks run), :mod:`.ray_cluster` (joining or starting Ray),
:mod:`.progress` (the status line on stderr), :mod:`.results` (result rows and the summary table); this module
re-exports their public names.

A job is one task (decode, stylise into the frame store, encode); with ``shot_parallel`` a job becomes a
shot-detection task, one task per shot range (``run_frames(config, frame_range=...)`` into the shared frame
store), then one task that encodes the clip in order with its audio (``finish``). The driver only submits the next
stage of a job when the previous one finished; placement, resources and retries are the executor's (Ray's) job.
The driver holds each job's work-directory lock (:mod:`videostyle.video.lock`) from its first task to its end: a
job whose work directory another run holds fails alone, or with ``wait_lock`` starts once it is free.

* ``local``: sequential in this process, or with ``workers > 1`` a ``concurrent.futures`` process pool (default:
  one worker per visible CUDA GPU, each pinned to its GPU). No retries: a dead worker fails its jobs.
* ``ray``: every task is a Ray remote task with ``num_gpus=1`` when the cluster has GPUs (``num_cpus=1``
  otherwise) and ``max_retries``; a retried task resumes from the frame store, which must be on storage every
  node sees. Without an address a new local Ray instance is started (``num_cpus=workers`` when given); an address
  that cannot be reached is a one-line :class:`ClusterError` (at once for a closed port, else after a timeout).

Progress across jobs (jobs, frames stored, frame rate, ETA) goes to stderr unless ``quiet``.

Failures are collected per job (one job's bad input fails that job alone); results come back as
:class:`JobResult` rows in manifest order.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import RAY_MAX_RETRIES
from ..errors import ClusterError, UsageError, VideostyleError
from ..video.lock import POLL_SECONDS
from . import _tasks
from .backends import _Backend, _PoolBackend, _RayBackend, _SerialBackend
from .plan import Plan, PlannedJob, segments
from .progress import _Progress, count_stored_frames
from .ray_cluster import RAY_CONNECT_TIMEOUT, connect_ray, require_ray
from .results import BatchResult, JobResult, format_summary

EXECUTORS = ("local", "ray")


def visible_gpus() -> int:
    """CUDA devices this process can see (0 without CUDA or without torch's CUDA build)."""
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001
        return 0


def parse_visible_devices(value: str | None, count: int) -> list[str]:
    """The ids to pin workers to, one per GPU this process sees (``count``), as CUDA reads ``CUDA_VISIBLE_DEVICES``.

    Unset: ``0 … count-1``. Set: its comma-separated entries (indices, ``GPU-…``/``MIG-…`` UUIDs) up to the first
    invalid one (CUDA ignores it and everything after it: ``""`` and ``-1`` hide every GPU), at most ``count``.
    A worker pinned to an entry sees exactly that GPU (as ``cuda:0``).
    """
    if value is None:
        return [str(i) for i in range(count)]
    ids: list[str] = []
    for entry in (e.strip() for e in value.split(",")):
        if not (entry.isdigit() or entry.startswith(("GPU-", "MIG-"))):
            break
        ids.append(entry)
    return ids[:count]


def gpu_ids() -> list[str]:
    """The GPUs (ids for ``CUDA_VISIBLE_DEVICES``) the local executor gives one worker each."""
    return parse_visible_devices(os.environ.get("CUDA_VISIBLE_DEVICES"), visible_gpus())


# --- the driver ----------------------------------------------------------------------------------------------------
@dataclass
class _JobRun:
    planned: PlannedJob
    stage: str = "queued"  # queued (or waiting for its work directory) | detect | shots | finish | done
    outstanding: int = 0
    states: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    tasks: int = 0
    result: JobResult | None = None
    lock: Any = None  # the work directory's WorkDirLock, held from the job's start to its end


def _row(pj: PlannedJob, status: str, **kw: Any) -> JobResult:
    return JobResult(index=pj.job.index, name=pj.job.name, input=pj.config.input, output=pj.config.output,
                     status=status, **kw)


def _start(run: _JobRun) -> bool:
    """Before any task of a job: create its output folders, take its work directory's lock (held by the driver
    until the job ends, wherever its tasks run), then apply ``--force`` once (restart the frame store; tasks never
    wipe it). False while another run holds the lock and the job waits for it (``wait_lock``); call again."""
    from ..video import open_store
    from ..video.lock import WorkDirLock
    from ..video.preflight import make_dirs

    pj = run.planned
    if run.lock is None:
        make_dirs(pj.create)
        run.lock = WorkDirLock(pj.work_dir, wait=pj.config.wait_lock)
    if not run.lock.try_acquire():
        return False
    if pj.config.force:
        open_store(pj.config, force=True)
    return True


def _end(run: _JobRun) -> None:
    """Release the job's work directory."""
    if run.lock is not None:
        run.lock.release()
        run.lock = None


def run_plan(plan: Plan, backend: _Backend, *, shot_parallel: bool = False, quiet: bool = False) -> list[JobResult]:
    """Run the jobs of ``plan`` on ``backend``; returns one row per manifest job (skipped ones included)."""
    rows: dict[int, JobResult] = {pj.job.index: _row(pj, "skipped", frames=pj.frames, message=pj.reason)
                                  for pj in plan.skipped}
    rows.update({pj.job.index: _row(pj, "failed", message=pj.reason.removeprefix(f"{pj.label}: "))
                 for pj in plan.invalid})
    runs = [_JobRun(pj) for pj in plan.to_run]
    ready: collections.deque[tuple[_JobRun, Callable[..., _tasks.Outcome], tuple[Any, ...], str]] = \
        collections.deque()
    in_flight: dict[Any, tuple[_JobRun, str]] = {}

    def fail(run: _JobRun, message: str) -> None:
        _end(run)
        run.stage = "done"
        run.result = _row(run.planned, "failed", seconds=run.seconds, message=message, tasks=run.tasks,
                          cpu_seconds=run.cpu_seconds)
        progress.job_done(run.planned.job.index, "failed")

    def start(run: _JobRun) -> str | None:
        """Queue the first task of a job whose work directory is free; the error when it cannot start."""
        try:
            if not _start(run):
                return None  # waiting for its work directory
        except VideostyleError as err:
            return str(err)
        cfg = run.planned.config
        if shot_parallel and cfg.fast.mode != "fast":  # fast mode trains one network on the whole clip
            run.stage = "detect"
            ready.append((run, _tasks.detect, (cfg,), "detect"))
        else:
            run.stage = "job"
            ready.append((run, _tasks.run_job, (cfg,), "job"))
        return None

    failed_early = [(run, message) for run in runs if (message := start(run)) is not None]
    # Created after --force restarted the frame stores, so that the frame count starts from what is really there.
    progress = _Progress([r.planned for r in runs], quiet)
    for run, message in failed_early:
        fail(run, message)

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
            _end(run)
            run.stage = "done"
            run.result = _row(run.planned, "ok", frames=report.get("frames"), seconds=run.seconds,
                              message=_ok_message(report, shot_parallel), report=report, tasks=run.tasks,
                              cpu_seconds=run.cpu_seconds)
            progress.job_done(run.planned.job.index, "ok")
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
        while ready or in_flight or any(r.stage == "queued" for r in runs):
            for run in (r for r in runs if r.stage == "queued"):  # waiting for their work directories
                if (message := start(run)) is not None:
                    fail(run, message)
            while ready and (backend.max_in_flight is None or len(in_flight) < backend.max_in_flight):
                run, fn, args, kind = ready.popleft()
                if run.stage == "done":  # an earlier shot of this job failed
                    continue
                in_flight[backend.submit(fn, args, run.planned.label)] = (run, kind)
            if not in_flight:
                if any(r.stage == "queued" for r in runs):
                    time.sleep(POLL_SECONDS)
                continue
            for handle in backend.wait(list(in_flight), timeout=1.0):
                run, kind = in_flight.pop(handle)
                on_done(run, kind, backend.outcome(handle))
    finally:
        progress.close()
        for run in runs:
            _end(run)
    for run in runs:
        assert run.result is not None
        rows[run.planned.job.index] = run.result
    return [rows[pj.job.index] for pj in plan.jobs]


def _ok_message(report: dict[str, Any], shot_parallel: bool) -> str:
    parts = []
    shots = report.get("shots") or []
    if shot_parallel and len(shots) > 1 and report.get("mode") != "fast":
        parts.append(f"{len(shots)} shots in parallel")
    if report.get("frames_resumed"):
        parts.append(f"resumed {report['frames_resumed']} stored frames")
    return "; ".join(parts)


def check_options(executor: str, *, workers: int | None = None, threads: int | None = None,
                  ray_address: str | None = None, max_retries: int = RAY_MAX_RETRIES,
                  connect_timeout: float = RAY_CONNECT_TIMEOUT) -> None:
    """Raise UsageError for executor options that cannot work (before any work starts)."""
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise UsageError(f"invalid --workers {workers}: must be >= 1")
    if threads is not None and threads < 1:
        raise UsageError(f"invalid --threads {threads}: must be >= 1")
    if max_retries < 0:
        raise UsageError(f"invalid --max-retries {max_retries}: must be >= 0")
    if not connect_timeout > 0:
        raise UsageError(f"invalid --ray-timeout {connect_timeout:g}: must be > 0")
    if ray_address and executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if executor == "ray":
        require_ray()


def make_backend(executor: str, *, workers: int | None = None, threads: int | None = None,
                 ray_address: str | None = None, max_retries: int = RAY_MAX_RETRIES, quiet: bool = False,
                 connect_timeout: float = RAY_CONNECT_TIMEOUT) -> _Backend:
    """The backend for ``executor`` (``local`` or ``ray``); see the module docstring."""
    check_options(executor, workers=workers, threads=threads, ray_address=ray_address, max_retries=max_retries,
                  connect_timeout=connect_timeout)
    if executor == "ray":
        return _RayBackend(ray_address, workers, threads, max_retries, quiet, connect_timeout)
    gpus = gpu_ids()
    n = workers if workers is not None else max(1, len(gpus))
    if n == 1:
        return _SerialBackend(threads)
    return _PoolBackend(n, threads if threads is not None else 1, gpus if len(gpus) > 1 else [])


def run_batch(plan: Plan, *, executor: str = "local", workers: int | None = None, threads: int | None = None,
              ray_address: str | None = None, max_retries: int = RAY_MAX_RETRIES, shot_parallel: bool = False,
              quiet: bool = False, connect_timeout: float = RAY_CONNECT_TIMEOUT) -> BatchResult:
    """Run a validated plan and collect one :class:`JobResult` per job (never raises for a job's failure).

    ``threads``: torch/OpenCV threads per worker (default 1 for pool and Ray workers, the library default when
    running sequentially in this process). ``connect_timeout``: seconds allowed for joining the Ray cluster or
    starting a local instance (:class:`ClusterError` after that).
    """
    t0 = time.perf_counter()
    backend = make_backend(executor, workers=workers, threads=threads, ray_address=ray_address,
                           max_retries=max_retries, quiet=quiet, connect_timeout=connect_timeout)
    try:
        rows = run_plan(plan, backend, shot_parallel=shot_parallel, quiet=quiet)
    finally:
        backend.close()
    return BatchResult(results=rows, executor=executor, seconds=time.perf_counter() - t0)


__all__ = [
    "EXECUTORS",
    "BatchResult",
    "ClusterError",
    "JobResult",
    "check_options",
    "connect_ray",
    "count_stored_frames",
    "format_summary",
    "make_backend",
    "require_ray",
    "run_batch",
    "run_plan",
]
