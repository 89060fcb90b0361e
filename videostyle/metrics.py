"""Temporal-consistency and style measures for any pair of clips (source, stylised).

Warping error (Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018): flow is computed on the
*input* frames; for each pair (t−k, t) the stylised frame t−k is warped onto t with the backward flow t→t−k and
compared with stylised frame t on the pixels M that are not occluded, by the forward–backward check of the two
flows (and that are sampled inside frame t−k)::

    E_k(t) = Σ_x M(x) · ‖V_t(x) − warp(V_{t−k})(x)‖² / (3 · Σ_x M(x))      (RGB in [0, 1])

that is, the mean over the masked pixels and the three channels of the squared difference; the clip's value
(``warping_error``) is the mean over t. Pairs that straddle a cut of the input are skipped. The same measure on
the input itself (``input_warping_error``) is the floor a perfectly stable stylisation would approach.

``warping_error_boundary_masked`` is the same mean with motion-boundary pixels left out of M as well (Ruder et
al.'s reliability mask, the one the engine's temporal loss uses: :func:`videostyle.flow.consistency_mask`). A moving
subject's edge is where a temporal chain errs most, so it reads lower; Lai et al.'s released evaluation code also
drops motion boundaries (its ``detect_occlusion``), so it is the figure to set beside numbers measured with that
code.

Moving-content stylisation (:class:`MovingStylization`): how painted the pixels that move or appear are, relative
to the rest. A pixel of frame t counts as *moving* when the flow cannot carry it from frame t−1 (the forward–backward
check rejects it: it is new, disoccluded or moves unreliably) or when it moves by more than ``MOVING_PX`` pixels
relative to the frame's dominant (camera) motion, the median backward flow; the other pixels are *static*. With
``S = mean over channels of |stylised − input|`` (RGB in [0, 1]),

    ratio = mean of S over the moving pixels of all frames / mean of S over the static pixels of all frames.

A clip stylised uniformly scores ≈ 1 (an independent per-frame stylisation scores about 1); a subject left close to
the photo inside a painted frame scores well below 1. Frames with no pair (the first of a shot) are skipped.
"""

from __future__ import annotations

import collections
import contextlib
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import flow as flowlib
from ._fs import atomic_write
from .config import DEFAULT_FLOW
from .errors import InputError


def pair_warping_error(current: np.ndarray, previous: np.ndarray, flow_bwd: np.ndarray, mask: np.ndarray) -> float:
    """The squared difference between ``current`` and ``previous`` warped by ``flow_bwd``, averaged over the RGB
    channels and the pixels of ``mask`` (weighted by it): one pair's warping error (see the module doc).

    Images are uint8 (scaled to [0, 1]) or float in [0, 1]; ``mask`` is H×W in [0, 1]. Returns NaN when the mask
    is empty.
    """
    cur = _unit(current)
    warped = _unit(flowlib.warp(previous, flow_bwd))
    weight = float(mask.sum())
    if weight <= 0:
        return float("nan")
    sq = ((cur - warped) ** 2).mean(axis=-1)
    return float((sq * mask).sum() / weight)


def _unit(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    return image.astype(np.float64)


#: motion (pixels) relative to the frame's median flow above which a reliable pixel counts as moving
MOVING_PX = 1.0


def moving_region(flow_bwd: np.ndarray, mask: np.ndarray, threshold: float = MOVING_PX) -> np.ndarray:
    """Boolean H×W: pixels the flow cannot carry (``mask`` < 0.5) or that move by more than ``threshold`` pixels
    relative to the median flow of the reliable pixels (the camera's motion)."""
    new = mask < 0.5
    carried = flow_bwd[~new] if (~new).any() else flow_bwd.reshape(-1, 2)
    dominant = np.median(carried.reshape(-1, 2), axis=0)
    return new | (np.linalg.norm(flow_bwd - dominant, axis=-1) > threshold)


def stylization_strength(stylised: np.ndarray, source: np.ndarray) -> np.ndarray:
    """H×W mean over channels of |stylised − source| (RGB in [0, 1])."""
    return np.abs(_unit(stylised) - _unit(source)).mean(axis=-1)


@dataclass
class MovingStylization:
    """Accumulates how stylised the moving/new pixels are relative to the static ones (see the module doc)."""

    moving_sum: float = 0.0
    moving_count: int = 0
    static_sum: float = 0.0
    static_count: int = 0
    per_frame: list[float] = field(default_factory=list)

    def add(self, stylised: np.ndarray, source: np.ndarray, region: np.ndarray) -> None:
        """Add one frame: its stylised and source images and its moving region (boolean H×W)."""
        strength = stylization_strength(stylised, source)
        moving, static = strength[region], strength[~region]
        self.moving_sum += float(moving.sum())
        self.moving_count += int(moving.size)
        self.static_sum += float(static.sum())
        self.static_count += int(static.size)
        self.per_frame.append(float(moving.mean() / static.mean()) if moving.size and static.size
                              and static.mean() > 0 else float("nan"))

    def skip(self) -> None:
        """A frame with no pair (first of a shot)."""
        self.per_frame.append(float("nan"))

    @property
    def ratio(self) -> float:
        if not self.moving_count or not self.static_count or self.static_sum <= 0:
            return float("nan")
        return (self.moving_sum / self.moving_count) / (self.static_sum / self.static_count)

    def to_dict(self) -> dict[str, Any]:
        total = self.moving_count + self.static_count
        return {
            "ratio": None if np.isnan(self.ratio) else self.ratio,
            "moving_share": self.moving_count / total if total else None,
            "moving_mean": self.moving_sum / self.moving_count if self.moving_count else None,
            "static_mean": self.static_sum / self.static_count if self.static_count else None,
            "per_frame": [None if np.isnan(v) else v for v in self.per_frame],
        }


@dataclass
class WarpingError:
    """Per-offset warping error of a clip: per-frame values (NaN where no pair) and their mean."""

    per_frame: dict[int, list[float]] = field(default_factory=dict)

    def mean(self, k: int) -> float:
        values = [v for v in self.per_frame.get(k, []) if not np.isnan(v)]
        return float(np.mean(values)) if values else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            str(k): {"mean": self.mean(k), "per_frame": [None if np.isnan(v) else v for v in vals]}
            for k, vals in self.per_frame.items()
        }


#: the report's warping errors: key -> (of the stylised clip, motion boundaries left out of the mask)
WARPING_ERRORS = {
    "warping_error": (True, False),
    "input_warping_error": (False, False),
    "warping_error_boundary_masked": (True, True),
    "input_warping_error_boundary_masked": (False, True),
}


def warping_errors(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray] | None, *,
                   offsets: Sequence[int] = (1,), method: str = DEFAULT_FLOW,
                   shot_starts: Sequence[int] = (),
                   moving: MovingStylization | None = None) -> dict[str, WarpingError]:
    """Warping errors of ``outputs`` (stylised) and of ``inputs`` themselves (the floor), streaming both; keyed as
    :data:`WARPING_ERRORS` (Lai et al.'s mask, and with motion boundaries left out too).

    ``inputs`` and ``outputs`` yield frames of equal size in the same order; ``outputs=None`` measures only the
    input. Frame t is paired with t−k for each k in ``offsets`` when both lie in the same shot. ``moving``, when
    given, also accumulates the moving-content stylisation (from the flows of the smallest offset).
    """
    estimator = flowlib.FlowEstimator(method)
    offsets = sorted(set(int(k) for k in offsets))
    starts = set(shot_starts)
    history_in: collections.deque[np.ndarray] = collections.deque(maxlen=max(offsets))
    history_out: collections.deque[np.ndarray] = collections.deque(maxlen=max(offsets))
    errors = {key: WarpingError({k: [] for k in offsets}) for key in WARPING_ERRORS}
    out_iter = iter(outputs) if outputs is not None else None
    for t, frame_in in enumerate(inputs):
        frame_out = None
        if out_iter is not None:
            frame_out = next(out_iter, None)
            if frame_out is None:
                raise InputError(f"the stylised clip has fewer frames than the input (ends at frame {t})")
            if frame_out.shape != frame_in.shape:
                raise InputError(f"frame {t}: stylised frame is {frame_out.shape}, input is {frame_in.shape}")
        if t in starts:
            history_in.clear()
            history_out.clear()
        for k in offsets:
            if k <= len(history_in):
                prev_in = history_in[-k]
                bwd, fwd, mask = estimator.pair(frame_in, prev_in)
                masks = {False: flowlib.consistency_mask(bwd, fwd, boundaries=False), True: mask}
                for key, (stylised, boundaries) in WARPING_ERRORS.items():
                    if stylised and frame_out is None:
                        continue
                    pair = (frame_out, history_out[-k]) if stylised else (frame_in, prev_in)
                    errors[key].per_frame[k].append(pair_warping_error(*pair, bwd, masks[boundaries]))
                if moving is not None and k == offsets[0] and frame_out is not None:
                    moving.add(frame_out, frame_in, moving_region(bwd, mask))
            else:
                for error in errors.values():
                    error.per_frame[k].append(float("nan"))
                if moving is not None and k == offsets[0] and frame_out is not None:
                    moving.skip()
        history_in.append(frame_in)
        if frame_out is not None:
            history_out.append(frame_out)
    return errors


def measure_clips(input_path: str, stylised_path: str, *, offsets: Sequence[int] = (1, 2, 4),
                  method: str = DEFAULT_FLOW, style: str | None = None, model: str | None = None,
                  every: int = 1, detect_cuts: bool = True, max_frames: int | None = None) -> dict[str, Any]:
    """Metrics of a stylised clip against its source (both decoded at the stylised clip's size).

    The stylised clip may cover part of the source (``--start``/``--duration``/``--max-frames``): a video that
    videostyle wrote records the source time of its first frame, and each stylised frame is paired with the
    source frame at its time (:func:`aligned_frames`); a frame folder (no timestamps) aligns from the first frame.
    Both clips are streamed (twice when ``style`` asks for feature distances). ``model``: the backbone of the
    feature distances, as ``stylize --model`` (None: its default, :class:`~videostyle.config.StyleConfig`'s).
    """
    from . import media
    from .video.shots import detect_shots

    info = media.probe(stylised_path)
    if info.video is None:  # pragma: no cover - probe raises first
        raise InputError("no video stream", path=stylised_path)
    size = (info.video.display_width, info.video.display_height)
    start = media.recorded_source_start(stylised_path) or None
    starts = [0]
    if detect_cuts:
        count = info.video.frames
        if max_frames is not None:
            count = max_frames if count is None else min(count, max_frames)
        starts = detect_shots(input_path, size=size, start=start, max_frames=count)
    moving = MovingStylization()
    with _pairs(input_path, stylised_path, size, start, max_frames) as pairs:
        sources, stylised = _unzip(pairs)
        errors = warping_errors(sources, stylised, offsets=offsets, method=method, shot_starts=starts,
                                moving=moving)
    report: dict[str, Any] = {
        "input": input_path,
        "stylised": stylised_path,
        "size": list(size),
        "source_start": start or 0.0,
        "frames": len(moving.per_frame),
        "flow": method,
        "shots": starts,
        **{key: error.to_dict() for key, error in errors.items()},
        "moving_stylization": moving.to_dict(),
    }
    if style is not None:
        with _pairs(input_path, stylised_path, size, start, max_frames) as pairs:
            report.update(_feature_distances(pairs, style, model, every))
    return report


def aligned_frames(source: Iterable[Any], stylised: Iterable[Any], stylised_path: str, *,
                   tolerance: float = 1e-3, timed: bool = True) -> Iterator[tuple[Any, Any]]:
    """Pair each stylised frame with the source frame at the same time (``Frame.pts``, both counted from their
    first frame; ``tolerance`` seconds), skipping source frames the stylised clip does not have. Without
    timestamps (``timed=False``: an image sequence) frames pair in order. Raises :class:`InputError` when the
    source ends first."""
    src = iter(source)
    origin_src = origin_out = None
    for frame in stylised:
        match = next(src, None)
        if timed and match is not None and frame.pts is not None and match.pts is not None:
            if origin_src is None:
                origin_src, origin_out = match.pts, frame.pts
            while match is not None and match.pts - origin_src < frame.pts - origin_out - tolerance:
                match = next(src, None)
        if match is None:
            raise InputError(f"the stylised clip has more frames than the input (its frame {frame.index} has no "
                             "source frame)", path=stylised_path)
        yield match, frame


@contextlib.contextmanager
def _pairs(input_path: str, stylised_path: str, size: tuple[int, int], start: float | None,
           max_frames: int | None) -> Iterator[Iterator[tuple[Any, Any]]]:
    """(source frame, stylised frame) pairs, streamed; the source decoded at ``size`` from ``start``."""
    from . import media

    with media.open_reader(input_path, size=size, start=start) as src, \
            media.open_reader(stylised_path, max_frames=max_frames) as out:
        if src.size != out.size:
            raise InputError(f"the input decodes at {src.size[0]}x{src.size[1]} for the stylised clip's "
                             f"{out.size[0]}x{out.size[1]}; aspect ratios differ", path=stylised_path)
        yield aligned_frames(src, out, stylised_path, tolerance=0.5 / (src.fps or media.DEFAULT_FPS),
                             timed=out.info.kind == "video")


def _unzip(pairs: Iterator[tuple[Any, Any]]) -> tuple[Iterator[np.ndarray], Iterator[np.ndarray]]:
    """Source and stylised images of a stream of pairs as two iterators consumed in lock step (the source's
    first: :func:`warping_errors` reads a source frame, then its stylised frame)."""
    pending: collections.deque[np.ndarray] = collections.deque()

    def sources() -> Iterator[np.ndarray]:
        for a, b in pairs:
            pending.append(b.image)
            yield a.image

    def stylised() -> Iterator[np.ndarray]:
        while pending:
            yield pending.popleft()

    return sources(), stylised()


def _feature_distances(pairs: Iterable[tuple[Any, Any]], style: str, model: str | None,
                       every: int) -> dict[str, Any]:
    from .config import StyleConfig
    from .style import Stylizer, content_distance, load_style_image, style_distance
    from .style.measures import grid_free_fits

    style_image = load_style_image(style)
    stylizer = Stylizer([style_image], StyleConfig(model=model))
    styles, grid_free, contents = [], [], []
    for t, (a, b) in enumerate(pairs):
        if t % max(1, every):
            continue
        styles.append(style_distance(b.image, style_image, stylizer.backbone))
        if grid_free_fits(b.image):  # too small a picture has no room to move its grid
            grid_free.append(style_distance(b.image, style_image, stylizer.backbone, grid_free=True))
        contents.append(content_distance(b.image, a.image, stylizer.backbone))
    return {
        "model": stylizer.backbone_name,
        "style_distance": {"mean": float(np.mean(styles)), "per_frame": styles},
        "style_distance_grid_free": {"mean": float(np.mean(grid_free)) if grid_free else None,
                                     "per_frame": grid_free},
        "content_distance": {"mean": float(np.mean(contents)), "per_frame": contents},
    }


def plot_warping_error(report: dict[str, Any], path: str) -> None:
    """Plot per-frame warping error (stylised and input floor) for each offset into a PNG (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from .errors import UsageError

        raise UsageError("--plot needs matplotlib (pip install 'videostyle[plot]')") from None
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
    for k, values in report["warping_error"].items():
        series = [np.nan if v is None else v for v in values["per_frame"]]
        ax.plot(series, label=f"stylised, k={k}")
        floor = [np.nan if v is None else v for v in report["input_warping_error"][k]["per_frame"]]
        ax.plot(floor, linestyle=":", label=f"input, k={k}")
    for s in report.get("shots", [])[1:]:
        ax.axvline(s, color="grey", linewidth=0.8)
    ax.set_xlabel("frame")
    ax.set_ylabel("warping error (RGB in [0,1])")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write(path, buf.getvalue())
