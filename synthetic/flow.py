"""Synthetic frame pairs with known flow and occlusion, for tests and benchmarks of the flow stage.

The background is a photo texture moved by a similarity transform (translation, rotation and zoom about the
frame centre); an opaque textured box moves across it by an integer shift. Both frames are rendered from a larger
texture, so no content enters at the borders except where the motion really brings it in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Occluder:
    """An opaque box of ``size`` (w, h) with top-left ``origin`` (x, y) in frame t−1, moved by ``shift`` (dx, dy)."""

    origin: tuple[int, int] = (70, 60)
    size: tuple[int, int] = (72, 56)
    shift: tuple[int, int] = (12, 4)


@dataclass(frozen=True)
class SyntheticPair:
    """Two frames and their ground truth (all on the H×W grid)."""

    frame_prev: np.ndarray  # uint8 H×W×3, frame t−1
    frame_t: np.ndarray  # uint8 H×W×3, frame t
    flow_bwd: np.ndarray  # float32 H×W×2, true flow t → t−1 (frame_t(x) = frame_prev(x + flow_bwd(x)))
    flow_fwd: np.ndarray  # float32 H×W×2, true flow t−1 → t
    visible: np.ndarray  # bool H×W: pixels of frame t whose point is visible in frame t−1, inside the frame
    disoccluded: np.ndarray  # bool H×W: pixels of frame t whose point was hidden by the occluder in frame t−1


def _motion_matrix(size: tuple[int, int], translate: tuple[float, float], rotate_deg: float, zoom: float) -> np.ndarray:
    """3×3 matrix A of the background motion: a point p of frame t−1 is at A·p in frame t."""
    w, h = size
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    a = math.radians(rotate_deg)
    lin = zoom * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    offset = np.array([cx, cy]) - lin @ np.array([cx, cy]) + np.array(translate)
    mat = np.eye(3)
    mat[:2, :2], mat[:2, 2] = lin, offset
    return mat


def _apply(mat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Flow ``mat·x − x`` on the grid of ``size`` (w, h), float32 H×W×2."""
    w, h = size
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    px = mat[0, 0] * xs + mat[0, 1] * ys + mat[0, 2]
    py = mat[1, 0] * xs + mat[1, 1] * ys + mat[1, 2]
    return np.stack([px - xs, py - ys], axis=-1).astype(np.float32)


def _cover(texture: np.ndarray, w: int, h: int) -> np.ndarray:
    """``texture`` scaled (keeping aspect) and centre-cropped to exactly h×w."""
    th, tw = texture.shape[:2]
    scale = max(w / tw, h / th)
    nw, nh = max(w, round(tw * scale)), max(h, round(th * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    big = cv2.resize(texture, (nw, nh), interpolation=interp)
    x0, y0 = (nw - w) // 2, (nh - h) // 2
    return np.ascontiguousarray(big[y0 : y0 + h, x0 : x0 + w])


def _box(origin: tuple[int, int], size: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    (x, y), (bw, bh) = origin, size
    mask[y : y + bh, x : x + bw] = True
    return mask


def _inside(flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    xs = flow[..., 0] + np.arange(w)[None, :]
    ys = flow[..., 1] + np.arange(h)[:, None]
    return (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)


def _lands_in(flow: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Whether x + flow(x) falls inside ``box`` (nearest pixel)."""
    h, w = flow.shape[:2]
    xs = np.clip(np.rint(flow[..., 0] + np.arange(w)[None, :]), 0, w - 1).astype(int)
    ys = np.clip(np.rint(flow[..., 1] + np.arange(h)[:, None]), 0, h - 1).astype(int)
    return box[ys, xs] & _inside(flow)


def synthetic_pair(
    texture: np.ndarray,
    size: tuple[int, int] = (256, 192),
    *,
    translate: tuple[float, float] = (3.5, -2.0),
    rotate_deg: float = 2.0,
    zoom: float = 1.02,
    occluder: Occluder | None = Occluder(),
    occluder_texture: np.ndarray | None = None,
    margin: int = 32,
) -> SyntheticPair:
    """Render frames t−1 and t of ``size`` (w, h) from an RGB uint8 ``texture`` with exact ground truth.

    The background content moves by ``translate`` (pixels), ``rotate_deg`` and ``zoom`` about the frame centre.
    ``occluder`` (or ``None``) is an opaque box filled from ``occluder_texture`` (default: ``texture`` flipped),
    drawn at its origin in frame t−1 and at origin + shift in frame t; it must stay inside both frames.
    """
    w, h = size
    motion = _motion_matrix(size, translate, rotate_deg, zoom)
    world = _cover(texture, w + 2 * margin, h + 2 * margin)
    # frame_prev(x) = world(x + margin); frame_t(q) = frame_prev(A⁻¹q)  →  world(A⁻¹q + margin)
    shift_in = np.array([[1, 0, margin], [0, 1, margin], [0, 0, 1]], dtype=np.float64)
    inverse = np.linalg.inv(motion)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    frame_prev = cv2.warpAffine(world, shift_in[:2], (w, h), flags=flags)
    frame_t = cv2.warpAffine(world, (shift_in @ inverse)[:2], (w, h), flags=flags)
    flow_bwd = _apply(inverse, size)
    flow_fwd = _apply(motion, size)

    visible = _inside(flow_bwd)
    disoccluded = np.zeros((h, w), dtype=bool)
    if occluder is not None:
        (x0, y0), (bw, bh), (dx, dy) = occluder.origin, occluder.size, occluder.shift
        for x, y in ((x0, y0), (x0 + dx, y0 + dy)):
            if x < 0 or y < 0 or x + bw > w or y + bh > h:
                raise ValueError(f"occluder box at {(x, y)} size {(bw, bh)} leaves the {w}x{h} frame")
        source = occluder_texture if occluder_texture is not None else texture[::-1, ::-1]
        patch = _cover(source, bw, bh)
        frame_prev[y0 : y0 + bh, x0 : x0 + bw] = patch
        frame_t[y0 + dy : y0 + dy + bh, x0 + dx : x0 + dx + bw] = patch
        box_prev = _box((x0, y0), (bw, bh), (h, w))
        box_t = _box((x0 + dx, y0 + dy), (bw, bh), (h, w))
        hidden_before = _lands_in(flow_bwd, box_prev) & ~box_t
        flow_bwd[box_t] = (-dx, -dy)
        flow_fwd[box_prev] = (dx, dy)
        disoccluded = hidden_before
        visible = (visible & ~hidden_before) | box_t
    return SyntheticPair(frame_prev, frame_t, flow_bwd, flow_fwd, visible, disoccluded)


def endpoint_error(flow: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> float:
    """Mean end-point error (pixels) of ``flow`` against ``truth`` over the boolean mask ``valid``."""
    err = np.linalg.norm(flow.astype(np.float64) - truth, axis=-1)
    return float(err[valid].mean())


def interior(shape: tuple[int, ...], border: int) -> np.ndarray:
    """Boolean H×W that is False within ``border`` pixels of the frame edge."""
    mask = np.zeros(shape[:2], dtype=bool)
    mask[border:-border, border:-border] = True
    return mask


def psnr(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float:
    """PSNR (dB, peak 255) between two uint8 images over the boolean H×W mask ``valid``."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff[valid] ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)
