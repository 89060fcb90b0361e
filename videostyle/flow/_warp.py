"""Warping by a flow field, the forward-backward consistency mask and closest-first long-term masks."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from ..errors import FlowError
from ..tuning import TUNING, EngineTuning
from ._checks import check_flow, check_mask, describe

#: ``border`` names accepted by :func:`warp` and the OpenCV border modes they map to.
BORDERS = {
    "replicate": cv2.BORDER_REPLICATE,  # samples outside the image take the nearest edge pixel
    "constant": cv2.BORDER_CONSTANT,  # samples outside the image are 0 (bilinear: fades to 0 over one pixel)
    "reflect": cv2.BORDER_REFLECT_101,  # mirrored about the edge pixel (…cb|abc|ba…)
}

#: Image dtypes ``cv2.remap`` interpolates natively (and :func:`warp` accepts).
WARP_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


INTERPOLATIONS = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def _sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute sampling coordinates ``grid + flow`` as the two float32 maps ``cv2.remap`` takes."""
    h, w = flow.shape[:2]
    map_x = flow[..., 0] + np.arange(w, dtype=np.float32)[None, :]
    map_y = flow[..., 1] + np.arange(h, dtype=np.float32)[:, None]
    return map_x, map_y


def warp(image: np.ndarray, flow: np.ndarray, border: str = "replicate", interpolation: str = "linear") -> np.ndarray:
    """Sample ``image`` at ``x + flow(x)`` (``cv2.remap``, bilinear or bicubic).

    With the backward flow of frame t (``compute_flow(frame_t, frame_prev)``), ``warp(prev, flow)`` brings
    ``prev`` (a frame or its stylisation) onto frame t's pixel grid.

    Args:
        image: H×W or H×W×C (any C) of dtype uint8, uint16, int16, float32 or float64; same H×W as ``flow``.
        flow: float32 H×W×2 in pixels.
        border: what samples outside ``image`` see — ``"replicate"`` (default: the nearest edge pixel),
            ``"constant"`` (zeros; bilinear samples within one pixel outside blend towards 0) or ``"reflect"``
            (mirrored, OpenCV's BORDER_REFLECT_101). Whatever the border, such pixels are marked unreliable by
            :func:`consistency_mask`.
        interpolation: ``"linear"`` (default) or ``"cubic"``. A bilinear sample at a fractional position is a
            low-pass filter; carried from frame to frame along a chain of warps (the video engine does exactly
            that with stylised frames) the blur accumulates and eats the brush-stroke texture. Bicubic keeps it.

    Returns:
        An array of ``image``'s shape and dtype. Integer images are rounded (saturated). OpenCV resolves sample
        positions to 1/32 pixel.
    """
    flow = check_flow("flow", flow)
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        got = image.shape if isinstance(image, np.ndarray) else describe(image)
        raise FlowError(f"image: expected shape (H, W) or (H, W, C), got {got}")
    if image.shape[:2] != flow.shape[:2]:
        raise FlowError(f"image and flow differ in size: {image.shape} vs {flow.shape}")
    if image.dtype not in WARP_DTYPES:
        names = ", ".join(np.dtype(d).name for d in WARP_DTYPES)
        raise FlowError(f"image: expected dtype one of {names}, got {image.dtype} (shape {image.shape})")
    if border not in BORDERS:
        raise FlowError(f"invalid border {border!r}: expected one of {', '.join(BORDERS)}")
    if interpolation not in INTERPOLATIONS:
        raise FlowError(f"invalid interpolation {interpolation!r}: expected one of {', '.join(INTERPOLATIONS)}")
    map_x, map_y = _sample_maps(flow)
    out = cv2.remap(
        np.ascontiguousarray(image), map_x, map_y, INTERPOLATIONS[interpolation], borderMode=BORDERS[border],
        borderValue=0,
    )
    return out.reshape(image.shape)  # cv2 drops a trailing channel axis of size 1


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """Boolean H×W: whether ``x + flow(x)`` falls inside the image (pixel centres 0 … W−1, 0 … H−1)."""
    h, w = flow.shape[:2]
    map_x, map_y = _sample_maps(flow)
    return (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)


def consistency_mask(flow_bwd: np.ndarray, flow_fwd: np.ndarray, *, boundaries: bool = True,
                     tuning: EngineTuning = TUNING) -> np.ndarray:
    """Reliability of warping frame t−1 onto frame t with ``flow_bwd``, after Sundaram et al. / Ruder et al.

    With ŵ = ``flow_bwd`` (t→t−1) and w̃ = ``flow_fwd`` (t−1→t) sampled at x + ŵ(x) (``warp(flow_fwd, flow_bwd)``)
    a pixel is 0 (unreliable) where

    * it is occluded: \\|w̃ + ŵ\\|² > 0.01 (\\|w̃\\|² + \\|ŵ\\|²) + 0.5 (the two flows disagree),
    * it is on a motion boundary: \\|∇û\\|² + \\|∇v̂\\|² > 0.01 \\|ŵ\\|² + 0.002 (central differences of the
      backward flow's components); only with ``boundaries`` (the default; ``False`` gives the occlusion-only mask
      of the forward-backward check, which the warping error of :mod:`videostyle.metrics` uses), or
    * x + ŵ(x) falls outside the frame,

    and 1 elsewhere (the thresholds: ``tuning``'s ``occlusion_*`` and ``boundary_*``, Sundaram et al.'s).

    Returns:
        float32 H×W in [0, 1].
    """
    flow_bwd = check_flow("flow_bwd", flow_bwd)
    flow_fwd = check_flow("flow_fwd", flow_fwd)
    if flow_bwd.shape != flow_fwd.shape:
        raise FlowError(f"flow_bwd and flow_fwd differ in shape: {flow_bwd.shape} vs {flow_fwd.shape}")
    u, v = cv2.split(flow_bwd)  # ŵ = (û, v̂)
    fu, fv = cv2.split(warp(flow_fwd, flow_bwd, border="replicate"))  # w̃
    bwd_sq = u * u + v * v
    su, sv = fu + u, fv + v
    occluded = su * su + sv * sv > tuning.occlusion_rel * (fu * fu + fv * fv + bwd_sq) + tuning.occlusion_abs

    inside = inside_mask(flow_bwd)
    reliable = inside & ~occluded
    if boundaries:
        du_dy, du_dx = np.gradient(u)
        dv_dy, dv_dx = np.gradient(v)
        reliable &= ~(du_dx * du_dx + du_dy * du_dy + dv_dx * dv_dx + dv_dy * dv_dy
                      > tuning.boundary_rel * bwd_sq + tuning.boundary_abs)
    return reliable.astype(np.float32)


def closest_first(masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Long-term masks that give each pixel to the nearest earlier frame in which it is visible.

    ``masks[i]`` is the reliability mask of the pair (t, t−k_i), ordered nearest frame first. Returns
    ``mask_i * prod_{j<i} (1 − mask_j)`` for each i (inputs clipped to [0, 1]), float32 H×W; for binary masks
    every pixel is held by at most one frame, and the outputs sum to at most 1 per pixel.
    """
    checked = [check_mask(f"masks[{i}]", m) for i, m in enumerate(masks)]
    if checked and any(m.shape != checked[0].shape for m in checked):
        raise FlowError(f"masks differ in shape: {[m.shape for m in checked]}")
    out: list[np.ndarray] = []
    remaining: np.ndarray | None = None
    for mask in checked:
        mask = np.clip(mask, 0.0, 1.0)
        out.append(mask if remaining is None else mask * remaining)
        remaining = 1.0 - mask if remaining is None else remaining * (1.0 - mask)
    return [np.clip(m, 0.0, 1.0).astype(np.float32, copy=False) for m in out]


def inpaint(image: np.ndarray, reliable: np.ndarray, radius: float = TUNING.inpaint_radius) -> np.ndarray:
    """Fill the unreliable pixels (``reliable`` < 0.5) of ``image`` from their reliable surroundings (OpenCV
    inpainting). ``image`` is H×W×C uint8 (Telea's method on 8-bit colour) or float (each channel in float32 with
    the Navier-Stokes method, so signed values such as a paint layer survive: OpenCV's Telea overshoots on float
    input); returns the same dtype."""
    holes = (np.asarray(reliable) < 0.5).astype(np.uint8)
    if not holes.any() or holes.all():
        return image.copy()
    if image.dtype == np.uint8:
        return cv2.inpaint(np.ascontiguousarray(image), holes, radius, cv2.INPAINT_TELEA)
    channels = [cv2.inpaint(np.ascontiguousarray(image[..., c], dtype=np.float32), holes, radius, cv2.INPAINT_NS)
                for c in range(image.shape[-1])]
    return np.stack(channels, axis=-1).astype(image.dtype, copy=False)
