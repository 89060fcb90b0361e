"""Progress across the jobs of a batch on stderr: jobs done, frames stored, frame rate, ETA."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .plan import PlannedJob


def count_stored_frames(work_dir: Path) -> int:
    """Finished frame records in a job's frame store (all passes); cheap enough to poll."""
    from ..video.store import count_records

    return count_records(work_dir)


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
