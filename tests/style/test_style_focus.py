"""Effort where the new content is (videostyle/style/focus.py): focus boxes, the feathered paste-back and crop
painting; the stopping rules themselves are tested in test_style_optimize.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videostyle.config import StyleConfig
from videostyle.style import Stylizer
from videostyle.style.backbones import tiny_backbone
from videostyle.style.focus import feathered, focus_boxes


def test_focus_boxes_grow_merge_and_fall_back_to_the_frame():
    focus = np.zeros((96, 128), np.float32)
    assert focus_boxes(focus, margin=8, min_side=16) == []
    focus[40:50, 60:70] = 1.0
    [box] = focus_boxes(focus, margin=8, min_side=32)
    x0, y0, x1, y1 = box
    assert (x0, y0) == (60 - 8 - 3, 40 - 8 - 3) and x1 - x0 == 32 and y1 - y0 == 32  # margin, then min_side
    focus[44:48, 72:76] = 1.0  # a second part inside the first box's margin: merged
    assert len(focus_boxes(focus, margin=8, min_side=16)) == 1
    corner = np.zeros((96, 128), np.float32)
    corner[:5, :5] = 1.0
    [(cx0, cy0, cx1, cy1)] = focus_boxes(corner, margin=4, min_side=32)
    assert (cx0, cy0) == (0, 0) and cx1 == 32 and cy1 == 32  # kept its size at the border
    wide = np.zeros((96, 128), np.float32)
    wide[10:80, 5:120] = 1.0
    assert focus_boxes(wide, margin=8, min_side=16) == [(0, 0, 128, 96)]  # over EngineTuning.max_crop_share: the whole frame


def test_feathered_covers_the_focus_and_fades_out():
    focus = np.zeros((40, 40), np.float32)
    focus[15:25, 15:25] = 1.0
    a = feathered(focus)
    assert np.all(a[15:25, 15:25] == 1.0)
    assert a[0, 0] == 0.0 and 0.0 < a[13, 20] < 1.0


def _stripes(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([np.sin(xx / 2.0), np.cos(yy / 3.0), np.sin((xx + yy) / 4.0)], -1) * 0.5 + 0.5


def test_run_with_a_focus_paints_the_focus_and_keeps_the_rest():
    """A warm frame whose only unsettled part is a square: the whole frame is optimised until the rest has
    settled, then the square on a crop of its own with the rest of the budget; the rest of the frame, held by the
    temporal term, stays where it was, and the effort counts the crop by its area."""
    torch.manual_seed(0)
    content = (np.random.default_rng(1).random((64, 96, 3)) * 255).astype(np.uint8)
    stylizer = Stylizer([(_stripes(48, 48) * 255).astype(np.uint8)],
                        StyleConfig(change_tolerance=1.0, tolerance=0.0), backbone=tiny_backbone(seed=0))
    warm = stylizer.run(content, iterations=30, seed=0).image.astype(np.float32) / 255.0
    init = warm.copy()
    init[20:36, 30:46] = content[20:36, 30:46] / 255.0  # new content: the photo
    mask = np.ones((64, 96), np.float32)
    mask[20:36, 30:46] = 0.0
    temporal = [(warm, mask, 200.0)]
    plain = stylizer.run(content, init=init, iterations=200, temporal=temporal, seed=0)
    levels = []
    run_level = stylizer._run_level

    def spy(content01, start01, terms, iterations, **kw):
        result = run_level(content01, start01, terms, iterations, **kw)
        levels.append((content01.shape[:2], iterations, result.iterations, kw.get("focus_only", False)))
        return result

    stylizer._run_level = spy
    painted = stylizer.run(content, init=init, iterations=200, temporal=temporal, seed=0, focus=1.0 - mask)
    (whole, _, first_phase, focus_only), (crop, left, crop_iterations, _), (final, _, evaluated, _) = levels
    assert whole == (64, 96) and focus_only  # phase 1: the whole frame until the carried pixels settle
    assert first_phase < plain.iterations    # ... which is sooner than the square's own settling
    assert 16 + 2 * 16 <= crop[0] < 64 and crop[1] < 96 and left == 200 - first_phase  # phase 2: a crop
    assert final == (64, 96) and evaluated == 0  # the loss of the pasted result, no optimisation
    assert painted.iterations == first_phase + crop_iterations
    assert painted.effort == pytest.approx(first_phase + crop_iterations * crop[0] * crop[1] / (64 * 96))
    outside = mask.astype(bool)
    held = {name: float(np.abs(r.image / 255.0 - warm)[outside].mean() * 255) for name, r in
            (("plain", plain), ("painted", painted))}
    assert held["painted"] < 3.0 and held["painted"] <= held["plain"] + 0.5, held  # the rest stays put


def test_focus_shape_is_checked():
    stylizer = Stylizer([(_stripes(32, 32) * 255).astype(np.uint8)], StyleConfig(), backbone=tiny_backbone(seed=0))
    with pytest.raises(Exception, match=r"focus: expected shape \(32, 32\)"):
        stylizer.run(np.zeros((32, 32, 3), np.uint8), iterations=1, focus=np.zeros((8, 8)))


