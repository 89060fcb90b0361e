"""Fast mode's render: every frame through the student in batches, the keyframes' strokes carried onto it.

With keyframes (a trained run, ``--carry`` on), the clip is rendered segment by segment: a segment runs from a
keyframe to the frame before the next one (or to the shot's end), its frames go through the network, the flow
between consecutive frames is computed and :func:`~videostyle.fast.carry.carry_segment` adds the strokes of the
keyframes at both ends. A segment is held in memory (at most ``--keyframe-every`` frames at the working size, with
their flows). Without keyframes (``--net``, or ``--no-carry``) frames stream through the network in batches.

Frames already in the frame store are kept: a segment with a missing frame is computed again whole (the same
frames come out: the network and the flow are deterministic) and only its missing frames are written.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .. import flow as flowlib
from .. import media
from ..config import StylizeConfig
from ..errors import RunInterrupted
from ..tuning import EngineTuning
from ..video.engine import StageTimes, open_source
from ..video.progress import Progress
from ..video.store import FrameStore
from .carry import carry_segment, detail_of
from .net import StudentNet
from .train import render

#: frames per batch through the network when rendering (speed only)
RENDER_BATCH = 8


def frame_total(reader: media.FrameReader, config: StylizeConfig) -> int | None:
    """Frames the run will read (None: unknown)."""
    info = reader.info
    total = info.video.frames if info.video is not None else None
    if total is not None and config.range.max_frames is not None:
        total = min(total, config.range.max_frames)
    return total


def frame_record(frame: media.Frame, shot_start: bool, **extra: Any) -> dict[str, Any]:
    """A rendered frame's record in the frame store (the fields the optimisation engine's records have)."""
    return {"pts": frame.pts, "pts_ticks": frame.pts_ticks, "number": frame.number, "shot_start": shot_start,
            "warm": False, "iterations": 0, "loss": {}, **extra}


class _Segments:
    """Collects frames into segments and renders each into the store."""

    def __init__(self, net: StudentNet, device: torch.device, store: FrameStore, paintings: Mapping[int, np.ndarray],
                 estimator: flowlib.FlowEstimator | None, tuning: EngineTuning, bar: Progress, *, amp: bool,
                 channels_last: bool) -> None:
        self.net, self.device, self.store, self.paintings = net, device, store, paintings
        self.estimator, self.tuning, self.bar = estimator, tuning, bar
        self.amp, self.channels_last = amp, channels_last
        self.frames: list[tuple[media.Frame, bool]] = []
        self.first: np.ndarray | None = None  # the painting of the segment's first frame (a keyframe)
        self.records: list[dict[str, Any]] = []
        self.rendered = 0
        self.seconds_net = 0.0
        self.seconds_carry = 0.0

    def add(self, frame: media.Frame, shot_start: bool) -> None:
        painting = self.paintings.get(frame.index) if self.estimator is not None else None
        if painting is not None or shot_start:  # a segment ends here
            self.flush(closing=(frame, painting) if painting is not None and not shot_start else None)
            self.first = painting
        self.frames.append((frame, shot_start))
        if self.estimator is None and len(self.frames) == RENDER_BATCH:
            self.flush()

    def _students(self, images: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        t0 = time.perf_counter()
        for i in range(0, len(images), RENDER_BATCH):
            out.extend(render(self.net, images[i:i + RENDER_BATCH], self.device, amp=self.amp,
                              channels_last=self.channels_last))
        self.seconds_net += time.perf_counter() - t0
        return out

    def flush(self, closing: tuple[media.Frame, np.ndarray] | None = None) -> None:
        """Render the collected frames (``closing``: the next keyframe and its painting, which ends the segment)."""
        frames, self.frames = self.frames, []
        if not frames:
            return
        done = [self.store.record(f.index) for f, _ in frames]
        if all(rec is not None for rec in done):
            self.records.extend(dict(rec, resumed=True) for rec in done if rec is not None)
            self.bar.update(len(frames))
            return
        t0 = time.perf_counter()
        images = [f.image for f, _ in frames] + ([closing[0].image] if closing is not None else [])
        students = self._students(images)
        outs = students
        if self.first is not None and self.estimator is not None:
            t1 = time.perf_counter()
            flows = [self.estimator.pair(images[t], images[t - 1]) for t in range(1, len(images))]
            last = detail_of(closing[1], students[-1]) if closing is not None else None
            outs = carry_segment(students, flows, detail_of(self.first, students[0]), last, tuning=self.tuning)
            self.seconds_carry += time.perf_counter() - t1
        per = (time.perf_counter() - t0) / len(frames)
        for (frame, start), image, rec in zip(frames, outs, done):
            if rec is None:
                rec = frame_record(frame, start, seconds=per)
                self.store.put(frame.index, image, rec)
                self.records.append(dict(rec, index=frame.index, resumed=False))
                self.rendered += 1
            else:
                self.records.append(dict(rec, resumed=True))
        self.bar.update(len(frames))


def render_clip(config: StylizeConfig, size: tuple[int, int], store: FrameStore, net: StudentNet,
                device: torch.device, precision: str, times: StageTimes, extra: dict[str, Any],
                tuning: EngineTuning, paintings: Mapping[int, np.ndarray] | None = None
                ) -> tuple[list[int], list[dict[str, Any]]]:
    """Every frame into the store (frames already there are kept); (shots, records). ``paintings``: the
    keyframes' paintings by frame index, whose strokes are carried (None or empty: the network alone)."""
    from ..video.shots import CutDetector, annotate_shots

    video = config.video
    channels_last = device.type == "cuda"
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    net.eval()
    carry = bool(paintings) and config.fast.carry
    estimator = flowlib.FlowEstimator(video.flow, tuning=tuning) if carry else None
    shots: list[int] = []
    t0 = time.perf_counter()
    with open_source(config, size) as reader:
        detector = CutDetector(video.cut_detector, video.cut_threshold, fps=reader.fps or media.DEFAULT_FPS,
                               min_shot_frames=tuning.min_shot_frames)
        bar = Progress(frame_total(reader, config), config.quiet, desc="render")
        segments = _Segments(net, device, store, paintings or {}, estimator, tuning, bar,
                             amp=precision == "bf16", channels_last=channels_last)
        try:
            for annotated in annotate_shots(reader, lambda f: f.image, detector):
                if annotated.shot_start:
                    shots.append(annotated.item.index)
                segments.add(annotated.item, annotated.shot_start)
            segments.flush()
        except KeyboardInterrupt:
            raise RunInterrupted(f"interrupted after {len(segments.records)} rendered frames; they are kept in "
                                 f"{store.root} and rerunning the same command resumes from there") from None
        finally:
            bar.close()
    times.render = time.perf_counter() - t0
    n, t_net = segments.rendered, segments.seconds_net
    extra["render"] = {"frames": n, "carried": carry, "network_seconds": round(t_net, 3),
                       "network_fps": round(n / t_net, 2) if t_net > 0 else None,
                       "carry_seconds": round(segments.seconds_carry, 3),
                       "fps": round(n / times.render, 2) if times.render > 0 and n else None}
    return shots, segments.records
