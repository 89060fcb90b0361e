"""The optimisation loop (videostyle/style/optimize.py): the pixel-change stop with a focus, the relative settle
rule and its reach, and optimising only the ``free`` pixels."""

from __future__ import annotations

import dataclasses

import torch

from videostyle.style.focus import feathered
from videostyle.style.optimize import gained_little, image_settled, optimize
from videostyle.tuning import TUNING


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



def test_a_window_that_gains_little_of_the_fall_so_far_has_settled():
    """``gained_little``: the best loss fell 10 since the start and 0.5 over the last window (5 %): under a gain of
    0.15 it has settled, under 0.04 not; 18 % is not settled; a loss that has not fallen at all has settled; before
    two windows nothing has."""
    history = [20.0, 12.0, 10.5, 10.2, 10.0]
    assert not gained_little(history[:4], 0.15, 2)  # the last window: 12 -> 10.2, 1.8 of 9.8 (18 %)
    assert gained_little(history + [10.1], 0.15, 3)  # over 3: 10.5 -> 10.0, 0.5 of 10 (5 %)
    assert not gained_little(history + [10.1], 0.04, 3)
    assert gained_little([5.0, 5.0, 5.2, 5.1], 0.15, 2)  # nothing gained
    assert not gained_little([20.0, 10.0, 9.0], 0.15, 2)  # before two windows


def _pulled(target_levels: float, size: int = 20):
    target = torch.full((1, 3, size, size), target_levels / 255.0)

    def loss_fn(x):
        loss = ((x - target) ** 2).sum()
        return loss, {"pixels": loss}

    return loss_fn


def test_the_gain_rule_stops_a_warm_frame_once_it_stops_gaining_and_says_why():
    """Adam pulled towards a far target: its loss falls fast, then little a window while the pixels still move
    by levels. The gain rule (``gain`` 0.15 over windows of 5) stops it long before a 1-level pixel-change test,
    close to where the latter ends; each result says why it stopped."""
    start = torch.zeros(1, 3, 20, 20)
    loss_fn = _pulled(200.0)
    common = dict(iterations=400, optimizer="adam", lr=0.05, change_tolerance=1.0)
    plain = optimize(start, loss_fn, **common)
    gained = optimize(start, loss_fn, gain=0.15, **common)
    assert plain.stopped_by == "settled" and gained.stopped_by == "settled" and gained.stopped_early
    assert gained.iterations % 5 == 0 and gained.iterations < plain.iterations
    assert abs(float(gained.image.mean()) - float(plain.image.mean())) * 255.0 < 20.0
    budget = optimize(start, loss_fn, iterations=7, gain=0.15)
    assert budget.stopped_by == "budget" and not budget.stopped_early and budget.iterations == 7
    tolerance = optimize(start, loss_fn, iterations=400, optimizer="adam", lr=0.05, tolerance=0.5, window=5)
    assert tolerance.stopped_by == "tolerance" and tolerance.stopped_early


def test_new_content_short_of_its_reach_settles_only_under_a_stricter_gain():
    """With ``reach`` = (reference, level): while the focus lies nearer the reference than ``reach_share`` of
    ``level`` the gain rule stops it only under ``short_gain`` (with 0, not at all: a slow subject keeps being
    painted), and once it lies that far it stops under ``reached_gain``."""
    start = torch.zeros(1, 3, 20, 20)
    focus = torch.ones(20, 20)
    loss_fn = _pulled(200.0)
    common = dict(iterations=400, optimizer="adam", lr=0.01, focus=focus, gain=0.15)
    never = dataclasses.replace(TUNING, short_gain=0.0)
    free = optimize(start, loss_fn, **common, tuning=never)
    short = optimize(start, loss_fn, reach=(start, 150.0), **common, tuning=never)
    assert free.stopped_by == short.stopped_by == "settled"
    reached = TUNING.reach_share * 150.0
    assert float(free.image.mean()) * 255.0 < reached <= float(short.image.mean()) * 255.0
    assert short.iterations > free.iterations
    stricter = optimize(start, loss_fn, reach=(start, 255.0), **common, tuning=dataclasses.replace(
        TUNING, short_gain=0.05))  # never reached: it stops once a window gains under 5 % of the fall so far
    assert stricter.stopped_by == "settled" and free.iterations < stricter.iterations < 400
