"""One pass over the clip before any painting: shots, keyframes and the training pairs.

Keyframes are each shot's first frame, then the first frame that lies ``keyframe_every`` frames after the last
keyframe or that the flow cannot carry from the last keyframe for more than ``keyframe_change`` of its pixels (the
forward-backward check of the pipeline's own flow, :meth:`~videostyle.flow.FlowEstimator.pair`): a camera that
turns to new ground or a subject that enters brings a keyframe early, a still shot needs few. A shot's last frame
is a keyframe too ("close") when more than ``student_close_share`` of it cannot be carried from the shot's last
keyframe: the render carries strokes from both ends of a stretch, and without a keyframe after it, content that
entered in a shot's last stretch would get the network's own picture, without strokes.

The network trains on frames sampled across the whole clip, in consecutive pairs (t−1, t) with the backward flow
t→t−1 and its reliability mask for the temporal loss. Only ``pairs`` of them are kept, spread evenly over the clip
(reservoir-sampled when the clip's length is unknown), so memory does not grow with the clip: a 10-minute clip
holds as many frames in memory as a 10-second one. Keyframes' source frames go to disk (the keyframe store).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .. import flow as flowlib
from .. import media
from ..tuning import TUNING, EngineTuning
from ..video.shots import CutDetector, annotate_shots
from .train import Pair


@dataclass
class Keyframe:
    """A frame the optimisation engine paints; ``since`` is the keyframe before it in the same shot (or None)."""

    index: int
    frame: media.Frame  # its image is dropped once stored
    shot_start: bool
    since: int | None
    reason: str  # "shot" | "every" | "change" | "close"


@dataclass
class ClipPlan:
    frames: int = 0
    shots: list[int] = field(default_factory=list)
    keyframes: list[Keyframe] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    seconds_flow: float = 0.0
    seconds_decode: float = 0.0


def pair_indices(total: int, wanted: int) -> set[int]:
    """Frame indices t (1 ≤ t < total) of ``wanted`` pairs spread evenly over a clip of ``total`` frames."""
    if total < 2 or wanted <= 0:
        return set()
    return {int(round(t)) for t in np.linspace(1, total - 1, min(wanted, total - 1))}


def scan(frames: Iterable[media.Frame], *, total: int | None, flow: str, cut_detector: str,
         cut_threshold: float | None, fps: float, keyframe_every: int, keyframe_change: float, pairs: int,
         seed: int, on_keyframe: Callable[[Keyframe], None], on_frame: Callable[[], None] | None = None,
         tuning: EngineTuning = TUNING) -> ClipPlan:
    """Decode once; return the plan. ``on_keyframe`` receives each keyframe while its image is still attached
    (the caller stores it); ``total`` (frames, when known) spreads the pairs evenly, else a seeded reservoir."""
    plan = ClipPlan()
    estimator = flowlib.FlowEstimator(flow, tuning=tuning)
    detector = CutDetector(cut_detector, cut_threshold, fps=fps, min_shot_frames=tuning.min_shot_frames)
    chosen = pair_indices(total, pairs) if total else None
    rng = np.random.default_rng(seed)
    seen_pairs = 0
    previous: np.ndarray | None = None
    last_frame: media.Frame | None = None
    key_index, key_image = -1, None

    def keep(frame: media.Frame, shot_start: bool, reason: str) -> None:
        nonlocal key_index, key_image
        key = Keyframe(frame.index, frame, shot_start, None if shot_start else key_index, reason)
        on_keyframe(key)
        key.frame = media.Frame(index=frame.index, pts=frame.pts, image=np.empty((0, 0, 3), np.uint8),
                                pts_ticks=frame.pts_ticks, time_base=frame.time_base, number=frame.number)
        plan.keyframes.append(key)
        key_index, key_image = frame.index, frame.image

    def close_shot() -> None:
        """The shot's last frame (``last_frame``) as a keyframe, where new content entered since its last one."""
        if last_frame is None or key_image is None or last_frame.index == key_index or keyframe_change >= 1.0:
            return
        t0 = time.perf_counter()
        _bwd, _fwd, mask = estimator.pair(last_frame.image, key_image)
        plan.seconds_flow += time.perf_counter() - t0
        if 1.0 - float(mask.mean()) > tuning.student_close_share:
            keep(last_frame, False, "close")
    t_decode = time.perf_counter()
    for annotated in annotate_shots(frames, lambda f: f.image, detector):
        frame, idx = annotated.item, annotated.index
        plan.seconds_decode += time.perf_counter() - t_decode
        plan.frames = idx + 1
        reason = None
        if annotated.shot_start:
            close_shot()
            plan.shots.append(idx)
            previous, reason = None, "shot"
        elif idx - key_index >= keyframe_every:
            reason = "every"
        elif keyframe_change < 1.0 and key_image is not None:
            t0 = time.perf_counter()
            _bwd, _fwd, mask = estimator.pair(frame.image, key_image)
            plan.seconds_flow += time.perf_counter() - t0
            if 1.0 - float(mask.mean()) > keyframe_change:
                reason = "change"
        if reason is not None:
            keep(frame, annotated.shot_start, reason)
        if previous is not None:
            if chosen is not None:
                slot = len(plan.pairs) if idx in chosen else None
            else:  # reservoir sampling (Algorithm R) over the pairs seen so far
                seen_pairs += 1
                slot = len(plan.pairs) if len(plan.pairs) < pairs else int(rng.integers(seen_pairs))
                slot = slot if slot < pairs else None
            if slot is not None:
                t0 = time.perf_counter()
                bwd, _fwd, mask = estimator.pair(frame.image, previous)
                plan.seconds_flow += time.perf_counter() - t0
                pair = Pair(idx, previous, frame.image, bwd, mask.astype(np.float16))
                if slot == len(plan.pairs):
                    plan.pairs.append(pair)
                else:
                    plan.pairs[slot] = pair
        previous, last_frame = frame.image, frame
        if on_frame is not None:
            on_frame()
        t_decode = time.perf_counter()
    close_shot()
    plan.pairs.sort(key=lambda p: p.index)
    return plan
