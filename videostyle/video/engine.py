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
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .. import _schema
from .. import flow as flowlib
from .. import media
from ..config import StylizeConfig, VideoConfig, config_hash, to_dict
from ..errors import NoFramesError, RunInterrupted, UsageError
from ..tuning import TUNING, EngineTuning
from .._fs import atomic_write
from . import passes as multipass
from .controls import Controls, composite_frame, file_identity
from .preflight import ResolvedJob, output_size, preflight
from .shots import CutDetector, annotate_shots
from .store import FrameStore

T = TypeVar("T")


@dataclass
class StageTimes:
    """Seconds spent per stage. decode and flow run in the background thread, overlapping with optimise."""

    decode: float = 0.0
    shots: float = 0.0
    flow: float = 0.0
    optimise: float = 0.0
    store: float = 0.0
    waiting: float = 0.0  # main thread blocked on the background stages
    encode: float = 0.0
    preview: float = 0.0
    setup: float = 0.0
    total: float = 0.0


@dataclass
class WorkItem:
    """One decoded frame with everything the optimiser needs from the background stages."""

    frame: media.Frame
    shot_start: bool
    #: offset k -> (backward flow t→t−k, reliability mask); empty for shot starts, resumed frames, temporal off.
    flows: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


#: the path options that change the frames, identified by their files' contents rather than their paths
_IDENTIFIED_PATHS = ("input", "styles", "outside_style", "mask")


def _run_settings(config: StylizeConfig, tuning: EngineTuning | None = None) -> dict[str, Any]:
    """Everything that changes the stylised frames (the frame store's hash): every option declared
    ``effect="frames"`` (:func:`videostyle._schema.values`; the precision as resolved), the input, style and matte
    files by their contents, and a ``tuning``'s changes from the defaults."""
    from ..style.devices import result_settings  # the style's frame options, precision as resolved

    top = [o.name for o in _schema.options(type(config))
           if len(o.path) == 1 and o.spec.path and o.spec.effect == "frames"]
    if sorted(top) != sorted(_IDENTIFIED_PATHS):  # a new file option: say how its files are identified
        raise TypeError(f"frame-changing path options {top}: _run_settings identifies {list(_IDENTIFIED_PATHS)}")
    settings = _schema.values(config, "frames", paths=False)
    settings["style"] = result_settings(config.style)
    controls = Controls(config, None)
    changed = {} if tuning is None else tuning.changed()
    return {
        "input": file_identity(config.input),
        "styles": [_file_digest(p) for p in controls.style_paths()],  # with --outside-style, it comes last
        **settings,
        **controls.settings(),  # the matte's files (only with --mask)
        **({"tuning": changed} if changed else {}),
    }


def _timed(iterable: Iterable[T], times: StageTimes, stage: str) -> Iterator[T]:
    """Yield from ``iterable``, adding the time spent waiting for each item to ``times.<stage>``."""
    it = iter(iterable)
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            setattr(times, stage, getattr(times, stage) + time.perf_counter() - t0)
        yield item


def _prepare(reader: media.FrameReader, config: StylizeConfig, resume: int, times: StageTimes,
             tuning: EngineTuning = TUNING) -> Iterator[WorkItem]:
    """Decode, find cuts and compute flows; runs in the background thread."""
    video = config.video
    offsets = sorted(set(video.long_term))
    temporal_on = video.temporal_weight > 0
    estimator = flowlib.FlowEstimator(video.flow, tuning=tuning) if temporal_on else None
    detector = CutDetector(video.cut_detector, video.cut_threshold, fps=reader.fps or media.DEFAULT_FPS,
                           min_shot_frames=tuning.min_shot_frames)

    history: collections.deque[np.ndarray] = collections.deque(maxlen=max(offsets))
    for annotated in annotate_shots(_timed(reader, times, "decode"), lambda f: f.image, detector):
        frame = annotated.item
        if annotated.shot_start:
            history.clear()
        flows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if estimator is not None and annotated.index >= resume:
            t0 = time.perf_counter()
            for k in offsets:
                if k <= len(history):
                    bwd, _fwd, mask = estimator.pair(frame.image, history[-k])
                    flows[k] = (bwd, mask)
            times.flow += time.perf_counter() - t0
        history.append(frame.image)
        times.shots = detector.seconds
        yield WorkItem(frame, annotated.shot_start, flows)


def _initial_and_temporal(item: WorkItem, content: np.ndarray, previous: collections.deque[np.ndarray],
                          config: StylizeConfig, tuning: EngineTuning = TUNING
                          ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, float]]]:
    """Warped initialisation and temporal targets for a warm frame (Ruder et al., closest-first long-term masks)."""
    offsets = sorted(item.flows)
    warped = [flowlib.warp(previous[-k], item.flows[k][0], interpolation="cubic").astype(np.float32) / 255.0
              for k in offsets]
    masks = [item.flows[k][1] for k in offsets]
    held = flowlib.closest_first(masks) if len(masks) > 1 else masks
    reliable = masks[0][..., None]
    source = content.astype(np.float32) / 255.0
    fill = _fill(config.video.fill, source, warped[0], masks[0], tuning)
    init = reliable * warped[0] + (1.0 - reliable) * fill
    weight = config.video.temporal_weight
    temporal = [(w, m, weight) for w, m in zip(warped, held)]
    return init.astype(np.float32), temporal


def _fill(mode: str, source: np.ndarray, warped: np.ndarray, reliable: np.ndarray,
          tuning: EngineTuning = TUNING) -> np.ndarray:
    """What the pixels the flow cannot carry start from (H×W×3 float32 in [0, 1])."""
    if mode == "blend":
        return 0.5 * (source + warped)
    if mode == "warped":
        return warped
    if mode == "inpaint":
        return flowlib.inpaint(warped, reliable, tuning.inpaint_radius)
    if mode == "paint":  # the frame itself under its carried neighbours' paint layer (stylised − source)
        return np.clip(source + flowlib.inpaint(warped - source, reliable, tuning.inpaint_radius), 0.0, 1.0)
    if mode == "match":  # the frame in the carried painting's colours: the map of the carried pixels' colours
        carried = reliable > 0.5
        if int(carried.sum()) < tuning.min_matched:
            return source
        from ..style.color import transfer_color

        return transfer_color(source, source[carried], warped[carried])
    return source


def _warm_budget(video: VideoConfig, focus: np.ndarray, tuning: EngineTuning = TUNING) -> int:
    """A warm frame's budget grows with how much of it is new: ``iterations`` plus that share of the difference
    to ``first_iterations`` (2 % new: about ``iterations``; everything new: a first frame's budget)."""
    share = float((focus > tuning.focus_threshold).mean())
    return int(video.iterations + round(share * max(0, video.first_iterations - video.iterations)))


class _Progress:
    """tqdm on stderr (frames, s/frame, ETA, shot, loss); nothing when quiet."""

    def __init__(self, total: int | None, quiet: bool, initial: int = 0) -> None:
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="frame", file=sys.stderr, dynamic_ncols=True,
                            desc="stylise", smoothing=0.1)

    def update(self, n: int, **postfix: Any) -> None:
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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


def open_store(config: StylizeConfig, *, force: bool | None = None, tuning: EngineTuning | None = None
               ) -> FrameStore:
    """The frame store of a job (validates nothing else); ``force`` defaults to ``config.force``; ``tuning``: the
    heuristics its frames are made with (None: the defaults)."""
    settings = _run_settings(config, tuning)
    work_dir = Path(config.work_dir) if config.work_dir else config.default_work_dir()
    return FrameStore(work_dir, config_hash(settings), settings, force=config.force if force is None else force)


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

    times = StageTimes()
    t_start = time.perf_counter()
    tuning = TUNING if tuning is None else tuning
    store = open_store(config, force=force_store, tuning=tuning)
    controls = Controls(config, None)  # --mask, --outside-style, --style-schedule
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
        progress = _Progress(None if total is None else total * video.passes, config.quiet)
        keep_sources = video.passes > 1
        refined: list[dict[str, Any]] = []
        prefetch = flowlib.Prefetcher(_prepare(reader, config, resume, times, tuning), lambda item: item, depth=4)
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
                         precision=getattr(stylizer, "precision", "fp32"), tuning=tuning)
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
    if cold:
        init, temporal, budget = None, [], video.first_iterations
    else:
        if controls is not None and earlier_mattes:  # entering the matte (or changing region): new content
            item = dataclasses.replace(item, flows=controls.new_content(item.flows, matte, earlier_mattes))
        init, temporal = _initial_and_temporal(item, content, previous, config, tuning)
        focus = 1.0 - item.flows[min(item.flows)][1]
        if controls is not None:  # a composited matte: only what lies inside it is held and painted
            temporal, focus = controls.restrict(temporal, focus, matte)
        budget = _warm_budget(video, focus, tuning)
    t0 = time.perf_counter()
    options = {} if controls is None else controls.run_options(item.frame.pts, item.frame.number, matte)
    result = stylizer.run(content, init=init, iterations=budget, temporal=temporal,
                          seed=video.seed + item.frame.index, focus=focus, **options)
    times.optimise += time.perf_counter() - t0
    record = {
        "pts": item.frame.pts, "pts_ticks": item.frame.pts_ticks, "number": item.frame.number,
        "shot_start": item.shot_start,
        "warm": not cold, "iterations": int(result.iterations), "stopped_early": bool(result.stopped_early),
        "effort": round(float(result.effort), 2), "budget": budget,
        "new_share": None if focus is None else round(float((focus > tuning.focus_threshold).mean()), 4),
        "loss": {k: float(v) for k, v in result.loss.items()}, "seconds": float(result.seconds),
    }
    if controls is not None and controls.schedule is not None:
        record["style_blend"] = [round(w, 4) for w in controls.weights_at(item.frame.pts, item.frame.number) or ()]
    return result, record


def finish(config: StylizeConfig, state: RunState) -> dict[str, Any]:
    """Encode the stored frames of ``state`` (with audio and timing), write the preview and the report."""
    if not state.frames:
        raise NoFramesError("no frames in the selected range", path=config.input)
    store = open_store(config, force=False, tuning=state.tuning)
    times = state.times
    t0 = time.perf_counter()
    _encode(config, store, state)
    times.encode = time.perf_counter() - t0
    if config.preview:
        t0 = time.perf_counter()
        _write_preview(config, store, state)
        times.preview = time.perf_counter() - t0
    times.total += times.encode + times.preview
    report = _report(config, state)
    if config.report:
        atomic_write(Path(config.report), json.dumps(report, indent=2, default=str).encode())
    return report


def working_size(config: StylizeConfig) -> tuple[int, int]:
    """(w, h) of the frames the job works on: the upright source scaled so its long side is ``video.size``."""
    info = media.probe(config.input)
    assert info.video is not None
    return media.working_size(info.video.display_width, info.video.display_height, config.video.size)


def stylize(config: StylizeConfig, *, backbone: Any = None, tuning: EngineTuning | None = None) -> dict[str, Any]:
    """Stylise ``config.input`` into ``config.output``; returns (and optionally writes) the JSON report.

    Validates every input and output before work starts. ``backbone`` injects a feature network (tests use tiny
    random ones); by default it follows ``config.style``. ``tuning``: the engine's heuristics
    (:class:`~videostyle.tuning.EngineTuning`; None: the defaults).
    """
    t0 = time.perf_counter()
    job = preflight(config)  # every check that can fail before a frame is stylised (videostyle/video/preflight.py)
    state = run_frames(config, backbone=backbone, job=job, tuning=tuning)
    state.times.setup += time.perf_counter() - t0 - state.times.total
    state.times.total = time.perf_counter() - t0
    return finish(config, state)


def _audio_range(state: RunState) -> tuple[float, float]:
    frames = state.frames
    first = frames[0]["pts"] if frames[0]["pts"] is not None else (state.start_pts or 0.0)
    last = frames[-1]["pts"] if frames[-1]["pts"] is not None else first
    step = 1.0 / state.fps if state.fps else 0.0
    return float(first), float(last) + step


def _encode(config: StylizeConfig, store: FrameStore, state: RunState) -> None:
    enc = config.encode
    audio_from = config.input if enc.audio and state.info.audio else None
    span = _audio_range(state)
    size = output_size(config, state.info, state.size)
    with media.open_writer(config.output, like=state.info, size=size, codec=enc.codec, crf=enc.crf,
                           preset=enc.preset, audio_from=audio_from, audio_range=span, source_start=span[0],
                           input_colorspace=config.video.input_colorspace,
                           output_colorspace=enc.output_colorspace) as writer, \
            contextlib.ExitStack() as stack:
        # plates: the source's alpha and out-of-range residual (media.colour) go back with each stylised frame;
        # a matte (--mask): the source outside it
        controls = Controls(config, state.fps)
        mattes = stack.enter_context(controls.open_mattes(size, state.info)) if controls.composited else None
        # outside a matte, a float plate gets its own values back: the residual also holds the 8-bit rounding
        source = stack.enter_context(open_source(config, size, rounding=mattes is not None and writer.is_plate)) \
            if writer.needs_extras or mattes is not None else None
        for rec in state.frames:
            extras = media.frame_at(source, rec["index"]) if source is not None else None
            image = media.resize_image(store.get(rec["index"], config.video.passes), size)
            if mattes is not None and extras is not None:
                matte = mattes.at(rec["index"], number=rec.get("number"), pts=rec.get("pts"))
                image = composite_frame(controls, image, extras.image, matte, state.size[0])
            writer.write(image,
                         pts_ticks=rec.get("pts_ticks"),
                         pts=rec.get("pts"), number=rec.get("number"),
                         alpha=extras.alpha if extras is not None else None,
                         residual=extras.residual if extras is not None else None)


def open_source(config: StylizeConfig, size: tuple[int, int], *, rounding: bool = False) -> media.FrameReader:
    """The job's input as the frame loop sees it: its range, frame numbers and colour space, at ``size``
    (``rounding``: see :func:`~videostyle.media.open_reader`)."""
    rng = config.range
    return media.open_reader(config.input, start=rng.start, duration=rng.duration, max_frames=rng.max_frames,
                             frames=rng.frame_numbers, colorspace=config.video.input_colorspace, size=size,
                             rounding=rounding)


def _write_preview(config: StylizeConfig, store: FrameStore, state: RunState) -> None:
    """Side by side: source | stylised, at the working size, with the source's timing."""
    w, h = state.size
    wanted = {rec["index"]: rec for rec in state.frames}
    controls = Controls(config, state.fps)
    with open_source(config, state.size) as reader, contextlib.ExitStack() as stack, \
            media.open_writer(config.preview, like=state.info, size=(2 * w, h), audio_from=None) as writer:
        mattes = stack.enter_context(controls.open_mattes(state.size, state.info)) if controls.composited else None
        for frame in reader:
            rec = wanted.get(frame.index)
            if rec is None:
                continue
            result = store.get(rec["index"], config.video.passes)
            if mattes is not None:
                matte = mattes.at(frame.index, number=frame.number, pts=frame.pts)
                result = composite_frame(controls, result, frame.image, matte, w)
            side = np.concatenate([frame.image, result], axis=1)
            writer.write(side, pts_ticks=rec.get("pts_ticks"), pts=rec.get("pts"))


def _pass_summary(state: RunState) -> list[dict[str, Any]]:
    """Per pass: its direction, frames, frames computed in this run and the median iterations."""
    by_pass: dict[int, list[dict[str, Any]]] = {1: state.frames}
    for rec in state.refined:
        by_pass.setdefault(int(rec["pass_no"]), []).append(rec)
    return [{"pass": p, "direction": "forward" if multipass.direction(p) > 0 else "backward", "frames": len(recs),
             "frames_computed": sum(1 for r in recs if not r.get("resumed")),
             "iterations_median": float(np.median([r["iterations"] for r in recs])) if recs else None}
            for p, recs in sorted(by_pass.items())]


def _report(config: StylizeConfig, state: RunState) -> dict[str, Any]:
    frames = state.frames
    computed = [f for f in frames if not f.get("resumed")]
    first = [f["iterations"] for f in frames if not f.get("warm")]
    warm = [f["iterations"] for f in frames if f.get("warm")]
    stages = dataclasses.asdict(state.times)
    return {
        "input": config.input,
        "output": config.output,
        "styles": Controls(config, None).style_paths(),  # with --outside-style, it comes last
        "frames": len(frames),
        "frames_computed": len(computed),
        "frames_resumed": len(frames) - len(computed),
        "shots": state.shots,
        "model": state.model,
        "device": state.device,
        "precision": state.precision,
        "size": list(state.size),
        "fps": state.fps,
        "time_base": str(state.time_base) if state.time_base is not None else None,
        "iterations": [f["iterations"] for f in frames],
        "iterations_summary": {
            "first_frames_median": float(np.median(first)) if first else None,
            "warm_frames_median": float(np.median(warm)) if warm else None,
        },
        "passes": _pass_summary(state),
        "loss": (state.refined[-1] if state.refined else frames[-1]).get("loss", {}),
        "per_frame": frames,
        "seconds": state.times.total,
        "stages": stages,
        "work_dir": str(state.work_dir),
        "config": to_dict(config),
    }
