"""Argument checks shared by the flow modules (kornia style: messages name what was received)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FlowError

#: Smallest frame side the flow backends accept (OpenCV's DIS fails or crashes below this).
MIN_SIDE = 16


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages: shape and dtype of arrays, the type otherwise."""
    if isinstance(value, np.ndarray):
        return f"shape {value.shape} dtype {value.dtype}"
    return f"{type(value).__name__}"


def check_frame(name: str, frame: Any) -> np.ndarray:
    """Return ``frame`` if it is an RGB ``uint8`` H×W×3 array of at least ``MIN_SIDE`` pixels a side."""
    if not isinstance(frame, np.ndarray):
        raise FlowError(f"{name}: expected a numpy array (H, W, 3) uint8, got {describe(frame)}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise FlowError(f"{name}: expected shape (H, W, 3), got {frame.shape}")
    if frame.dtype != np.uint8:
        raise FlowError(f"{name}: expected dtype uint8, got {frame.dtype} (shape {frame.shape})")
    if min(frame.shape[:2]) < MIN_SIDE:
        raise FlowError(f"{name}: expected at least {MIN_SIDE}x{MIN_SIDE} pixels, got shape {frame.shape}")
    return frame


def check_same_size(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise :class:`FlowError` unless ``a`` and ``b`` have the same height and width."""
    if a.shape[:2] != b.shape[:2]:
        raise FlowError(f"{name_a} and {name_b} differ in size: {a.shape} vs {b.shape}")


def check_flow(name: str, flow: Any) -> np.ndarray:
    """Return ``flow`` as float32 H×W×2 (float64 is converted); anything else raises :class:`FlowError`."""
    if not isinstance(flow, np.ndarray):
        raise FlowError(f"{name}: expected a numpy array (H, W, 2) float32, got {describe(flow)}")
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise FlowError(f"{name}: expected shape (H, W, 2), got {flow.shape}")
    if flow.dtype not in (np.float32, np.float64):
        raise FlowError(f"{name}: expected dtype float32, got {flow.dtype} (shape {flow.shape})")
    return np.ascontiguousarray(flow, dtype=np.float32)


def check_mask(name: str, mask: Any) -> np.ndarray:
    """Return ``mask`` as float32 H×W (any real dtype is converted); other shapes raise :class:`FlowError`."""
    if not isinstance(mask, np.ndarray):
        raise FlowError(f"{name}: expected a numpy array (H, W), got {describe(mask)}")
    if mask.ndim != 2:
        raise FlowError(f"{name}: expected shape (H, W), got {mask.shape}")
    if not (np.issubdtype(mask.dtype, np.number) or mask.dtype == np.bool_) or np.iscomplexobj(mask):
        raise FlowError(f"{name}: expected a real dtype, got {mask.dtype} (shape {mask.shape})")
    return mask.astype(np.float32, copy=False)
