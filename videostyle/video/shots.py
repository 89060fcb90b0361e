"""Shot (cut) detection on streamed frames with PySceneDetect.

The stylisation chain restarts at every cut: a frame that begins a shot is never initialised from, or held to,
the previous shot's result. Detectors see frames one at a time and may report a cut a few frames late (flash
filtering, adaptive windows), so :func:`annotate_shots` holds back ``lag`` frames before releasing each one with
its final ``shot_start`` flag.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import cv2
import numpy as np
from scenedetect import FrameTimecode
from scenedetect.detectors import AdaptiveDetector, ContentDetector

from ..errors import UsageError
from ..media.probe import DEFAULT_FPS
from ..tuning import TUNING

T = TypeVar("T")


class CutDetector:
    """Feeds RGB frames to a PySceneDetect detector and returns the indices of frames that begin a new shot."""

    def __init__(self, kind: str = "content", threshold: float | None = None, fps: float = DEFAULT_FPS,
                 min_shot_frames: int = TUNING.min_shot_frames) -> None:
        self.kind = kind
        self.fps = float(fps) if fps and fps > 0 else float(DEFAULT_FPS)
        if kind == "content":
            kw = {} if threshold is None else {"threshold": threshold}
            self._detector: ContentDetector | AdaptiveDetector | None = ContentDetector(
                min_scene_len=min_shot_frames, **kw)
        elif kind == "adaptive":
            kw = {} if threshold is None else {"adaptive_threshold": threshold}
            self._detector = AdaptiveDetector(min_scene_len=min_shot_frames, **kw)
        elif kind == "none":
            self._detector = None
        else:
            raise UsageError(f"unknown cut detector {kind!r}: expected content, adaptive or none")
        self._last = -1
        self.seconds = 0.0  # time spent detecting

    @property
    def lag(self) -> int:
        """How many frames after a cut the detector may take to report it."""
        return 0 if self._detector is None else int(self._detector.event_buffer_length) + 1

    def push(self, index: int, rgb: np.ndarray) -> list[int]:
        """Process frame ``index`` (sequential); returns cut positions found so far (may be earlier frames)."""
        self._last = index
        if self._detector is None:
            return []
        t0 = time.perf_counter()
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        cuts = self._detector.process_frame(FrameTimecode(index, fps=self.fps), bgr)
        self.seconds += time.perf_counter() - t0
        return [int(c.frame_num) for c in cuts]

    def finish(self) -> list[int]:
        """Cuts that can only be reported at the end of the stream."""
        if self._detector is None or self._last < 0:
            return []
        return [int(c.frame_num) for c in self._detector.post_process(FrameTimecode(self._last, fps=self.fps))]


@dataclass
class Annotated(Generic[T]):
    item: T
    index: int
    shot_start: bool


def annotate_shots(items: Iterable[T], images: Callable[[T], np.ndarray], detector: CutDetector) -> Iterator[Annotated[T]]:
    """Yield ``items`` in order, each flagged ``shot_start`` when it begins a shot (the first item always does).

    ``images(item)`` returns the RGB frame of an item. Memory is bounded by ``detector.lag`` items.
    """
    pending: collections.deque[Annotated[T]] = collections.deque()
    for index, item in enumerate(items):
        pending.append(Annotated(item, index, index == 0))
        for cut in detector.push(index, images(item)):
            _mark(pending, cut)
        while len(pending) > detector.lag:
            yield pending.popleft()
    for cut in detector.finish():
        _mark(pending, cut)
    yield from pending


def _mark(pending: collections.deque[Annotated[T]], cut: int) -> None:
    for entry in pending:
        if entry.index == cut:
            entry.shot_start = True
            return
    # A cut reported after its frame was released would break the chain silently: lag is chosen so it cannot.
    raise RuntimeError(f"cut at frame {cut} reported after the frame was released")


def detect_shots(path: str, *, kind: str = "content", threshold: float | None = None,
                 size: int | tuple[int, int] | None = 256, start: float | None = None, duration: float | None = None,
                 max_frames: int | None = None, frames: tuple[int, int] | None = None,
                 colorspace: str | None = None) -> list[int]:
    """Indices of the first frame of every shot of a clip (streams the whole clip once); ``frames`` and
    ``colorspace`` select and convert a plate sequence as the engine does."""
    from ..media import open_reader, probe, working_size

    dims = size if isinstance(size, tuple) else None
    if isinstance(size, int):
        video = probe(path).video
        assert video is not None
        dims = working_size(video.display_width, video.display_height, size)
    with open_reader(path, start=start, duration=duration, max_frames=max_frames, size=dims, frames=frames,
                     colorspace=colorspace) as reader:
        detector = CutDetector(kind, threshold, fps=reader.fps or DEFAULT_FPS)
        return [a.index for a in annotate_shots(reader, lambda f: f.image, detector) if a.shot_start]
