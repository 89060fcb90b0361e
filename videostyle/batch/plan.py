"""Validating a manifest against the file system and planning the batch (what runs, what is skipped).

Every job is checked before any work starts by the pre-flight ``stylize`` uses
(:func:`videostyle.video.preflight.preflight`: input, range, styles, weights, outputs, smallest working size,
memory, encoder), plus what only a batch can get wrong: an output that is an input (its own or another job's), two
jobs writing the same output, report, preview or frame store. Strict plans report every problem at once
(:class:`ManifestError`); otherwise an invalid job is planned as ``"invalid"`` and fails alone. A job whose output
already exists is skipped unless ``force``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import StylizeConfig
from ..errors import VideostyleError
from ..video.preflight import preflight
from .manifest import Job, Manifest, ManifestError


@dataclass(frozen=True)
class PlannedJob:
    """A job with what the batch will do with it."""

    job: Job
    config: StylizeConfig  # the job's configuration with the batch's ``--force`` applied
    action: str  # "run" | "skip" | "invalid" (a problem found before work; it fails alone)
    reason: str = ""  # why it is skipped, or its problem
    frames: int | None = None  # frames the job will produce (from probing; None when unknown)
    passes: int = 1
    shots: tuple[int, ...] | None = None  # first frame of each shot, when detected for the plan
    work_dir: Path = field(default_factory=Path)
    create: tuple[Path, ...] = ()  # output folders to create before it runs

    @property
    def label(self) -> str:
        return self.job.label


@dataclass(frozen=True)
class Plan:
    """The validated batch."""

    manifest: Manifest
    jobs: tuple[PlannedJob, ...]
    force: bool = False

    @property
    def to_run(self) -> list[PlannedJob]:
        return [j for j in self.jobs if j.action == "run"]

    @property
    def skipped(self) -> list[PlannedJob]:
        return [j for j in self.jobs if j.action == "skip"]

    @property
    def invalid(self) -> list[PlannedJob]:
        return [j for j in self.jobs if j.action == "invalid"]


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def _claims(label: str, cfg: StylizeConfig, inputs: dict[str, str], claimed: dict[str, str]) -> list[str]:
    """Problems of a job's outputs against every job's inputs and the outputs claimed by the jobs before it."""
    problems: list[str] = []
    # A derived work_dir (beside the output) clashes exactly when the output does: named once, as the output.
    targets = [("output", cfg.output), ("preview", cfg.preview), ("report", cfg.report), ("work_dir", cfg.work_dir)]
    own_input = _real(cfg.input)
    for key, path in targets:
        if not path:
            continue
        real = _real(path)
        if real == own_input:
            problems.append(f"{label}: {key} {path} is its own input; choose another path")
        elif real in inputs:
            problems.append(f"{label}: {key} {path} is the input of {inputs[real]}; choose another path")
        elif real in claimed:
            problems.append(f"{label}: {key} {path} is also written by {claimed[real]}")
        else:
            claimed[real] = f"{label} ({key})"
    return problems


def plan_batch(manifest: Manifest, *, force: bool = False, detect_shots: bool = False, strict: bool = True,
               create_dirs: bool = False) -> Plan:
    """Validate every job of ``manifest`` (the pre-flight of ``stylize``, plus clashes between jobs) and plan it.

    ``strict`` (the default): any invalid job refuses the batch, raising :class:`ManifestError` with every
    problem. Otherwise invalid jobs are planned as ``"invalid"`` (they fail alone, their problem as the reason)
    and the valid ones run. ``force`` redoes finished outputs (and restarts their frame stores when the batch
    runs). ``create_dirs`` accepts missing output folders that can be created (made when the job runs).
    ``detect_shots`` also finds the shots of every job to run (decodes each clip once; used by dry runs).
    """
    problems: list[str] = []
    claimed: dict[str, str] = {}  # real path -> "job N (name) output"
    inputs: dict[str, str] = {}  # real path of every input -> job label
    for job in manifest.jobs:
        inputs.setdefault(_real(job.config.input), job.label)

    planned: list[PlannedJob] = []
    for job in manifest.jobs:
        cfg = job.config
        if force and not cfg.force:
            cfg = dataclasses.replace(cfg, force=True)
        work_dir = cfg.store_dir()
        job_problems = _claims(job.label, cfg, inputs, claimed)
        resolved = None
        if not job_problems:
            try:
                resolved = preflight(cfg, existing="report", create_dirs=create_dirs)
            except VideostyleError as err:
                stage = getattr(err, "stage", None)
                job_problems.append(f"{job.label}: {stage + ': ' if stage else ''}{err}")
        if resolved is None:
            problems += job_problems
            planned.append(PlannedJob(job, cfg, "invalid", "; ".join(job_problems), passes=cfg.video.passes,
                                      work_dir=work_dir))
            continue
        if resolved.finished and not cfg.force:
            planned.append(PlannedJob(job, cfg, "skip", "output exists (use --force to redo)", resolved.frames,
                                      cfg.video.passes, None, work_dir))
            continue
        shots = tuple(shots_of(cfg)) if detect_shots else None
        planned.append(PlannedJob(job, cfg, "run", "", resolved.frames, cfg.video.passes, shots, work_dir,
                                  resolved.create))
    if problems and strict:
        raise ManifestError(manifest.path, problems)
    return Plan(manifest=manifest, jobs=tuple(planned), force=force)


def shots_of(config: StylizeConfig) -> list[int]:
    """First frame of every shot, found exactly as the engine finds them (same detector, size and range)."""
    from ..video.shots import detect_shots

    v, r = config.video, config.range
    if v.cut_detector == "none":
        return [0]
    return detect_shots(config.input, kind=v.cut_detector, threshold=v.cut_threshold, size=v.size,
                        start=r.start, duration=r.duration, max_frames=r.max_frames, frames=r.frame_numbers,
                        colorspace=v.input_colorspace)


def segments(shots: Sequence[int]) -> list[tuple[int, int | None]]:
    """Frame ranges ``(first, stop)`` of the shots starting at ``shots`` (the last one runs to the end)."""
    starts = sorted(set(shots)) or [0]
    return [(a, b) for a, b in itertools.pairwise(starts)] + [(starts[-1], None)]


def format_plan(plan: Plan, *, shot_parallel: bool = False, executor: str | None = None) -> str:
    """A human-readable plan for ``--dry-run``: one header line, then two lines per job."""
    frames = [pj.frames for pj in plan.to_run]
    total = "?" if any(f is None for f in frames) else str(sum(f or 0 for f in frames))
    how = ""
    if executor:
        how = f"; executor {executor}" + (", one task per shot" if shot_parallel else ", one task per job")
    lines = [f"batch plan for {plan.manifest.path}: {len(plan.to_run)} to run ({total} frames), "
             f"{len(plan.skipped)} skipped" + (" (--force)" if plan.force else "")
             + (f", {len(plan.invalid)} invalid" if plan.invalid else "") + how]
    for pj in plan.jobs:
        cfg = pj.config
        what = {"run": "run ", "skip": "skip"}.get(pj.action, pj.action)
        frames = "?" if pj.frames is None else str(pj.frames)
        lines.append(f"  {what} {pj.label}: {cfg.input} -> {cfg.output}")
        detail = [f"style {', '.join(cfg.styles)}", f"frames {frames}", f"size {cfg.video.size}",
                  f"model {cfg.style.model or 'vgg19'}"]
        if pj.passes > 1:
            detail.append(f"passes {pj.passes}")
        if pj.shots is not None:
            detail.append(f"shots at {', '.join(map(str, pj.shots))}"
                          + (f" ({len(pj.shots)} parallel tasks)" if shot_parallel else ""))
        if pj.action != "run":
            detail.append(pj.reason)
        lines.append("       " + "; ".join(detail))
    return "\n".join(lines)
