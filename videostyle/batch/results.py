"""What a batch did: one :class:`JobResult` row per manifest job, the :class:`BatchResult`, and its summary table."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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
