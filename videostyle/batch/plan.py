"""Validating a manifest against the file system and planning the batch (what runs, what is skipped).

Every job is checked before any work starts and every problem is reported at once (:class:`ManifestError`):
unreadable inputs (probed with :func:`videostyle.media.probe`), unreadable style images, missing weights files,
unsupported or unwritable outputs, an output that is an input (its own or another job's), and two jobs writing the
same output, report, preview or frame store. A job whose output already exists is skipped unless ``force``.
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
from .manifest import Job, Manifest, ManifestError


@dataclass(frozen=True)
class PlannedJob:
    """A job with what the batch will do with it."""

    job: Job
    config: StylizeConfig  # the job's configuration with the batch's ``--force`` applied
    action: str  # "run" | "skip"
    reason: str = ""  # why it is skipped
    frames: int | None = None  # frames the job will produce (from probing; None when unknown)
    passes: int = 1
    shots: tuple[int, ...] | None = None  # first frame of each shot, when detected for the plan
    work_dir: Path = field(default_factory=Path)

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


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def output_finished(config: StylizeConfig) -> bool:
    """Whether the job's output exists (outputs are renamed into place only when complete)."""
    from ..media import output_kind

    try:
        kind, _codec, target = output_kind(config.output, config.encode.codec)
    except VideostyleError:
        return False
    if kind == "sequence":
        from ..media.writer import SEQUENCE_FIRST_NUMBER

        try:
            return os.path.exists(target % SEQUENCE_FIRST_NUMBER)
        except TypeError:
            return False
    return os.path.exists(target)


def work_dir_of(config: StylizeConfig) -> Path:
    """The frame store folder of a job (``work_dir`` or beside the output)."""
    return Path(config.work_dir) if config.work_dir else config.default_work_dir()


def plan_batch(manifest: Manifest, *, force: bool = False, detect_shots: bool = False) -> Plan:
    """Validate every job of ``manifest`` and decide what runs; raises :class:`ManifestError` with all problems.

    ``force`` redoes finished outputs (and restarts their frame stores when the batch runs). ``detect_shots``
    also finds the shots of every job to run (decodes each clip once at its working size; used by dry runs).
    """
    from .. import media
    from ..style import load_style_image

    problems: list[str] = []
    style_errors: dict[str, str | None] = {}
    claimed: dict[str, str] = {}  # real path -> "job N (name) output"
    inputs: dict[str, str] = {}  # real path of every input -> job label
    for job in manifest.jobs:
        inputs.setdefault(_real(job.config.input), job.label)

    planned: list[PlannedJob] = []
    for job in manifest.jobs:
        cfg = job.config
        if force and not cfg.force:
            cfg = dataclasses.replace(cfg, force=True)
        label = job.label
        before = len(problems)
        info = None
        try:
            info = media.probe(cfg.input)
        except VideostyleError as err:
            problems.append(f"{label}: input: {err}")
        for style in cfg.styles:
            if style not in style_errors:
                try:
                    load_style_image(style)
                    style_errors[style] = None
                except VideostyleError as err:
                    style_errors[style] = str(err)
            if style_errors[style] is not None:
                problems.append(f"{label}: style: {style_errors[style]}")
        if cfg.style.weights and not os.path.isfile(cfg.style.weights):
            problems.append(f"{label}: weights: {cfg.style.weights}: file not found")
        try:
            media.validate_output(cfg.output, cfg.encode.codec)
        except VideostyleError as err:
            problems.append(f"{label}: output: {err}")
        if cfg.preview:
            try:
                media.validate_output(cfg.preview)
            except VideostyleError as err:
                problems.append(f"{label}: preview: {err}")
        if cfg.report:
            parent = Path(cfg.report).resolve().parent
            if not parent.is_dir() or not os.access(parent, os.W_OK):
                problems.append(f"{label}: report: {cfg.report}: directory does not exist or is not writable")
        work_dir = work_dir_of(cfg)
        # A derived work_dir (beside the output) clashes exactly when the output does: named once, as the output.
        targets = [("output", cfg.output), ("preview", cfg.preview), ("report", cfg.report),
                   ("work_dir", cfg.work_dir)]
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
        if len(problems) > before:
            continue
        frames = None
        if info is not None and info.video is not None and info.video.frames is not None:
            frames = info.video.frames
            if cfg.range.max_frames is not None:
                frames = min(frames, cfg.range.max_frames)
            if cfg.range.start is not None or cfg.range.duration is not None:
                frames = None  # trimmed by time: not known without decoding
        if output_finished(cfg) and not cfg.force:
            planned.append(PlannedJob(job, cfg, "skip", "output exists (use --force to redo)", frames,
                                      cfg.video.passes, None, work_dir))
            continue
        shots = None
        if detect_shots:
            shots = tuple(shots_of(cfg))
        planned.append(PlannedJob(job, cfg, "run", "", frames, cfg.video.passes, shots, work_dir))
    if problems:
        raise ManifestError(manifest.path, problems)
    return Plan(manifest=manifest, jobs=tuple(planned), force=force)


def shots_of(config: StylizeConfig) -> list[int]:
    """First frame of every shot, found exactly as the engine finds them (same detector, size and range)."""
    from ..video.shots import detect_shots

    v, r = config.video, config.range
    if v.cut_detector == "none":
        return [0]
    return detect_shots(config.input, kind=v.cut_detector, threshold=v.cut_threshold, size=v.size,
                        start=r.start, duration=r.duration, max_frames=r.max_frames)


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
             f"{len(plan.skipped)} skipped" + (" (--force)" if plan.force else "") + how]
    for pj in plan.jobs:
        cfg = pj.config
        what = "run " if pj.action == "run" else "skip"
        frames = "?" if pj.frames is None else str(pj.frames)
        lines.append(f"  {what} {pj.label}: {cfg.input} -> {cfg.output}")
        detail = [f"style {', '.join(cfg.styles)}", f"frames {frames}", f"size {cfg.video.size}",
                  f"model {cfg.style.model or 'vgg19'}"]
        if pj.passes > 1:
            detail.append(f"passes {pj.passes}")
        if pj.shots is not None:
            detail.append(f"shots at {', '.join(map(str, pj.shots))}"
                          + (f" ({len(pj.shots)} parallel tasks)" if shot_parallel else ""))
        if pj.action == "skip":
            detail.append(pj.reason)
        lines.append("       " + "; ".join(detail))
    return "\n".join(lines)
