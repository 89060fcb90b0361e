"""The optimisation loop: L-BFGS (default) or Adam over the image, with a budget and a convergence test.

One *iteration* is one evaluation of the loss and its gradient (one forward and one backward pass through the
backbone), for both optimisers: L-BFGS runs without line search (as in neural-style) and is stepped once per
evaluation, keeping its curvature history across steps.

Stopping: at the budget, or as soon as either test says the image has converged:

* the best loss improved by less than ``tolerance`` (relative) over the last ``window`` iterations (Ruder et al.
  use 1e-4 over 50 iterations);
* the image itself has stopped changing: over the last ``change_window`` iterations its pixels (clipped to
  [0, 1]) moved by less than ``change_tolerance`` 8-bit levels on average. The output is quantised to 8 bits, so
  once a whole window moves the image by under a level it is visually done, whatever the loss still does. A
  frame warm-started from the warped previous result gets there several times sooner than a cold first frame,
  which is where the video engine saves most of its time (benchmarks/temporal.md).

  With a ``focus`` map (H×W weights, e.g. the pixels the flow could not carry into a warm frame) the average is
  also taken over the focus alone, and *both* must fall under the tolerance: a small region that is still being
  painted keeps the frame going even when the rest of the image, already converged, dominates the whole-image
  mean (:func:`image_settled`). With ``focus_only`` the focus alone decides: a warm frame's first phase waits
  for the pixels the flow carried, whatever its new content does, and then paints the new content on crops.

  ``focus_settle`` makes the focus test relative as well: the focus has settled once a window moves it by less than
  that share of the most any window has moved it (or under the tolerance). New content painted from the photo moves
  by 10-25 levels a window at first and then creeps for as long again at 1-3 levels (measured on an entering
  subject, benchmarks/temporal.md); the creep changes little that can be seen.

  ``reach`` = (reference, level) makes the relative test stricter while the focus lies nearer ``reference`` (the
  content) than ``tuning.reach_share`` of ``level`` 8-bit levels on average: it then settles only below
  ``tuning.short_settle`` of that share. A warm
  frame paints its new content towards the distance from the photo of the carried painting around it; the relative
  rule alone left the sample's new content short of it (benchmarks/temporal.md).

``gain`` (a warm frame's rule, issue 22) stops once the picture has stopped gaining: every ``gain_window``
iterations (from the second window on), the best loss's fall over the last window is compared with its fall since
the start; under ``gain`` of it the image has settled. A warm frame starts near its optimum, and at 256 px its
carried pixels gain most of what they will in 10-15 iterations; its new content, painted on its own, reaches the
carried painting's distance from the photo in 15-20 and then keeps moving by 2-5 levels a window for as long again,
a creep the loss hardly follows (benchmarks/warm.md). With ``reach`` = (reference, level) the focus settles under
``tuning.short_gain`` instead while it lies nearer ``reference`` than ``tuning.reach_share`` of ``level`` (new
content still short of the painting around it), and under ``tuning.reached_gain`` past it.

Each result says why it stopped (``stopped_by``): ``"budget"`` (every iteration ran), ``"tolerance"`` (the loss
test) or ``"settled"`` (the pixel-change or gain tests: the picture stopped changing or gaining).

With ``free`` (pixel weights in [0, 1]) the image evaluated is the start blended with the variable by ``free``
(``start + free · (v − start)``): pixels at 0 are held still, pixels in between (a feathered edge) move by that
share of a step, and the pixel-change tests look at the blended image. A warm frame paints its new content this way
once the carried pixels have settled: the carried pixels, held by a temporal term 200 times stronger than the rest
of the loss, otherwise set the step sizes L-BFGS can take, and the new content, which nothing holds, crawls.

The result is the best iterate evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..errors import StyleError
from ..tuning import TUNING, EngineTuning

LossFn = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class OptimizationResult:
    """Outcome of :func:`optimize`: the best image evaluated, its loss terms and the loss history."""

    image: torch.Tensor
    loss: dict[str, float]
    iterations: int
    stopped_early: bool
    history: list[float] = field(default_factory=list)
    #: why it stopped: "budget", "tolerance" (the relative loss test) or "settled" (the pixel-change or gain tests)
    stopped_by: str = "budget"


def make_optimizer(name: str, params: list[torch.Tensor], lr: float, *, history: int = 20,
                   tuning: EngineTuning = TUNING) -> torch.optim.Optimizer:
    """``torch.optim.LBFGS`` (one evaluation per step, no line search, ``history`` curvature pairs) or Adam (at
    ``tuning.adam_lr`` when ``lr`` is left at L-BFGS's 1.0)."""
    if name == "lbfgs":
        return torch.optim.LBFGS(
            params, lr=lr, max_iter=1, max_eval=1, history_size=history,
            tolerance_grad=0.0, tolerance_change=0.0, line_search_fn=None,
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=tuning.adam_lr if lr == 1.0 else lr)
    raise StyleError(f"unknown optimizer {name!r}: expected 'lbfgs' or 'adam'")


def converged(history: list[float], tolerance: float, window: int) -> bool:
    """True when the best loss of the last ``window`` iterations improved by less than ``tolerance`` (relative)."""
    if tolerance <= 0 or len(history) <= window:
        return False
    before = min(history[:-window])
    now = min(history)
    return (before - now) <= tolerance * max(abs(before), 1e-12)


def gained_little(history: list[float], gain: float, window: int) -> bool:
    """True when the best loss fell over the last ``window`` iterations by less than ``gain`` of what it fell since
    the first evaluation (also when it has not fallen at all); False before two windows."""
    if gain <= 0 or len(history) < 2 * window:
        return False
    before = min(history[:-window])
    now = min(before, min(history[-window:]))
    total = history[0] - now
    return total <= 0 or (before - now) < gain * total


def image_change(now: torch.Tensor, before: torch.Tensor, focus: torch.Tensor | None = None
                 ) -> tuple[float, float | None]:
    """Mean change in 8-bit levels between ``now`` and ``before`` (N×C×H×W in [0, 1]): over the whole image, and
    over the ``focus`` weights (N×1×H×W or H×W) alone (None without a focus or when it is empty)."""
    change = (now - before).abs().mean(dim=1, keepdim=True) * 255.0
    whole = float(change.mean())
    if focus is None:
        return whole, None
    weights = focus.reshape(1, 1, *change.shape[-2:]).to(change.dtype)
    total = float(weights.sum())
    return whole, (float((change * weights).sum()) / total if total > 0 else None)


def image_settled(now: torch.Tensor, before: torch.Tensor, tolerance: float,
                  focus: torch.Tensor | None = None, *, focus_only: bool = False,
                  focus_tolerance: float | None = None) -> bool:
    """True when ``now`` differs from ``before`` (N×C×H×W in [0, 1]) by less than ``tolerance`` 8-bit levels on
    average, over the whole image and, when given, over the ``focus`` weights (N×1×H×W or H×W) alone.

    ``focus_only``: judge by the focus alone (the whole image only when the focus is empty) — a warm frame first
    waits for the pixels the flow carried, however much its new content still moves. ``focus_tolerance``: the
    focus's own threshold (default ``tolerance``)."""
    return _settled(*image_change(now, before, focus), tolerance, focus_only, focus_tolerance)


def _settled(whole: float, in_focus: float | None, tolerance: float, focus_only: bool,
             focus_tolerance: float | None) -> bool:
    """:func:`image_settled` on the changes :func:`image_change` measured."""
    if in_focus is not None and in_focus >= (tolerance if focus_tolerance is None else focus_tolerance):
        return False
    if focus_only and in_focus is not None:
        return True
    return whole < tolerance


def optimize(
    init: torch.Tensor,
    loss_fn: LossFn,
    *,
    iterations: int,
    optimizer: str = "lbfgs",
    lr: float = 1.0,
    tolerance: float = 0.0,
    window: int = 50,
    history: int = 20,
    change_tolerance: float = 0.0,
    change_window: int = 10,
    focus: torch.Tensor | None = None,
    focus_only: bool = False,
    focus_settle: float = 0.0,
    reach: tuple[torch.Tensor, float] | None = None,
    gain: float = 0.0,
    gain_window: int = 5,
    free: torch.Tensor | None = None,
    callback: Callable[[int, float], None] | None = None,
    view: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tuning: EngineTuning = TUNING,
) -> OptimizationResult:
    """Minimise ``loss_fn(x)`` over the image ``x`` starting from ``init`` for at most ``iterations`` evaluations.

    ``loss_fn`` returns ``(total, terms)`` where ``terms`` are 0-d tensors (reported, not differentiated).
    ``focus`` (weights over the pixels) makes the pixel-change test also wait for that region, or with
    ``focus_only`` wait for that region alone (see :func:`image_settled`); ``focus_settle`` > 0 lets the focus
    settle relative to the most it moved in a window, and ``reach`` = (reference, level) makes that test stricter
    while it lies closer to ``reference`` than ``level`` 8-bit levels on average. ``free`` (weights over the pixels,
    N×1×H×W or H×W): optimise only there (by that share of a step), the rest stays as in ``init`` (see the module
    doc). ``gain``/``gain_window``: stop once a window gains less than that share of the loss's fall so far (with
    ``reach``: under ``tuning.short_gain`` while the focus is short of it, ``tuning.reached_gain`` past it).
    ``view``: the image the pixel-change tests look at, from the variable (default the variable itself).
    ``tuning``: ``short_settle`` (the stricter share short of the reach), ``reach_share``, ``reached_gain``,
    ``short_gain`` and ``adam_lr``.
    """
    if iterations < 0:
        raise StyleError(f"invalid iterations {iterations!r}: must be >= 0")
    if free is not None:
        start = init.detach()
        weights = free.reshape(1, 1, *start.shape[-2:]).to(start.dtype)
        inner = loss_fn

        def blended(v: torch.Tensor) -> torch.Tensor:
            return start + weights * (v - start)

        def loss_fn(v: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # type: ignore[no-redef]
            return inner(blended(v))

        result = optimize(init, loss_fn, iterations=iterations, optimizer=optimizer, lr=lr, tolerance=tolerance,
                          window=window, history=history, change_tolerance=change_tolerance,
                          change_window=change_window, focus=focus, focus_only=focus_only,
                          focus_settle=focus_settle, reach=reach, gain=gain, gain_window=gain_window,
                          callback=callback, view=blended, tuning=tuning)
        result.image = blended(result.image).detach()
        return result
    x = init.detach().clone().requires_grad_(True)
    if iterations == 0:
        with torch.no_grad():
            total, terms = loss_fn(x)
        return OptimizationResult(x.detach(), _floats(total, terms), 0, False, [float(total)], "budget")

    opt = make_optimizer(optimizer, [x], lr, history=history, tuning=tuning)
    history: list[float] = []
    best: dict[str, object] = {"loss": float("inf"), "image": x.detach().clone(), "terms": {}}

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=False)
        total, terms = loss_fn(x)
        total.backward()
        value = float(total.detach())
        history.append(value)
        if value < best["loss"]:  # type: ignore[operator]
            best["loss"] = value
            best["image"] = x.detach().clone()
            best["terms"] = _floats(total, terms)
        return total

    stopped_by = "budget"

    def seen() -> torch.Tensor:  # the image the pixel-change tests look at
        with torch.no_grad():
            return (x if view is None else view(x)).detach().clamp(0, 1)

    checkpoint = seen() if change_tolerance > 0 else None
    peak = 0.0  # the most a window has moved the focus
    while len(history) < iterations:
        n_before = len(history)
        opt.step(closure)
        if len(history) == n_before:  # an optimiser that returned without evaluating: nothing more to do
            break
        if callback is not None:
            callback(len(history), history[-1])
        if not math.isfinite(history[-1]):
            raise StyleError("the loss became non-finite; lower the learning rate or the weights")
        if len(history) < iterations and converged(history, tolerance, window):
            stopped_by = "tolerance"
            break
        if gain > 0 and len(history) % gain_window == 0 and len(history) < iterations:
            share = gain
            if reach is not None and focus is not None:  # short of its reach: not done; past it: done sooner
                distance = image_change(seen(), reach[0], focus)[1]
                short = distance is not None and distance < tuning.reach_share * reach[1]
                share = tuning.short_gain if short else tuning.reached_gain
            if gained_little(history, share, gain_window):
                stopped_by = "settled"
                break
        if checkpoint is not None and len(history) % change_window == 0 and len(history) < iterations:
            now = seen()
            share = focus_settle
            if reach is not None and focus is not None:  # short of its reach: a stricter relative test
                distance = image_change(now, reach[0], focus)[1]
                if distance is not None and distance < tuning.reach_share * reach[1]:
                    share *= tuning.short_settle
            whole, moved = image_change(now, checkpoint, focus)  # once per window, for both tests
            focus_tolerance = None
            if focus_settle > 0 and focus is not None:
                peak = max(peak, moved or 0.0)
                focus_tolerance = max(change_tolerance, share * peak)
            if _settled(whole, moved, change_tolerance, focus_only, focus_tolerance):
                stopped_by = "settled"
                break
            checkpoint = now
    return OptimizationResult(best["image"], best["terms"], len(history),  # type: ignore[arg-type]
                              stopped_by != "budget", history, stopped_by)


def last_stop(phases: list[dict[str, object]]) -> str:
    """Why a frame stopped, from its optimisations (``{"part", "iterations", "stopped_by"}`` in order): the reason of
    its last part (a warm frame's new content on crops, or the whole frame's last level), "budget" first if a crop
    ran out of it, then "tolerance"."""
    if not phases:
        return "budget"
    last = [p["stopped_by"] for p in phases if p["part"] == "new content"] if phases[-1]["part"] != "frame" else [
        phases[-1]["stopped_by"]]  # the crops of the new content, or the whole frame's last level
    return next((r for r in ("budget", "tolerance") if r in last), "settled")


def _floats(total: torch.Tensor, terms: dict[str, torch.Tensor]) -> dict[str, float]:
    out = {k: float(v.detach()) for k, v in terms.items()}
    out["total"] = float(total.detach())
    return out
