"""The per-shot loop: warped initialisation, temporal terms, cuts, the frame store and resume.

One way through a clip (Ruder, Dosovitskiy & Brox, GCPR 2016):

* a background thread decodes frames, finds cuts and computes backward/forward flow and reliability masks ahead of
  the optimiser (:func:`_prepare`);
* the first frame of each shot is optimised from the content with ``first_iterations``;
* every later frame starts from the previous stylised frame warped by the backward flow (unreliable pixels filled
  from the content) and is optimised with the masked temporal loss under the ``iterations`` budget;
* each finished frame goes to the :class:`~videostyle.video.store.FrameStore`; a rerun resumes after the last
  finished frame with that frame as the previous result;
* with ``passes > 1`` the shots are swept again in alternating directions (:mod:`~videostyle.video.passes`);
* once every frame is stored, the clip is encoded from the store (last pass) with the source's audio and timing.

Beside it: :mod:`.warm` (a warm frame's start, fill, temporal terms and budget), :mod:`.source` (the job's input),
:mod:`.output` (encode and preview), :mod:`.report` (the JSON report), :mod:`.progress` (the progress bar).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import _schema
from .._prefetch import Prefetcher
from .. import media
from ..config import StylizeConfig, config_hash
from ..errors import NoFramesError, RunInterrupted, UsageError
from ..tuning import TUNING, EngineTuning
from .._fs import atomic_write
from . import passes as multipass
from .controls import Controls, file_identity
from .lock import WorkDirLock
from .output import audio_range as _audio_range  # noqa: F401  (the names before issue 21 split this module)
from .output import encode, write_preview
from .preflight import ResolvedJob, preflight
from .progress import Progress
from .progress import Progress as _Progress  # noqa: F401
from .report import pass_summary as _pass_summary  # noqa: F401
from .report import report as build_report
from .source import open_source, working_size
from .store import FrameStore
from .warm import fill as _fill  # noqa: F401
from .warm import warm_budget as _warm_budget
from .warm import warm_start as _warm_start
from .prepare import StageTimes, WorkItem, prepare as _prepare, timed as _timed  # noqa: F401  (importable here)

def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


#: the path options that change the frames, identified by their files' contents rather than their paths
_IDENTIFIED_PATHS = ("input", "styles", "outside_style", "mask")


def _run_settings(config: StylizeConfig, tuning: EngineTuning | None = None, controls: Controls | None = None
                  ) -> dict[str, Any]:
    """Everything that changes the stylised frames (the frame store's hash): every option declared
    ``effect="frames"`` (:func:`videostyle._schema.values`; the precision as resolved), the input, style and matte
    files by their contents, and a ``tuning``'s changes from the defaults. ``controls``: the job's, when built."""
    from ..style.devices import result_settings  # the style's frame options, precision as resolved

    top = [o.name for o in _schema.options(type(config))
           if len(o.path) == 1 and o.spec.path and o.spec.effect == "frames"]
    if sorted(top) != sorted(_IDENTIFIED_PATHS):  # a new file option: say how its files are identified
        raise TypeError(f"frame-changing path options {top}: _run_settings identifies {list(_IDENTIFIED_PATHS)}")
    settings = _schema.values(config, "frames", paths=False)
    settings["style"] = result_settings(config.style)
    settings.pop("fast")  # fast mode's settings enter only its own runs' hashes (optimisation runs' stay as they were)
    if config.fast.mode == "fast":
        from ..fast.run import fast_settings

        settings["fast"] = fast_settings(config)
    controls = Controls(config, None) if controls is None else controls
    changed = {} if tuning is None else tuning.changed()
    return {
        "input": file_identity(config.input),
        "styles": [_file_digest(p) for p in controls.style_paths()],  # with --outside-style, it comes last
        **settings,
        **controls.settings(),  # the matte's files (only with --mask)
        **({"tuning": changed} if changed else {}),
    }


@dataclass
class RunState:
    """What one run of the frame loop produced (frames in order, shots) and how long its stages took."""

    frames: list[dict[str, Any]]
    shots: list[int]
    size: tuple[int, int]
    fps: float | None
    time_base: Any
    start_pts: float | None
    info: media.MediaInfo
    model: str
    device: str
    times: StageTimes
    work_dir: Path
    #: records of passes 2… (multi-pass), in the order they ran; empty for a single pass
    refined: list[dict[str, Any]] = field(default_factory=list)
    #: the backbone's precision as run (fp32 | bf16)
    precision: str = "fp32"
    #: the heuristics the frames were made with (its changes from the defaults enter the store hash)
    tuning: EngineTuning = TUNING
    #: the job's artists' controls (--mask, --outside-style, --style-schedule), built once by the run
    controls: Controls | None = None
    #: what a mode adds to the report (fast mode: keyframes, training, the network)
    extra: dict[str, Any] = field(default_factory=dict)


def open_store(config: StylizeConfig, *, force: bool | None = None, tuning: EngineTuning | None = None,
               controls: Controls | None = None) -> FrameStore:
    """The frame store of a job (validates nothing else); ``force`` defaults to ``config.force``; ``tuning``: the
    heuristics its frames are made with (None: the defaults); ``controls``: the job's, when already built."""
    settings = _run_settings(config, tuning, controls)
    return FrameStore(config.store_dir(), config_hash(settings), settings,
                      force=config.force if force is None else force)


def run_frames(config: StylizeConfig, *, frame_range: tuple[int, int | None] | None = None,
               backbone: Any = None, force_store: bool | None = None, job: ResolvedJob | None = None,
               tuning: EngineTuning | None = None) -> RunState:
    """Stylise the frames of ``config`` into its frame store, resuming from what is already there.

    ``job``: the job as :func:`~videostyle.video.preflight.preflight` resolved it (its working size is used
    instead of probing the input again).

    ``frame_range=(first, stop)`` restricts the work to frames ``first <= index < stop`` (``stop=None``: to the
    end); ``first`` must begin a shot (shots are independent, so they can run in parallel into one store).
    Frames outside the range are decoded (for cut detection) but not stylised or returned.

    ``tuning``: the warm-frame and flow heuristics (:class:`~videostyle.tuning.EngineTuning`), handed to the flow
    stage and the :class:`~videostyle.style.Stylizer`; None: the defaults.
    """
    from ..style import Stylizer, load_style_image

    if config.fast.mode == "fast":  # keyframes, a network trained on them, every frame rendered (videostyle.fast)
        from ..fast import run_fast

        if frame_range is not None:
            raise UsageError("fast mode trains one network on the whole clip; it takes no frame range")
        return run_fast(config, backbone=backbone, job=job, tuning=tuning)
    times = StageTimes()
    t_start = time.perf_counter()
    tuning = TUNING if tuning is None else tuning
    controls = Controls(config, None)  # --mask, --outside-style, --style-schedule (fps set once the input is open)
    store = open_store(config, force=force_store, tuning=tuning, controls=controls)
    styles = [load_style_image(p) for p in controls.style_paths()]
    stylizer = Stylizer(styles, controls.style_config(), backbone=backbone, tuning=tuning)
    times.setup = time.perf_counter() - t_start

    video, rng = config.video, config.range
    first, stop = frame_range if frame_range is not None else (0, None)
    frames_meta: list[dict[str, Any]] = []
    shots: list[int] = []
    resume = first
    while (stop is None or resume < stop) and store.record(resume) is not None:
        resume += 1
    previous: collections.deque[np.ndarray] = collections.deque(maxlen=max(video.long_term))
    earlier_mattes: collections.deque[np.ndarray] = collections.deque(maxlen=max(video.long_term))  # --mask

    with open_source(config, job.size if job is not None else working_size(config)) as reader:
        info = reader.info
        controls.fps = float(reader.fps or media.DEFAULT_FPS)
        mattes = controls.open_mattes(reader.size, info)
        total = info.video.frames if info.video is not None else None
        if total is not None and rng.max_frames is not None:
            total = min(total, rng.max_frames)
        if total is not None and frame_range is not None:
            total = max(0, (total if stop is None else min(total, stop)) - first)
        progress = Progress(None if total is None else total * video.passes, config.quiet)
        keep_sources = video.passes > 1
        refined: list[dict[str, Any]] = []
        prefetch = Prefetcher(_prepare(reader, config, resume, times, tuning), lambda item: item, depth=4)
        try:
            for item in _timed(prefetch, times, "waiting"):
                idx = item.frame.index
                if stop is not None and idx >= stop:
                    break
                if item.shot_start:
                    previous.clear()
                    earlier_mattes.clear()
                if idx < first:
                    continue
                if idx == first and not item.shot_start:
                    raise UsageError(f"frame range starts at frame {first}, which does not begin a shot")
                if item.shot_start:
                    shots.append(idx)
                if keep_sources and store.record(idx, 0) is None:
                    store.put(idx, item.frame.image, {"source": True}, pass_no=0)
                rec = store.record(idx) if idx < resume else None
                matte = None if mattes is None else mattes.at(idx, number=item.frame.number, pts=item.frame.pts)
                if rec is not None:
                    t0 = time.perf_counter()
                    image = store.get(idx)
                    times.store += time.perf_counter() - t0
                    frames_meta.append(dict(rec, resumed=True))
                    previous.append(image)
                    if matte is not None:
                        earlier_mattes.append(matte)
                    progress.update(1)
                    continue
                result, record = _stylize_frame(stylizer, item, previous, config, times, controls=controls,
                                                matte=matte, earlier_mattes=earlier_mattes)
                t0 = time.perf_counter()
                store.put(idx, result.image, record)
                times.store += time.perf_counter() - t0
                frames_meta.append(dict(record, index=idx, resumed=False))
                previous.append(result.image)
                if matte is not None:
                    earlier_mattes.append(matte)
                progress.update(1, shot=len(shots), it=result.iterations,
                                loss=f"{result.loss.get('total', float('nan')):.3g}")
            prefetch.close()
            if keep_sources and frames_meta:
                def on_frame(record: dict[str, Any]) -> None:
                    progress.update(1, **({} if record.get("resumed") else {
                        "pass": record["pass_no"], "it": record["iterations"],
                        "loss": f"{record['loss'].get('total', float('nan')):.3g}"}))

                refined = multipass.refine(config, store, stylizer, shots, frames_meta[-1]["index"] + 1, times,
                                           on_frame, _timed, controls=controls)
        except KeyboardInterrupt:
            done = len(frames_meta) + len(refined)
            raise RunInterrupted(
                f"interrupted after {done} finished frames; they are kept in {store.root} and rerunning the same "
                "command resumes from there") from None
        finally:
            prefetch.close()
            progress.close()
            if mattes is not None:
                mattes.close()
        state = RunState(frames=frames_meta, shots=shots, size=reader.size, fps=reader.fps,
                         time_base=reader.time_base, start_pts=reader.start_pts, info=info,
                         model=stylizer.backbone_name, device=str(getattr(stylizer, "device", config.style.device)),
                         times=times, work_dir=store.root, refined=refined,
                         precision=getattr(stylizer, "precision", "fp32"), tuning=tuning, controls=controls)
    times.total = time.perf_counter() - t_start
    return state


def _stylize_frame(stylizer: Any, item: WorkItem, previous: collections.deque[np.ndarray],
                   config: StylizeConfig, times: StageTimes, *, controls: Controls | None = None,
                   matte: np.ndarray | None = None,
                   earlier_mattes: collections.deque[np.ndarray] | None = None) -> tuple[Any, dict[str, Any]]:
    """Optimise one frame: cold (content init, first-frame budget) or warm (warped init, temporal terms).

    ``controls`` and ``matte`` (this frame's, H×W in [0, 1]): the artists' controls (:mod:`.controls`);
    ``earlier_mattes``: those of the frames in ``previous`` (pixels the matte makes new are new content). The
    heuristics are the stylizer's (``stylizer.tuning``)."""
    video = config.video
    tuning = getattr(stylizer, "tuning", TUNING)
    content = item.frame.image
    cold = item.shot_start or video.temporal_weight == 0 or not item.flows
    focus = None
    options = {} if controls is None else controls.run_options(item.frame.pts, item.frame.number, matte)
    t0 = time.perf_counter()
    painted = None  # --fill cold: the cold start's result
    if cold:
        init, temporal, budget = None, [], video.first_iterations
    else:
        if controls is not None and earlier_mattes:  # entering the matte (or changing region): new content
            item = dataclasses.replace(item, flows=controls.new_content(item.flows, matte, earlier_mattes))
        init, temporal, focus, painted = _warm_start(stylizer, item, content, previous, config, tuning,
                                                     options=options)
        if controls is not None:  # a composited matte: only what lies inside it is held and painted
            temporal, focus = controls.restrict(temporal, focus, matte)
        budget = _warm_budget(video, focus, tuning)
    result = stylizer.run(content, init=init, iterations=budget, temporal=temporal,
                          seed=video.seed + item.frame.index, focus=focus, **options)
    times.optimise += time.perf_counter() - t0
    phases = list(getattr(result, "phases", []))
    effort = float(result.effort)
    if painted is not None:  # the cold start: a phase of its own, in the effort (full-size evaluations) and time
        phases.insert(0, {"part": "cold start", "iterations": int(painted.iterations),
                          "stopped_by": painted.stopped_by})
        effort += float(painted.effort) * painted.image.shape[0] * painted.image.shape[1] / float(
            content.shape[0] * content.shape[1])
    record = {
        "pts": item.frame.pts, "pts_ticks": item.frame.pts_ticks, "number": item.frame.number,
        "shot_start": item.shot_start,
        "warm": not cold, "iterations": int(result.iterations), "stopped_early": bool(result.stopped_early),
        "stopped_by": getattr(result, "stopped_by", "budget"), "phases": phases,
        "effort": round(effort, 2), "budget": budget,
        "new_share": None if focus is None else round(float((focus > tuning.focus_threshold).mean()), 4),
        "loss": {k: float(v) for k, v in result.loss.items()},
        "seconds": float(result.seconds) + (0.0 if painted is None else float(painted.seconds)),
    }
    if controls is not None and controls.schedule is not None:
        record["style_blend"] = [round(w, 4) for w in controls.weights_at(item.frame.pts, item.frame.number) or ()]
    return result, record


def finish(config: StylizeConfig, state: RunState) -> dict[str, Any]:
    """Encode the stored frames of ``state`` (with audio and timing), write the preview and the report."""
    if not state.frames:
        raise NoFramesError("no frames in the selected range", path=config.input)
    controls = state.controls if state.controls is not None else Controls(config, state.fps)
    store = open_store(config, force=False, tuning=state.tuning, controls=controls)
    times = state.times
    t0 = time.perf_counter()
    encode(config, store, state, controls)
    times.encode = time.perf_counter() - t0
    if config.preview:
        t0 = time.perf_counter()
        write_preview(config, store, state, controls)
        times.preview = time.perf_counter() - t0
    times.total += times.encode + times.preview
    report = build_report(config, state, controls)
    if config.report:
        atomic_write(Path(config.report), json.dumps(report, indent=2, default=str).encode())
    return report


def stylize(config: StylizeConfig, *, backbone: Any = None, tuning: EngineTuning | None = None) -> dict[str, Any]:
    """Stylise ``config.input`` into ``config.output``; returns (and optionally writes) the JSON report.

    Validates every input and output before work starts, then holds the work directory's lock
    (:class:`~videostyle.video.lock.WorkDirLock`: another run on it raises ``WorkDirLockedError``, or is waited for
    with ``config.wait_lock``) until the output is written. ``backbone`` injects a feature network (tests use tiny
    random ones); by default it follows ``config.style``. ``tuning``: the engine's heuristics
    (:class:`~videostyle.tuning.EngineTuning`; None: the defaults).
    """
    t0 = time.perf_counter()
    job = preflight(config)  # every check that can fail before a frame is stylised (videostyle/video/preflight.py)
    with WorkDirLock(config.store_dir(), wait=config.wait_lock):
        state = run_frames(config, backbone=backbone, job=job, tuning=tuning)
        state.times.setup += time.perf_counter() - t0 - state.times.total
        state.times.total = time.perf_counter() - t0
        return finish(config, state)


