"""Optical-flow backends (OpenCV) and the per-pair estimator used by the video engine."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from ..config import DEFAULT_FLOW, FLOW_METHODS
from ..errors import FlowError
from ._checks import check_frame, check_same_size
from ..tuning import TUNING, EngineTuning
from ._warp import consistency_mask

_DIS_PRESETS = {
    "dis-ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "dis-fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "dis-medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}

#: Farneback parameters: pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags.
#: Five pyramid levels reach motions of tens of pixels at 720p; winsize 15 keeps motion boundaries fairly sharp.
_FARNEBACK_ARGS = (0.5, 5, 15, 3, 5, 1.2, 0)

# One OpenCV flow object per thread and method: DIS objects keep internal buffers and are not thread-safe, and
# reusing them avoids re-allocating those buffers (about 20 % faster for dis-medium at 720p than one per call).
_local = threading.local()

def contrib_available() -> bool:
    """Whether OpenCV's contrib module ``cv2.optflow`` (TV-L1, DeepFlow) is installed."""
    return hasattr(cv2, "optflow")

def _make_engine(method: str) -> Any:
    """Create the OpenCV flow object for ``method`` (``None`` for Farneback, which is a plain function)."""
    if method in _DIS_PRESETS:
        dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[method])
        dis.setUseSpatialPropagation(True)  # the presets' default; it is what keeps DIS flow coherent
        return dis
    if method == "farneback":
        return None
    if method in ("tvl1", "deepflow"):
        if not contrib_available():
            raise FlowError(
                f"flow method {method!r} needs opencv-contrib (cv2.optflow), which is not installed; "
                f"use one of dis-ultrafast, dis-fast, dis-medium, farneback"
            )
        optflow = cv2.optflow
        if method == "tvl1":
            factory = getattr(optflow, "DualTVL1OpticalFlow_create", None) or optflow.createOptFlow_DualTVL1
            return factory()
        return optflow.createOptFlow_DeepFlow()
    raise FlowError(f"unknown flow method {method!r}: expected one of {', '.join(FLOW_METHODS)}")

def _engine(method: str) -> Any:
    """The calling thread's flow object for ``method`` (created on first use)."""
    cache: dict[str, Any] | None = getattr(_local, "engines", None)
    if cache is None:
        cache = _local.engines = {}
    if method not in cache:
        cache[method] = _make_engine(method)
    return cache[method]

def check_method(method: str) -> str:
    """Return ``method`` if it names a flow backend usable here, else raise :class:`FlowError`.

    Cheap; lets callers reject e.g. ``tvl1`` without opencv-contrib before any decoding starts.
    """
    _engine(method)
    return method

def to_gray(frame: np.ndarray) -> np.ndarray:
    """RGB uint8 H×W×3 → gray uint8 H×W (contiguous, as the OpenCV backends want)."""
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)

def flow_gray(src: np.ndarray, dst: np.ndarray, method: str, *, min_side: int = TUNING.min_flow_side) -> np.ndarray:
    """Flow between two gray uint8 images of equal size, such that src(x) ≈ dst(x + flow(x)); images with a long
    side under ``min_side`` are measured upscaled by the smallest whole factor reaching it (DIS's 8-pixel patches
    cover too much of a small frame: :attr:`EngineTuning.min_flow_side <videostyle.tuning.EngineTuning>`)."""
    h, w = src.shape[:2]
    factor = -(-min_side // max(h, w))  # ceil
    if factor > 1:
        up = [cv2.resize(img, (w * factor, h * factor), interpolation=cv2.INTER_CUBIC) for img in (src, dst)]
        flow = _flow_gray(up[0], up[1], method)
        return np.ascontiguousarray(cv2.resize(flow, (w, h), interpolation=cv2.INTER_AREA) / factor,
                                    dtype=np.float32)
    return _flow_gray(src, dst, method)


def _flow_gray(src: np.ndarray, dst: np.ndarray, method: str) -> np.ndarray:
    engine = _engine(method)
    try:
        if engine is None:
            flow = cv2.calcOpticalFlowFarneback(src, dst, None, *_FARNEBACK_ARGS)
        else:
            flow = engine.calc(src, dst, None)
    except cv2.error as err:
        detail = str(err).strip().splitlines()[-1]
        raise FlowError(f"{method} flow failed on frames of shape {src.shape}: {detail}") from err
    return np.ascontiguousarray(flow, dtype=np.float32)

def compute_flow(src: np.ndarray, dst: np.ndarray, method: str = DEFAULT_FLOW) -> np.ndarray:
    """Dense optical flow from ``src`` to ``dst`` at their own resolution.

    Args:
        src, dst: RGB ``uint8`` frames of the same size, H×W×3 (converted to gray here), at least 16×16.
        method: one of :data:`videostyle.config.FLOW_METHODS`; ``tvl1``/``deepflow`` need opencv-contrib.

    Returns:
        ``float32`` H×W×2 in pixels (``[..., 0]`` horizontal, ``[..., 1]`` vertical) such that
        ``src(x) ≈ dst(x + flow(x))``. The backward flow of frame t is ``compute_flow(frame_t, frame_prev)``; it
        is what :func:`warp` needs to bring ``frame_prev`` (or its stylisation) onto frame t.

    Raises:
        FlowError: frames that are not RGB uint8 H×W×3, differ in size, are too small, or an unknown/unavailable
            method.
    """
    check_frame("src", src)
    check_frame("dst", dst)
    check_same_size("src", src, "dst", dst)
    check_method(method)
    return flow_gray(to_gray(src), to_gray(dst), method)

def configure_threads(threads: int | None) -> int:
    """Set OpenCV's worker-thread count (process-wide) and return the previous value; ``None`` changes nothing."""
    previous = cv2.getNumThreads()
    if threads is not None:
        if threads < 0:
            raise FlowError(f"invalid OpenCV thread count {threads!r}: must be >= 0")
        cv2.setNumThreads(int(threads))
    return previous

class FlowEstimator:
    """Flows and the reliability mask for consecutive (or long-term) frame pairs.

    ``pair`` computes the backward flow t→prev, the forward flow prev→t and their consistency mask, converting
    each frame to gray once. It is safe to call from several threads (each thread gets its own OpenCV object).

    Threads: OpenCV parallelises DIS internally; by default the estimator sets OpenCV to **one** thread
    (``cv2.setNumThreads(1)``, process-wide) because it is meant to run in a :class:`~videostyle._prefetch.Prefetcher` thread beside
    the torch optimiser, which should have the cores. At working sizes (≤ 720p) one thread already computes
    flows much faster than the optimiser consumes them (see ``benchmarks/flow.md``). Pass ``threads=None`` to
    leave OpenCV's setting alone, or ``threads=0``/``n`` to choose (0 = OpenCV runs sequentially).
    """

    def __init__(self, method: str = DEFAULT_FLOW, *, threads: int | None = 1, tuning: EngineTuning | None = None
                 ) -> None:
        self.method = check_method(method)
        #: the flow heuristics (:class:`~videostyle.tuning.EngineTuning`): upscaling small frames, mask thresholds
        self.tuning = TUNING if tuning is None else tuning
        configure_threads(threads)

    def flow(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """:func:`compute_flow` with this estimator's method."""
        return compute_flow(src, dst, self.method)

    def pair(self, frame_t: np.ndarray, frame_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(flow_bwd, flow_fwd, mask)`` for warping ``frame_prev`` onto ``frame_t``.

        ``flow_bwd`` = t→prev (``compute_flow(frame_t, frame_prev)``), ``flow_fwd`` = prev→t, and ``mask`` =
        ``consistency_mask(flow_bwd, flow_fwd)``: float32 H×W, 1 where ``warp(prev_image, flow_bwd)`` can
        be trusted. ``frame_prev`` may be any earlier frame (long-term pairs t−k).
        """
        check_frame("frame_t", frame_t)
        check_frame("frame_prev", frame_prev)
        check_same_size("frame_t", frame_t, "frame_prev", frame_prev)
        gray_t, gray_prev = to_gray(frame_t), to_gray(frame_prev)
        side = self.tuning.min_flow_side
        flow_bwd = flow_gray(gray_t, gray_prev, self.method, min_side=side)
        flow_fwd = flow_gray(gray_prev, gray_t, self.method, min_side=side)
        return flow_bwd, flow_fwd, consistency_mask(flow_bwd, flow_fwd, tuning=self.tuning)

    def __repr__(self) -> str:
        return f"FlowEstimator(method={self.method!r})"
