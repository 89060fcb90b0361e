"""Work that runs inside a batch worker (this process, a local process pool, or a Ray task).

Each function returns an :class:`Outcome` instead of raising, so that a job's error crosses process boundaries as
its one-line message; only a dying worker (killed, out of memory) surfaces as an executor error. Nothing here wipes
a frame store: a retried task resumes from what an earlier attempt stored (``--force`` is applied once by the
driver before any task starts).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import StylizeConfig


@dataclass
class Outcome:
    """The result of one task: ``value`` when ``ok``, else ``error`` (one line)."""

    ok: bool
    value: Any = None
    error: str = ""
    seconds: float = 0.0  # wall time of the task
    cpu_seconds: float = 0.0  # CPU time of the worker process during the task (all its threads)
    pid: int = 0


def set_threads(threads: int | None) -> None:
    """Limit torch (and OpenCV) to ``threads`` threads in this worker; None leaves the library defaults."""
    if not threads:
        return
    import cv2
    import torch

    torch.set_num_threads(int(threads))
    cv2.setNumThreads(int(threads))


def _guard(fn: Callable[..., Any], *args: Any, threads: int | None = None) -> Outcome:
    from ..errors import RunInterrupted, VideostyleError

    t0, c0 = time.perf_counter(), time.process_time()

    def done(ok: bool, value: Any = None, error: str = "") -> Outcome:
        return Outcome(ok, value=value, error=error, seconds=time.perf_counter() - t0,
                       cpu_seconds=time.process_time() - c0, pid=os.getpid())

    try:
        set_threads(threads)
        value = fn(*args)
    except RunInterrupted:
        raise  # Ctrl-C stops the whole batch, not just this job
    except VideostyleError as err:
        return done(False, error=str(err))
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - an unexpected failure of one job must not stop the batch
        text = " ".join(str(err).split()) or "no message"
        return done(False, error=f"{type(err).__name__}: {text}")
    return done(True, value=value)


def _quiet(config: StylizeConfig) -> StylizeConfig:
    return dataclasses.replace(config, quiet=True)


def _run_job(config: StylizeConfig) -> dict[str, Any]:
    from ..video import finish, run_frames

    config = _quiet(config)
    state = run_frames(config, force_store=False)
    return finish(config, state)


def _run_segment(config: StylizeConfig, frame_range: tuple[int, int | None]) -> Any:
    from ..video import run_frames

    return run_frames(_quiet(config), frame_range=frame_range, force_store=False)


def _detect(config: StylizeConfig) -> list[int]:
    from .plan import shots_of

    return shots_of(config)


def merge_states(states: Sequence[Any]) -> Any:
    """One :class:`~videostyle.video.RunState` from the states of a clip's shot ranges, frames in order.

    Raises FrameStoreError when a frame is missing or appears twice (the ranges must tile the clip).
    """
    from ..errors import FrameStoreError
    from ..video.engine import StageTimes

    ordered = sorted((s for s in states if s.frames), key=lambda s: s.frames[0]["index"])
    if not ordered:
        return states[0]
    frames = [f for s in ordered for f in s.frames]
    indices = [f["index"] for f in frames]
    if indices != list(range(indices[0], indices[0] + len(indices))):
        counts = collections.Counter(indices)
        dup = sorted(i for i, n in counts.items() if n > 1)
        gaps = sorted(set(range(indices[0], max(indices) + 1)) - set(indices))
        raise FrameStoreError(f"shot ranges do not tile the clip (duplicated frames {dup[:5]}, missing {gaps[:5]})",
                              path=ordered[0].work_dir)
    times = StageTimes(**{f.name: sum(getattr(s.times, f.name) for s in ordered)
                          for f in dataclasses.fields(StageTimes)})
    shots = sorted({i for s in ordered for i in s.shots})
    refined = [r for s in ordered for r in s.refined]  # multi-pass records (passes 2…) of every range
    return dataclasses.replace(ordered[0], frames=frames, shots=shots, times=times, refined=refined)


def _finish(config: StylizeConfig, states: Sequence[Any]) -> dict[str, Any]:
    from ..video import finish

    return finish(_quiet(config), merge_states(states))


# --- entry points (module-level so that process pools and Ray can pickle them by reference) --------------------
def run_job(config: StylizeConfig, threads: int | None = None) -> Outcome:
    """Stylise a whole job into its frame store (resuming) and encode it."""
    return _guard(_run_job, config, threads=threads)


def run_segment(config: StylizeConfig, frame_range: tuple[int, int | None], threads: int | None = None) -> Outcome:
    """Stylise the frames ``first <= index < stop`` of a job (``first`` begins a shot) into its frame store."""
    return _guard(_run_segment, config, frame_range, threads=threads)


def detect(config: StylizeConfig, threads: int | None = None) -> Outcome:
    """The first frame of every shot of a job."""
    return _guard(_detect, config, threads=threads)


def finish_segments(config: StylizeConfig, states: Sequence[Any], threads: int | None = None) -> Outcome:
    """Encode a job whose shot ranges ran separately, in order and with its audio."""
    return _guard(_finish, config, states, threads=threads)


def init_pool_worker(gpu_queue: Any, threads: int | None) -> None:
    """Process-pool initializer: pin this worker to one GPU (when the queue holds ids) and set thread counts."""
    if gpu_queue is not None:
        try:  # a short wait, not get_nowait: the parent's feeder thread may not have flushed the ids to the pipe yet
            gpu = gpu_queue.get(timeout=2.0)
        except Exception:  # noqa: BLE001 - queue empty: more workers than GPUs
            gpu = None
        if gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    set_threads(threads)
