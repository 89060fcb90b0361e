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
    """The style term of ``regions``; ``paint`` (a warm frame's new content, H×W) adds each region's guided Grams
    of its new content alone, ``paint_share`` of that region's term (as the whole-frame term does)."""

    def __init__(self, regions: Sequence[Region], device: torch.device, *, paint: np.ndarray | None = None,
                 paint_share: float = 0.0) -> None:
        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None].to(device)

        new = None if paint is None or float(np.max(paint, initial=0.0)) <= 0 else tensor(paint)
        self.paint_share = paint_share if new is not None else 0.0
        self._items = []
        for mask, targets in regions:
            m = tensor(mask)
            share = float(m.pow(2).mean())
            if share > 0 and targets:
                norms = {k: v.pow(2).sum() for k, v in targets.items()}
                self._items.append((m, share, targets, norms, None if new is None else m * new))
        self._guides: list[tuple[dict, dict]] = []

    def loss(self, feats: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float]) -> torch.Tensor:
        """Σ over regions of share × the relative guided Gram loss against the region's targets."""
        if not self._guides:  # the masks at each layer's size, made on the first evaluation
            for m, _share, targets, _norms, new in self._items:
                sizes = {k: tuple(feats[k].shape[-2:]) for k in targets}
                self._guides.append((layer_guides(m, sizes), {} if new is None else layer_guides(new, sizes)))
        total = next(iter(feats.values())).new_zeros(())
        for (_m, share, targets, norms, _new), (guides, new_guides) in zip(self._items, self._guides):
            if not guides:
                continue  # the region reaches no layer with enough positions to hold statistics
            s = guided_style_loss(feats, targets, guides, layer_weights, norms)
            if new_guides and self.paint_share > 0:
                s = (1.0 - self.paint_share) * s + self.paint_share * guided_style_loss(
                    feats, targets, new_guides, layer_weights, norms)
            total = total + share * s
        return total
