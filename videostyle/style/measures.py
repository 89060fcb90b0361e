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


#: the backbone's largest pooling stride (relu5_1 sits under four 2×2 poolings): the grid-free style distance crops
#: this many pixels off, at the offsets below
GRID = 16
#: (rows, columns) offsets of the crops the grid-free style distance averages over. Each moves the picture's pixel
#: grid against the backbone's pooling grid; between them they cover every residue modulo 2 and 4, and none is
#: (0, 0), the alignment an optimised picture was fitted at
GRID_OFFSETS = ((1, 3), (2, 6), (3, 9), (4, 1), (7, 12), (10, 5), (13, 14), (15, 11))


def grid_free_fits(image: np.ndarray) -> bool:
    """Whether ``image`` is large enough (3 × :data:`GRID` px a side) for the grid-free style distance's crops."""
    return min(image.shape[:2]) >= 3 * GRID


def _gram_distances(image01: np.ndarray, targets: dict[str, torch.Tensor], backbone: torch.nn.Module,
                    layers: Sequence[str]) -> float:
    f = backbone(to_tensor(image01, _device_of(backbone), _dtype_of(backbone)), layers)
    return float(np.mean([float(torch.linalg.norm(gram_matrix(f[k].double()) - targets[k])
                                / torch.linalg.norm(targets[k]).clamp_min(1e-12)) for k in layers]))


@torch.no_grad()
def style_distance(
    image: np.ndarray,
    style_image: np.ndarray,
    backbone: torch.nn.Module,
    layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
    *,
    grid_free: bool = False,
) -> float:
    """Relative Gram distance ``‖G(image) − G(style)‖ / ‖G(style)‖`` averaged over ``layers``.

    The style image is first resized so its long side equals the image's (style scale 1).

    ``grid_free``: the mean over crops at :data:`GRID_OFFSETS` (each :data:`GRID` px smaller). A picture optimised
    against this backbone fits it at its own pixel alignment: the same painting moved by one pixel measures up to
    a fifth farther from the style (``benchmarks/fast.md``), while a picture that moves with its content (a warm
    frame's carried strokes, fast mode's frames) is measured at some other alignment. The grid-free distance
    measures every picture at alignments it was not fitted at, so it compares what they look like.
    """
    a = check_image(image, "image")
    b = _resized_like(check_image(style_image, "style_image"), a)
    fb = backbone(to_tensor(b, _device_of(backbone), _dtype_of(backbone)), layers)
    targets = {k: gram_matrix(fb[k].double()) for k in layers}
    if not grid_free:
        return _gram_distances(a, targets, backbone, layers)
    h, w = a.shape[:2]
    if not grid_free_fits(a):
        raise ValueError(f"a grid-free style distance needs an image of at least {3 * GRID} px a side, got {w}x{h}")
    return float(np.mean([_gram_distances(np.ascontiguousarray(a[y:y + h - GRID, x:x + w - GRID]), targets,
                                          backbone, layers) for y, x in GRID_OFFSETS]))


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
