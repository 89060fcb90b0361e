"""What the frame loop's background thread prepares: decoded frames, cuts, flows and reliability masks
(:func:`prepare`), the per-stage clock (:class:`StageTimes`) and the work items it hands over (:class:`WorkItem`)."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from .. import flow as flowlib
from .. import media
from ..config import StylizeConfig
from ..tuning import TUNING, EngineTuning
from .shots import CutDetector, annotate_shots

T = TypeVar("T")


@dataclass
class StageTimes:
    """Seconds spent per stage (the report's ``stages``). decode, shots and flow run in the background thread,
    overlapping with optimise."""

    decode: float = 0.0
    """reading and decoding the source's frames (background)"""
    shots: float = 0.0
    """finding the cuts (background)"""
    flow: float = 0.0
    """optical flow and reliability masks (background)"""
    optimise: float = 0.0
    """the frames' optimisation"""
    store: float = 0.0
    """reading and writing the frame store"""
    waiting: float = 0.0
    """the main thread blocked on the background stages"""
    encode: float = 0.0
    """encoding the result from the store"""
    preview: float = 0.0
    """writing the side-by-side preview"""
    setup: float = 0.0
    """checks, style images, the backbone and the store before the first frame"""
    keyframes: float = 0.0
    """fast mode (:mod:`videostyle.fast`): painting the keyframes"""
    train: float = 0.0
    """fast mode: training the network"""
    render: float = 0.0
    """fast mode: rendering every frame"""
    total: float = 0.0
    """the whole run, wall time"""


@dataclass
class WorkItem:
    """One decoded frame with everything the optimiser needs from the background stages."""

    frame: media.Frame
    shot_start: bool
    #: offset k -> (backward flow t→t−k, reliability mask); empty for shot starts, resumed frames, temporal off.
    flows: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def timed(iterable: Iterable[T], times: StageTimes, stage: str) -> Iterator[T]:
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


def prepare(reader: media.FrameReader, config: StylizeConfig, resume: int, times: StageTimes,
             tuning: EngineTuning = TUNING) -> Iterator[WorkItem]:
    """Decode, find cuts and compute flows; runs in the background thread."""
    video = config.video
    offsets = sorted(set(video.long_term))
    temporal_on = video.temporal_weight > 0
    estimator = flowlib.FlowEstimator(video.flow, tuning=tuning) if temporal_on else None
    detector = CutDetector(video.cut_detector, video.cut_threshold, fps=reader.fps or media.DEFAULT_FPS,
                           min_shot_frames=tuning.min_shot_frames)

    history: collections.deque[np.ndarray] = collections.deque(maxlen=max(offsets))
    for annotated in annotate_shots(timed(reader, times, "decode"), lambda f: f.image, detector):
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


