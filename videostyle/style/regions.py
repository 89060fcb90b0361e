"""Style regions: the style term of a frame split by masks, each region held to its own style targets by its
guided Gram matrices (Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017).

A matte (``--mask``) is one region: only the matte's statistics are compared with the style, so the rest of the
frame neither pulls on the style term nor dilutes it. Region styles are two: the matte with one style, its
complement with another. Each region's relative guided Gram loss is weighted by its share of the frame
(``Σm² / HW``), which gives its pixels the pull a whole-frame style term gives every pixel: a region is painted as
strongly as a whole frame would be, whatever its size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ..errors import StyleError
from ..tuning import TUNING
from .focus import check_map
from .losses import guided_style_loss, layer_guides

#: (mask H×W in [0, 1], blend weights over the Stylizer's styles or None for its default blend)
RegionSpec = tuple[np.ndarray, Sequence[float] | None]
#: (mask H×W in [0, 1] at the optimised size, that region's Gram targets)
Region = tuple[np.ndarray, Mapping[str, torch.Tensor]]


def check_regions(regions: Sequence[RegionSpec] | None, hw: tuple[int, int]) -> list[RegionSpec] | None:
    """``regions`` with each mask checked (shape ``hw``, finite) and clipped to [0, 1]; None for None."""
    if regions is None:
        return None
    out = []
    for i, item in enumerate(regions):
        try:
            mask, weights = item
        except (TypeError, ValueError):
            raise StyleError(f"regions[{i}]: expected (mask, blend weights or None)") from None
        out.append((check_map(mask, f"regions[{i}] mask", hw), None if weights is None else tuple(weights)))
    if not out:
        raise StyleError("regions: at least one region is needed (None: the whole frame)")
    return out


def crop_regions(regions: Sequence[Region] | None, crop: tuple[slice, slice]) -> list[Region] | None:
    """The regions of a crop of the frame (the targets are the whole frame's, so strokes keep their scale)."""
    return None if regions is None else [(mask[crop], targets) for mask, targets in regions]


class RegionalStyle:
    """The style term of ``regions``: each region's guided Grams against its own targets, weighted by its share of
    the frame. ``min_positions``: see :func:`~videostyle.style.losses.layer_guides`."""

    def __init__(self, regions: Sequence[Region], device: torch.device, *,
                 min_positions: float = TUNING.min_guided_positions) -> None:
        self._items = []
        self._min_positions = min_positions
        for mask, targets in regions:
            m = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None].to(device)
            share = float(m.pow(2).mean())
            if share > 0 and targets:
                norms = {k: v.pow(2).sum() for k, v in targets.items()}
                self._items.append((m, share, targets, norms))
        self._guides: list[dict] = []

    def loss(self, feats: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float]) -> torch.Tensor:
        """Σ over regions of share × the relative guided Gram loss against the region's targets."""
        if not self._guides:  # the masks at each layer's size, made on the first evaluation
            for m, _share, targets, _norms in self._items:
                sizes = {k: tuple(feats[k].shape[-2:]) for k in targets}
                self._guides.append(layer_guides(m, sizes, self._min_positions))
        total = next(iter(feats.values())).new_zeros(())
        for (_m, share, targets, norms), guides in zip(self._items, self._guides):
            if not guides:
                continue  # the region reaches no layer with enough positions to hold statistics
            total = total + share * guided_style_loss(feats, targets, guides, layer_weights, norms)
        return total
