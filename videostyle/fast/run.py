"""Fast mode's way through a clip: plan, keyframes, training, render — each stage resumable from the frame store.

1. :func:`~videostyle.fast.plan.scan` decodes the clip once at the working size: shots, keyframes (their source
   frames go to the keyframe store) and the training pairs with their flow.
2. The optimisation engine paints the keyframes, chained: each keyframe after a shot's first starts from the
   previous keyframe's painting warped by the flow between them and is held to it where the flow is reliable
   (the engine's own warm-frame path), so that keyframes agree with each other.
3. :class:`~videostyle.fast.train.Trainer` trains the student, checkpointing into the work directory.
4. Every frame is streamed through the network in batches into the frame store, and the keyframes' brush strokes
   are carried onto the frames between them along the flow (:mod:`~videostyle.fast.render`,
   :mod:`~videostyle.fast.carry`); :func:`~videostyle.video.finish` encodes like any run (audio, timing, frame
   numbers, colour spaces, mattes, preview, report).

Work directory (besides the frame store's own files): ``keyframes/`` (a frame store of the keyframes: sources as
pass 0, paintings as pass 1) and ``fast/student.ckpt`` (weights, optimiser and training state).
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import flow as flowlib
from .. import media
from ..config import StylizeConfig, to_dict
from ..errors import RunInterrupted
from ..tuning import TUNING, EngineTuning
from ..video.controls import Controls
from ..video.engine import (
    RunState,
    StageTimes,
    WorkItem,
    _stylize_frame,
    open_source,
    open_store,
    working_size,
)
from ..video.preflight import ResolvedJob
from ..video.progress import Progress
from ..video.store import FrameStore
from .net import StudentNet
from .netfile import load_net, save_net, style_identity
from .plan import ClipPlan, Keyframe, scan
from .render import frame_total, render_clip
from .train import KeyframeData, Trainer, describe


def _pairs_for(size: tuple[int, int], tuning: EngineTuning) -> int:
    w, h = size
    per_pair = w * h * (3 + 3 + 8 + 2)  # two frames, the flow, the mask (float16)
    return max(2, min(tuning.student_pairs, tuning.student_pair_bytes // per_pair))


def _paint_keyframes(config: StylizeConfig, plan: ClipPlan, keys: FrameStore, stylizer: Any, controls: Controls,
                     mattes: Any, times: StageTimes) -> list[KeyframeData]:
    """The keyframes' paintings (from the store, or painted now by the engine, chained within each shot)."""
    estimator = flowlib.FlowEstimator(config.video.flow, tuning=stylizer.tuning)
    painted: dict[int, np.ndarray] = {}
    out: list[KeyframeData] = []
    todo = sum(1 for k in plan.keyframes if keys.record(k.index) is None)
    progress = Progress(len(plan.keyframes), config.quiet, initial=len(plan.keyframes) - todo, desc="keyframes")
    try:
        for key in plan.keyframes:
            source = keys.get(key.index, 0)
            if keys.record(key.index) is None:
                _paint_one(config, key, source, keys, painted, stylizer, controls, mattes, estimator, times)
                progress.update(1, it=keys.record(key.index)["iterations"])
            painted[key.index] = keys.get(key.index)
            out.append(KeyframeData(key.index, source, painted[key.index]))
    finally:
        progress.close()
    return out


def _paint_one(config: StylizeConfig, key: Keyframe, source: np.ndarray, keys: FrameStore,
               painted: dict[int, np.ndarray], stylizer: Any, controls: Controls, mattes: Any,
               estimator: flowlib.FlowEstimator, times: StageTimes) -> None:
    frame = media.Frame(index=key.index, pts=key.frame.pts, image=source, pts_ticks=key.frame.pts_ticks,
                        number=key.frame.number)
    matte = None if mattes is None else mattes.at(key.index, number=key.frame.number, pts=key.frame.pts)
    previous: collections.deque[np.ndarray] = collections.deque(maxlen=1)
    earlier: collections.deque[np.ndarray] = collections.deque(maxlen=1)
    flows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if key.since is not None and config.video.temporal_weight > 0:
        t0 = time.perf_counter()
        bwd, _fwd, mask = estimator.pair(source, keys.get(key.since, 0))
        times.flow += time.perf_counter() - t0
        flows = {1: (bwd, mask)}
        previous.append(painted[key.since])
        if mattes is not None:
            earlier.append(mattes.at(key.since))
    item = WorkItem(frame, key.since is None, flows)
    result, record = _stylize_frame(stylizer, item, previous, config, times, controls=controls, matte=matte,
                                    earlier_mattes=earlier if mattes is not None else None)
    keys.put(key.index, result.image, dict(record, reason=key.reason, since=key.since))


def fast_settings(config: StylizeConfig) -> dict[str, Any]:
    """Fast mode's settings in the frame store's hash (``--save-net`` only writes a copy of the network; ``--net``
    by its file's contents)."""
    from ..video.engine import _file_digest

    settings = {k: v for k, v in to_dict(config.fast).items() if k not in ("save_net", "net")}
    settings["net"] = _file_digest(config.fast.net) if config.fast.net else None
    return settings


def _trained_for(config: StylizeConfig) -> dict[str, Any]:
    """What the network was trained for (saved with it by --save-net)."""
    import importlib.metadata

    try:
        version = importlib.metadata.version("videostyle")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
        version = None
    return {"styles": style_identity(list(config.styles)), "size": config.video.size,
            "style_weight": config.style.style_weight, "content_weight": config.style.content_weight,
            "temporal_weight": config.video.temporal_weight, "videostyle": version, "torch": str(torch.__version__)}


def run_fast(config: StylizeConfig, *, backbone: Any = None, job: ResolvedJob | None = None,
             tuning: EngineTuning | None = None) -> RunState:
    """Fast mode's frame loop: every frame of ``config`` rendered into its frame store (resuming what is there).
    ``tuning``: the engine's heuristics, for the keyframes and the flow (None: the defaults)."""
    from ..style import Stylizer, load_style_image
    from ..style.devices import resolve_device, resolve_precision

    fast, video = config.fast, config.video
    times = StageTimes()
    t_start = time.perf_counter()
    tuning = TUNING if tuning is None else tuning
    controls = Controls(config, None)
    store = open_store(config, tuning=tuning, controls=controls)
    size = job.size if job is not None else working_size(config)
    torch.manual_seed(video.seed)
    trained_for: dict[str, Any] = {}
    paintings: dict[int, np.ndarray] = {}
    stylizer = None
    if fast.net:
        net, trained_for = load_net(fast.net, styles=list(config.styles))
        device = resolve_device(config.style.device)
        model = str(trained_for.get("backbone", "none"))
    else:
        styles = [load_style_image(p) for p in controls.style_paths()]
        stylizer = Stylizer(styles, controls.style_config(), backbone=backbone, tuning=tuning)
        device, model = stylizer.device, stylizer.backbone_name
        net = StudentNet(fast.net_width, tuning.student_blocks)
    precision = resolve_precision(config.style.precision, device)
    net = net.to(device)
    times.setup = time.perf_counter() - t_start
    keys_store = FrameStore(store.root / "keyframes", store.config_hash)
    extra: dict[str, Any] = {"mode": "fast"}
    with open_source(config, size) as reader:
        info = reader.info
        controls.fps = float(reader.fps or media.DEFAULT_FPS)
        total = frame_total(reader, config)
        mattes = controls.open_mattes(reader.size, info)
        try:
            if stylizer is not None:
                state_train, paintings = _train(config, reader, total, store, keys_store, stylizer, controls,
                                                mattes, net, times, extra)
                trained_for = dict(_trained_for(config), backbone=model, **state_train)
                if fast.save_net:
                    save_net(fast.save_net, net, trained_for)
        except KeyboardInterrupt:
            raise RunInterrupted(f"interrupted; the keyframes and the network's checkpoint are kept in {store.root} "
                                 "and rerunning the same command resumes from there") from None
        finally:
            if mattes is not None:
                mattes.close()
    shots, frames_meta = render_clip(config, size, store, net, device, precision, times, extra, tuning,
                                     paintings=paintings)
    extra["net"] = {"architecture": net.architecture(), "parameters": sum(p.numel() for p in net.parameters()),
                    "from": fast.net, "saved_to": fast.save_net, "trained_for": trained_for}
    times.total = time.perf_counter() - t_start
    return RunState(frames=frames_meta, shots=shots, size=size, fps=reader.fps, time_base=reader.time_base,
                    start_pts=reader.start_pts, info=info, model=model, device=str(device), times=times,
                    work_dir=store.root, precision=precision, tuning=tuning, controls=controls, extra=extra)


def _train(config: StylizeConfig, reader: media.FrameReader, total: int | None, store: FrameStore,
           keys_store: FrameStore, stylizer: Any, controls: Controls, mattes: Any, net: StudentNet,
           times: StageTimes, extra: dict[str, Any]) -> tuple[dict[str, Any], dict[int, np.ndarray]]:
    """Scan, paint the keyframes, train; (what the network was trained on, the keyframes' paintings by index)."""
    fast, video = config.fast, config.video
    ckpt = store.root / "fast" / "student.ckpt"

    def keep(key: Keyframe) -> None:
        if keys_store.record(key.index, 0) is None:
            keys_store.put(key.index, key.frame.image, {"pts": key.frame.pts}, pass_no=0)

    t0 = time.perf_counter()
    scan_bar = Progress(total, config.quiet, desc="scan")
    plan = scan(reader, total=total, flow=video.flow, cut_detector=video.cut_detector,
                cut_threshold=video.cut_threshold, fps=controls.fps or media.DEFAULT_FPS,
                keyframe_every=fast.keyframe_every, keyframe_change=fast.keyframe_change,
                pairs=_pairs_for(reader.size, stylizer.tuning)
                if video.temporal_weight > 0 or config.style.style_weight > 0 else 0,
                seed=video.seed, on_keyframe=keep, on_frame=lambda: scan_bar.update(1), tuning=stylizer.tuning)
    scan_bar.close()
    times.decode += plan.seconds_decode
    times.flow += plan.seconds_flow
    times.shots = time.perf_counter() - t0 - plan.seconds_decode - plan.seconds_flow
    t0 = time.perf_counter()
    keyframes = _paint_keyframes(config, plan, keys_store, stylizer, controls, mattes, times)
    times.keyframes = time.perf_counter() - t0
    style = stylizer.config
    trainer = Trainer(net, keyframes, plan.pairs, features=_features(stylizer),
                      style_targets=stylizer.style_targets, style_layers=stylizer.style_layers,
                      content_layers=stylizer.content_layers, style_layer_weights=stylizer.style_layer_weights,
                      style_weight=style.style_weight, content_weight=style.content_weight,
                      temporal_weight=video.temporal_weight, device=stylizer.device, seed=video.seed,
                      steps=fast.train_steps, seconds=fast.train_seconds, tuning=stylizer.tuning)
    t0 = time.perf_counter()
    bar = Progress(fast.train_steps, config.quiet, desc="train", unit="step")
    resumed = trainer.load(ckpt) if ckpt.exists() else False
    bar.update(trainer.state.step)
    state = trainer.run(ckpt, on_step=lambda v: bar.update(1, loss=f"{v['total']:.3g}"))
    bar.close()
    times.train = time.perf_counter() - t0
    extra["keyframes"] = [dict(index=k.index, reason=k.reason, since=k.since,
                               iterations=keys_store.record(k.index)["iterations"]) for k in plan.keyframes]
    extra["training"] = dict(describe(state), resumed=resumed, pairs=len(plan.pairs))
    summary = {"keyframes": len(plan.keyframes), "steps": state.step, "clip": Path(config.input).name}
    return summary, {k.index: k.painted for k in keyframes}


def _features(stylizer: Any) -> Any:
    """The stylizer's backbone as ``features(x, layers)`` with float32 activations (under its autocast)."""
    def features(x: torch.Tensor, layers: Any) -> dict[str, torch.Tensor]:
        with torch.autocast(stylizer.device.type, dtype=torch.bfloat16, enabled=stylizer.amp):
            feats = stylizer.backbone(x, layers)
        return {k: v.float() for k, v in feats.items()}

    return features
