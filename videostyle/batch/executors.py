"""Running a planned batch: the local executor (in-process, or a process pool) and the Ray executor.

A job is one task (decode, stylise into the frame store, encode); with ``shot_parallel`` a job becomes a
shot-detection task, one task per shot range (``run_frames(config, frame_range=...)`` into the shared frame
store), then one task that encodes the clip in order with its audio (``finish``). The driver only submits the next
stage of a job when the previous one finished; placement, resources and retries are the executor's (Ray's) job.

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
import concurrent.futures as cf
import logging
import multiprocessing
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ClusterError, UsageError, VideostyleError
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


def require_ray() -> Any:
    """Import Ray or raise a one-line UsageError saying how to install it."""
    try:
        import ray
    except ModuleNotFoundError:
        raise UsageError("the ray executor needs Ray: pip install 'videostyle[ray]' "
                         "(or use --executor local)") from None
    return ray


#: Seconds to wait for ``ray.init`` (joining a cluster or starting a local instance) before giving up.
RAY_CONNECT_TIMEOUT = 60.0

_FIX = "check --ray-address, or start the cluster (`ray start --head`), or omit --ray-address for a local instance"


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``ray://HOST:PORT`` or ``HOST:PORT`` (None for ``auto`` and other forms)."""
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    rest = rest.split("/", 1)[0]
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _probe(address: str, timeout: float) -> None:
    """Fail fast, with one line, when the host:port of ``address`` does not accept TCP connections."""
    import socket

    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except socket.timeout:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: no answer within {timeout:g} s; "
                           f"{_FIX}") from None
    except OSError as err:
        why = err.strerror or type(err).__name__
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {why.lower()}; {_FIX}") from None


def _first_line(err: BaseException) -> str:
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)


def _drop_sigterm_warning(record: logging.LogRecord) -> bool:
    """Ray warns that ``ray.init`` off the main thread leaves SIGTERM alone: expected here, not news to users."""
    return "SIGTERM handler is not set" not in record.getMessage()


def _drop_auth_notice(record: logging.LogRecord) -> bool:
    """Ray's notice that its default token authentication is on: nothing for a batch user to act on."""
    return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(_drop_auth_notice)


def connect_ray(ray: Any, address: str | None, *, workers: int | None = None, quiet: bool = False,
                timeout: float = RAY_CONNECT_TIMEOUT) -> None:
    """``ray.init``: join the cluster at ``address`` (``auto``, ``ray://HOST:PORT``, ``HOST:PORT``) or start a local
    instance (``num_cpus=workers``); raise :class:`ClusterError` (one line) when that fails, or when joining takes
    over ``timeout`` seconds.

    A ``HOST:PORT`` address is probed over TCP first, so a closed port fails at once. Joining runs in a helper
    thread: Ray's client retries an unanswered ``ray://`` address for about half a minute, and a half-dead cluster
    can block longer; after ``timeout`` the batch gives up (the abandoned attempt dies with the process).
    """
    kwargs: dict[str, Any] = {"logging_level": logging.ERROR if quiet else logging.WARNING,
                              "configure_logging": True}
    where = f"the Ray cluster at {address}" if address else "a local Ray instance"
    if address:
        _probe(address, min(timeout, 10.0))
        init_kwargs = dict(address=address, **kwargs)
    else:
        # Workers of a local instance import videostyle from where this process does (a source checkout works
        # without installing it). An address in RAY_ADDRESS must not be joined with num_cpus: start a local one.
        package_parent = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p)
        init_kwargs = dict(address="local", num_cpus=workers, include_dashboard=False,
                           runtime_env={"env_vars": {"PYTHONPATH": path}}, **kwargs)
    box: dict[str, BaseException] = {}

    def init() -> None:
        try:
            with warnings.catch_warnings():  # Ray client's "connection timed out" UserWarning: we say it ourselves
                warnings.simplefilter("ignore")
                ray.init(**init_kwargs)
        except BaseException as err:  # noqa: BLE001 - reported to the caller's thread
            box["error"] = err

    if not address:
        # A local instance starts in this thread: Ray's processes die with the thread that spawned them
        # (PR_SET_PDEATHSIG), so a helper thread would take them down when it ends.
        init()
    else:
        # Joining starts no processes, so a helper thread can wait for it with a timeout.
        worker_logger = logging.getLogger("ray._private.worker")
        worker_logger.addFilter(_drop_sigterm_warning)
        thread = threading.Thread(target=init, name="videostyle-ray-init", daemon=True)
        thread.start()
        thread.join(timeout)
        worker_logger.removeFilter(_drop_sigterm_warning)
        if thread.is_alive():
            raise ClusterError(f"cannot reach {where}: ray.init did not finish within {timeout:g} s; {_FIX}")
    err = box.get("error")
    if err is None:
        return
    if isinstance(err, KeyboardInterrupt):
        raise err
    text = _first_line(err)
    if address == "auto" and "Could not find any running Ray instance" in text:
        raise ClusterError(f"--ray-address auto: no running Ray cluster found on this machine; {_FIX}") from None
    if address:
        raise ClusterError(f"cannot reach {where}: {text}; {_FIX}") from None
    raise ClusterError(f"cannot start {where}: {text}") from None


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


# --- progress ------------------------------------------------------------------------------------------------------
def count_stored_frames(work_dir: Path) -> int:
    """Finished frame records in a frame store (all passes); cheap enough to poll."""
    frames = work_dir / "frames"
    try:
        return sum(1 for d in frames.iterdir() if d.is_dir() for f in os.scandir(d) if f.name.endswith(".json"))
    except OSError:
        return 0


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"


class _Progress:
    """Progress across the jobs of a batch on stderr: jobs done, frames stored in every job's frame store (polled,
    so shots running on other nodes count too), frame rate and ETA. Nothing when ``quiet``.

    On a terminal one status line is redrawn in place; otherwise (a log file, CI) a plain line is written when a job
    ends and at most every ``interval`` seconds.
    """

    def __init__(self, jobs: Sequence[PlannedJob], quiet: bool, *, stream: Any = None,
                 interval: float | None = None) -> None:
        self._jobs = {j.job.index: j for j in jobs}
        self._stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._interval = interval if interval is not None else (0.5 if self._tty else 30.0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.enabled = not quiet and bool(jobs)
        self.ended: dict[int, str] = {}  # job index -> "ok" | "failed"
        self._t0 = time.monotonic()
        self._stored = {i: count_stored_frames(j.work_dir) if not j.config.force else 0
                        for i, j in self._jobs.items()}
        self._start_frames = sum(self._stored.values())
        self._last_print = self._t0  # the first periodic line comes after one interval
        self._width = 0
        self.lines: list[str] = []  # every status written (for tests)
        if self.enabled:
            self._thread = threading.Thread(target=self._poll, name="videostyle-batch-progress", daemon=True)
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(min(self._interval, 1.0)):
            if time.monotonic() - self._last_print >= self._interval:
                self.show()

    def _expected(self, index: int) -> int | None:
        pj = self._jobs[index]
        return None if pj.frames is None else pj.frames * pj.passes

    def status(self) -> str:
        """The status line: ``jobs 2/5 (1 failed)  frames 34/60  1.8 frame/s  ETA 0:14``."""
        for i, pj in self._jobs.items():
            if self.ended.get(i) != "failed":
                self._stored[i] = count_stored_frames(pj.work_dir)
        elapsed = time.monotonic() - self._t0
        done = sum(self._stored.values())
        # A failed job's missing frames will not come: they leave the total.
        expected = [self._stored[i] if self.ended.get(i) == "failed" else self._expected(i) for i in self._jobs]
        total = None if any(e is None for e in expected) else sum(e for e in expected if e is not None)
        computed = max(0, done - self._start_frames)
        rate = computed / elapsed if elapsed > 0 else 0.0
        failed = sum(1 for v in self.ended.values() if v == "failed")
        parts = [f"jobs {len(self.ended)}/{len(self._jobs)}" + (f" ({failed} failed)" if failed else ""),
                 f"frames {done}/{'?' if total is None else total}"]
        if rate > 0:
            parts.append(f"{rate:.2f} frame/s" if rate < 10 else f"{rate:.0f} frame/s")
        if len(self.ended) == len(self._jobs):
            parts.append(f"done in {_clock(elapsed)}")
        elif total is not None and rate > 0:
            parts.append(f"ETA {_clock(max(0, total - done) / rate)}")
        elif self.ended and len(self.ended) > failed:  # frame counts unknown: estimate from finished jobs
            parts.append(f"ETA ~{_clock(elapsed / len(self.ended) * (len(self._jobs) - len(self.ended)))}")
        else:
            parts.append("ETA ?")
        return "batch: " + "  ".join(parts)

    def show(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            line = self.status()
            self.lines.append(line)
            self._last_print = time.monotonic()
            if self._tty:
                pad = max(0, self._width - len(line))
                self._width = len(line)
                self._stream.write("\r" + line + " " * pad)
            else:
                self._stream.write(line + "\n")
            self._stream.flush()

    def job_done(self, index: int, status: str) -> None:
        self.ended[index] = status
        self.show()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.enabled and self._tty:
            with self._lock:
                self._stream.write("\n")
                self._stream.flush()


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
    """Before any task: create the output folders, apply ``--force`` once (restart the frame store; tasks never
    wipe it)."""
    from ..video.preflight import make_dirs

    make_dirs(pj.create)
    if pj.config.force:
        from ..video import open_store

        open_store(pj.config, force=True)


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
        run.stage = "done"
        run.result = _row(run.planned, "failed", seconds=run.seconds, message=message, tasks=run.tasks,
                          cpu_seconds=run.cpu_seconds)
        progress.job_done(run.planned.job.index, "failed")

    failed_early: list[tuple[_JobRun, str]] = []
    for run in runs:
        try:
            _prepare_forced(run.planned)
        except VideostyleError as err:
            failed_early.append((run, str(err)))
    # Created after --force restarted the frame stores, so that the frame count starts from what is really there.
    progress = _Progress([r.planned for r in runs], quiet)
    for run, message in failed_early:
        fail(run, message)
    for run in runs:
        if run.stage == "done":
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
                  ray_address: str | None = None, max_retries: int = 3,
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
                 ray_address: str | None = None, max_retries: int = 3, quiet: bool = False,
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
              ray_address: str | None = None, max_retries: int = 3, shot_parallel: bool = False,
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
    "ClusterError",
    "JobResult",
    "check_options",
    "connect_ray",
    "format_summary",
    "make_backend",
    "require_ray",
    "run_batch",
    "run_plan",
]
