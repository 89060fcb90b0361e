"""Where a frame still needs painting: the focus map of a warm frame, its boxes and the feathered paste-back.

A warm frame starts from the previous stylised frame warped by the flow; the pixels the flow could not carry
(disocclusions, a subject entering, unreliable motion) are the *focus*. :meth:`Stylizer.run
<videostyle.style.stylizer.Stylizer.run>` optimises the whole frame until it settles, then only crops around the
focus (:func:`focus_boxes`) until the focus settles too, and blends the result back (:func:`feathered`): all in
:func:`paint_focus`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch

from ..errors import StyleError
from ..tuning import TUNING, EngineTuning
from .images import to_numpy01


def check_map(values: np.ndarray, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Validate an H×W map of finite weights and return it as float32 clipped to [0, 1]."""
    m = np.asarray(values, dtype=np.float32)
    if m.shape != tuple(shape):
        raise StyleError(f"{name}: expected shape {tuple(shape)}, got {m.shape}")
    if not np.isfinite(m).all():
        raise StyleError(f"{name}: contains NaN or infinite values")
    return np.clip(m, 0.0, 1.0)


def has_focus(focus: np.ndarray, *, tuning: EngineTuning = TUNING) -> bool:
    """Whether ``focus`` holds enough new content to paint (``tuning.min_focus_pixels`` above
    ``tuning.focus_threshold``): what gives a warm frame its new-content phase, and ``--fill cold`` its cold start."""
    return int((focus > tuning.focus_threshold).sum()) >= tuning.min_focus_pixels


def focus_boxes(focus: np.ndarray, *, margin: int, min_side: int, tuning: EngineTuning = TUNING
                ) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` (exclusive ends) around the connected parts of ``focus > tuning.focus_threshold``.

    Each part's bounding box is grown by ``margin`` pixels of context and to at least ``min_side`` per side
    (clipped to the frame); overlapping boxes are merged. Returns ``[]`` when there is (almost) no focus (under
    ``tuning.min_focus_pixels``), and the whole frame as one box when the boxes would cover more than
    ``tuning.max_crop_share`` of it.
    """
    h, w = focus.shape
    if not has_focus(focus, tuning=tuning):
        return []
    region = (focus > tuning.focus_threshold).astype(np.uint8)
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(region, connectivity=8)
    boxes = [_grow(int(x), int(y), int(x + bw), int(y + bh), margin, min_side, w, h)
             for x, y, bw, bh, _area in stats[1:count]]
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    boxes[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) > tuning.max_crop_share * w * h:
        return [(0, 0, w, h)]
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def _grow(x0: int, y0: int, x1: int, y1: int, margin: int, min_side: int, w: int, h: int
          ) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
    for lo, hi, limit in ((0, 2, w), (1, 3, h)):
        box = [x0, y0, x1, y1]
        short = min_side - (box[hi] - box[lo])
        if short > 0:
            box[lo] -= short // 2
            box[hi] += short - short // 2
        # shift inside the frame before clipping, so a box at the border keeps its size
        if box[lo] < 0:
            box[hi] -= box[lo]
            box[lo] = 0
        if box[hi] > limit:
            box[lo] -= box[hi] - limit
            box[hi] = limit
        box[lo] = max(0, box[lo])
        x0, y0, x1, y1 = box
    return x0, y0, x1, y1


def feathered(focus: np.ndarray, *, tuning: EngineTuning = TUNING) -> np.ndarray:
    """Paste-back weights: the focus grown by ``tuning.feather_grow`` pixels and softened by a Gaussian of
    ``tuning.feather_sigma`` (float32 in [0, 1])."""
    grow, sigma, threshold = tuning.feather_grow, tuning.feather_sigma, tuning.focus_threshold
    region = (focus > threshold).astype(np.uint8)
    if grow > 0:
        region = cv2.dilate(region, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    soft = cv2.GaussianBlur(region.astype(np.float32), (0, 0), sigma)
    return np.maximum(soft, focus.astype(np.float32) * (focus > threshold)).clip(0.0, 1.0)


def paint_focus(run_level: Callable[..., Any], content01: np.ndarray, x01: np.ndarray,
                terms: Sequence[tuple[np.ndarray, np.ndarray, float]], focus01: np.ndarray, budget: int, *,
                targets: Mapping[str, torch.Tensor], level: float, tuning: EngineTuning = TUNING,
                style_targets: Mapping[str, torch.Tensor] | None = None,
                regions: Sequence[tuple[np.ndarray, Any]] | None = None
                ) -> tuple[np.ndarray, int, float, dict[str, float], list[dict[str, Any]]] | None:
    """Keep optimising only where ``focus01`` is, once the whole image has settled (a warm frame's second phase).

    The focus is split into boxes (:func:`focus_boxes`: its connected parts grown by a context margin for the
    backbone's receptive field, overlapping ones merged). In each box only the focus (feathered) is optimised
    (``free``: the rest of the box is context, held still), with the whole frame's style ``targets`` (so strokes
    keep their scale), its own content crop and the cropped temporal terms, until the focus settles
    (``tuning.focus_settle``, stricter while it lies nearer the photo than ``tuning.reach_share`` of ``level``, the
    carried pixels' mean distance from it), stops gaining (``tuning.reached_gain``, short of that
    ``tuning.short_gain``) or ``budget`` runs out. When the boxes would cover most of the frame, the whole frame is
    optimised instead. ``run_level(content, start, terms, iterations, **options)`` is the Stylizer's one
    optimisation; ``style_targets`` / ``regions``: this frame's style keywords. Returns (image, loss evaluations,
    full-frame-equivalent effort, loss terms of the final image, ``{"iterations", "stopped_by"}`` per crop) or None
    when there is no focus.
    """
    from .regions import crop_regions

    h, w = content01.shape[:2]
    boxes = focus_boxes(focus01, margin=max(tuning.min_level_side, round(max(h, w) * tuning.crop_margin)),
                        min_side=2 * tuning.min_level_side, tuning=tuning)
    if not boxes:
        return None
    out = x01.copy()
    iters, effort, crops = 0, 0.0, []
    paste = feathered(focus01, tuning=tuning)
    for x0, y0, x1, y1 in boxes:
        crop = (slice(y0, y1), slice(x0, x1))
        t_c = [(t[crop], m[crop], wt) for t, m, wt in terms]
        res = run_level(content01[crop], out[crop], t_c, budget, focus=focus01[crop],
                        style_targets=targets, regions=crop_regions(regions, crop), free=paste[crop],
                        focus_settle=tuning.focus_settle, reach=level, gain=tuning.warm_gain)
        out[crop] = to_numpy01(res.image)  # already the crop blended with its painted focus by ``free``
        iters += res.iterations
        crops.append({"iterations": res.iterations, "stopped_by": res.stopped_by})
        effort += res.iterations * (x1 - x0) * (y1 - y0) / float(h * w)
    final = run_level(content01, out, terms, 0, style_targets=style_targets,
                      regions=regions)  # the loss terms of the image returned
    return out, iters, effort, final.loss, crops
