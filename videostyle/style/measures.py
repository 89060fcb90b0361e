"""Feature-space measures of a result, used by tests and metrics (not by the optimisation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .images import check_image, resize01, to_tensor
from .losses import gram_matrix

DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DEFAULT_CONTENT_LAYER = "relu4_2"


def _device_of(backbone: torch.nn.Module) -> torch.device:
    p = next(iter(backbone.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _dtype_of(backbone: torch.nn.Module) -> torch.dtype:
    p = next(iter(backbone.parameters()), None)
    return p.dtype if p is not None else torch.float32


def _resized_like(image01: np.ndarray, ref01: np.ndarray) -> np.ndarray:
    """``image01`` resized so its long side equals ``ref01``'s (aspect kept)."""
    h, w = image01.shape[:2]
    long_ref = max(ref01.shape[:2])
    scale = long_ref / max(h, w)
    return resize01(image01, (max(1, round(w * scale)), max(1, round(h * scale))))


@torch.no_grad()
def style_distance(
    image: np.ndarray,
    style_image: np.ndarray,
    backbone: torch.nn.Module,
    layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
) -> float:
    """Relative Gram distance ``‖G(image) − G(style)‖ / ‖G(style)‖`` averaged over ``layers``.

    The style image is first resized so its long side equals the image's (style scale 1).
    """
    a = check_image(image, "image")
    b = _resized_like(check_image(style_image, "style_image"), a)
    dev, dt = _device_of(backbone), _dtype_of(backbone)
    fa = backbone(to_tensor(a, dev, dt), layers)
    fb = backbone(to_tensor(b, dev, dt), layers)
    ds = []
    for k in layers:
        ga, gb = gram_matrix(fa[k].double()), gram_matrix(fb[k].double())
        ds.append(float(torch.linalg.norm(ga - gb) / torch.linalg.norm(gb).clamp_min(1e-12)))
    return float(np.mean(ds))


@torch.no_grad()
def content_distance(
    image: np.ndarray,
    content: np.ndarray,
    backbone: torch.nn.Module,
    layer: str = DEFAULT_CONTENT_LAYER,
) -> float:
    """Relative feature distance ``‖F(image) − F(content)‖ / ‖F(content)‖`` at ``layer``.

    ``content`` is resized to the image's size when they differ.
    """
    a = check_image(image, "image")
    b = check_image(content, "content")
    if b.shape[:2] != a.shape[:2]:
        b = resize01(b, (a.shape[1], a.shape[0]))
    dev, dt = _device_of(backbone), _dtype_of(backbone)
    fa = backbone(to_tensor(a, dev, dt), [layer])[layer].double()
    fb = backbone(to_tensor(b, dev, dt), [layer])[layer].double()
    return float(torch.linalg.norm(fa - fb) / torch.linalg.norm(fb).clamp_min(1e-12))
