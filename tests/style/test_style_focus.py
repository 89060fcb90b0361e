"""Effort where the new content is: the focus-aware stopping rule, focus boxes and crop painting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videostyle.config import StyleConfig
from videostyle.style import Stylizer
from videostyle.style.backbones import tiny_backbone
from videostyle.style.focus import feathered, focus_boxes
from videostyle.style.optimize import image_settled, optimize


def test_a_still_changing_region_keeps_the_frame_going():
    """Most of the image settled, a 4 % region still moving by 10 levels: the whole-image mean (0.4 levels) is
    under a 1-level tolerance, so only the focus test keeps the frame from stopping."""
    before = torch.zeros(1, 3, 50, 50)
    now = before.clone()
    now[..., 20:30, 20:30] = 10 / 255.0
    focus = torch.zeros(50, 50)
    focus[20:30, 20:30] = 1.0
    assert image_settled(now, before, 1.0)              # whole image only: would stop
    assert not image_settled(now, before, 1.0, focus)    # the focus is still changing
    assert image_settled(before, before, 1.0, focus)     # nothing changes anywhere: stop
    assert image_settled(now, before, 1.0, torch.zeros(50, 50))  # an empty focus does not block
    # focus_only: the focus alone decides (a warm frame's first phase judges the carried pixels only)
    assert image_settled(now, before, 1.0, 1.0 - focus, focus_only=True)      # outside the square: settled
    assert not image_settled(now, before, 0.1, torch.ones(50, 50) * 0, focus_only=True)  # empty: whole image


def test_optimize_does_not_stop_while_the_focus_changes():
    """A loss that settles everywhere but in a corner that keeps moving: without a focus the optimiser stops at
    the first check; with the corner as focus it runs until the corner has converged too."""
    target = torch.zeros(1, 3, 32, 32)
    target[..., :4, :4] = 1.0  # a corner of 1.6 % of the pixels, far from its target

    def loss_fn(x):
        loss = ((x - target) ** 2).sum()
        return loss, {"l2": loss}

    start = target.clone()
    start[..., :4, :4] = 0.0
    focus = torch.zeros(32, 32)
    focus[:4, :4] = 1.0
    common = dict(iterations=400, optimizer="adam", lr=0.01, tolerance=0.0, change_tolerance=1.0, change_window=10)
    plain = optimize(start, loss_fn, **common)
    focused = optimize(start, loss_fn, focus=focus, **common)
    assert plain.stopped_early and plain.iterations == 10
    assert focused.iterations > 5 * plain.iterations
    assert float(focused.image[..., :4, :4].mean()) > 0.8 > float(plain.image[..., :4, :4].mean())


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


def test_free_pixels_alone_are_optimised():
    """``free``: only those pixels move (the rest stays exactly as it started), and they still reach their target —
    how a warm frame paints its new content once the carried pixels have settled."""
    target = torch.rand(1, 3, 16, 16)
    start = torch.zeros(1, 3, 16, 16)
    free = torch.zeros(16, 16)
    free[4:8, 4:8] = 1.0

    def loss_fn(x):
        loss = ((x - target) ** 2).sum()
        return loss, {"pixels": loss}

    res = optimize(start, loss_fn, iterations=30, free=free)
    assert torch.equal(res.image[..., free == 0], start[..., free == 0])
    assert torch.allclose(res.image[..., 4:8, 4:8], target[..., 4:8, 4:8], atol=1e-3)


def test_focus_settles_relative_to_its_largest_move():
    """A focus (a quarter of the image) that moved 20 levels in a window and now creeps at 3: under an absolute
    1-level tolerance it keeps going; with ``focus_settle`` 0.25 (5 levels) it has settled; a focus still moving at
    10 has not."""
    before = torch.zeros(1, 3, 20, 20)
    focus = torch.zeros(20, 20)
    focus[:10, :10] = 1.0

    def moved(levels):
        return before + focus * levels / 255.0

    assert not image_settled(moved(3), before, 1.0, focus)
    assert image_settled(moved(3), before, 1.0, focus, focus_tolerance=0.25 * 20)
    assert not image_settled(moved(10), before, 1.0, focus, focus_tolerance=0.25 * 20)

    # in the optimiser: a focus pulled towards a far target moves a lot first; the relative rule ends the tail sooner
    target = focus.expand(1, 3, 20, 20)

    def loss_fn(x):
        loss = ((x - target) ** 2).sum()
        return loss, {"pixels": loss}

    common = dict(iterations=400, optimizer="adam", lr=0.01, change_tolerance=1.0, focus=focus)
    plain = optimize(before, loss_fn, **common)
    relative = optimize(before, loss_fn, focus_settle=0.25, **common)
    assert relative.stopped_early and relative.iterations < plain.iterations
    assert float(relative.image[..., :10, :10].mean()) > 0.8  # most of the way there


def test_a_focus_short_of_its_reach_settles_later():
    """``reach`` = (reference, level): while the focus lies closer to the reference than ``level`` levels it settles
    only at ``EngineTuning.short_settle`` of the share of its largest move, so a focus that slowed down under the relative rule goes on (and gets
    nearer its target) before it stops; a reach already met changes nothing."""
    before = torch.zeros(1, 3, 20, 20)
    focus = torch.zeros(20, 20)
    focus[:10, :10] = 1.0
    # pixel targets spread towards 0: the focus moves 16 levels in the first window, then ever less (8 by the 4th)
    spread = torch.linspace(0.02, 1.0, 400)[torch.randperm(400, generator=torch.Generator().manual_seed(0))]
    target = (focus * spread.reshape(20, 20) ** 3).expand(1, 3, 20, 20)

    def loss_fn(x):
        loss = ((x - target) ** 2).sum()
        return loss, {"pixels": loss}

    common = dict(iterations=600, optimizer="adam", lr=0.01, change_tolerance=1.0, focus=focus, focus_only=True,
                  focus_settle=0.5)
    relative = optimize(before, loss_fn, **common)
    reached_at = float(relative.image[..., :10, :10].mean()) * 255.0
    further = optimize(before, loss_fn, reach=(before, 255.0), **common)
    assert relative.stopped_early and further.stopped_early
    assert further.iterations > relative.iterations
    assert float(further.image[..., :10, :10].mean()) * 255.0 > reached_at + 1.0
    same = optimize(before, loss_fn, reach=(before, 1.0), **common)
    assert same.iterations == relative.iterations


def test_fractional_free_weights_scale_the_steps_and_the_change_test_sees_them():
    """``free`` between 0 and 1 (the feathered edge of a warm frame's new content) moves those pixels by that share of
    the variable's step, and the pixel-change test judges the image evaluated, not the variable: the variable moves
    25 levels a window, the image half a level, so a 1-level tolerance stops it at the first check."""
    start = torch.zeros(1, 3, 8, 8)
    free = torch.zeros(8, 8)
    free[:, 4:] = 0.02
    target = torch.ones(1, 3, 8, 8)

    def loss_fn(x):
        loss = ((x - target) ** 2).sum()
        return loss, {"pixels": loss}

    res = optimize(start, loss_fn, iterations=200, optimizer="adam", lr=0.01, change_tolerance=1.0, free=free)
    assert res.stopped_early and res.iterations == 10
    assert torch.equal(res.image[..., :4], start[..., :4])
    moved = float(res.image[..., 4:].mean()) * 255.0
    assert 0.2 < moved < 1.0  # a fiftieth of the variable's ~25 levels
