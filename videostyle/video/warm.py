"""A warm frame's start: the previous result warped onto it, what fills the pixels the flow cannot carry, its
temporal terms and its budget (Ruder et al.; the heuristics in :class:`~videostyle.tuning.EngineTuning`)."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import flow as flowlib
from ..config import StylizeConfig, VideoConfig
from ..tuning import TUNING, EngineTuning

if TYPE_CHECKING:
    from .engine import WorkItem


def initial_and_temporal(item: WorkItem, content: np.ndarray, previous: collections.deque[np.ndarray],
                          config: StylizeConfig, tuning: EngineTuning = TUNING, *,
                          painted: np.ndarray | None = None
                          ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, float]]]:
    """Warped initialisation and temporal targets for a warm frame (Ruder et al., closest-first long-term masks).
    ``painted``: the frame's cold painting (:func:`cold_painting`) for ``--fill cold``."""
    offsets = sorted(item.flows)
    warped = [flowlib.warp(previous[-k], item.flows[k][0], interpolation="cubic").astype(np.float32) / 255.0
              for k in offsets]
    masks = [item.flows[k][1] for k in offsets]
    held = flowlib.closest_first(masks) if len(masks) > 1 else masks
    reliable = masks[0][..., None]
    source = content.astype(np.float32) / 255.0
    start = fill(config.video.fill, source, warped[0], masks[0], tuning, painted=painted)
    init = reliable * warped[0] + (1.0 - reliable) * start
    weight = config.video.temporal_weight
    temporal = [(w, m, weight) for w, m in zip(warped, held)]
    return init.astype(np.float32), temporal


def fill(mode: str, source: np.ndarray, warped: np.ndarray, reliable: np.ndarray,
          tuning: EngineTuning = TUNING, *, painted: np.ndarray | None = None) -> np.ndarray:
    """What the pixels the flow cannot carry start from (H×W×3 float32 in [0, 1]). ``cold``: ``painted`` (the
    frame's cold painting), or ``match`` where there is none (too little new content to paint one for)."""
    if mode == "cold":
        if painted is not None:
            return painted
        mode = "match"
    if mode == "blend":
        return 0.5 * (source + warped)
    if mode == "warped":
        return warped
    if mode == "inpaint":
        return flowlib.inpaint(warped, reliable, tuning.inpaint_radius)
    if mode == "paint":  # the frame itself under its carried neighbours' paint layer (stylised − source)
        return np.clip(source + flowlib.inpaint(warped - source, reliable, tuning.inpaint_radius), 0.0, 1.0)
    if mode == "match":  # the frame in the carried painting's colours: the map of the carried pixels' colours
        carried = reliable > 0.5
        if int(carried.sum()) < tuning.min_matched:
            return source
        from ..style.color import transfer_color

        return transfer_color(source, source[carried], warped[carried])
    return source


def warm_budget(video: VideoConfig, focus: np.ndarray, tuning: EngineTuning = TUNING) -> int:
    """A warm frame's budget grows with how much of it is new: ``iterations`` plus that share of the difference
    to ``first_iterations`` (2 % new: about ``iterations``; everything new: a first frame's budget)."""
    share = float((focus > tuning.focus_threshold).mean())
    return int(video.iterations + round(share * max(0, video.first_iterations - video.iterations)))


def cold_iterations(video: VideoConfig, tuning: EngineTuning = TUNING) -> int:
    """The cold start's budget (``--fill cold``): ``tuning.cold_share`` of the first-frame budget, or 0 (no cold
    start) under ``tuning.min_cold_iterations`` or with another fill."""
    budget = int(round(tuning.cold_share * video.first_iterations)) if video.fill == "cold" else 0
    return budget if budget >= tuning.min_cold_iterations else 0


def warm_start(stylizer: Any, item: WorkItem, content: np.ndarray, previous: collections.deque[np.ndarray],
               config: StylizeConfig, tuning: EngineTuning = TUNING, *, options: dict[str, Any]
               ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, float]], np.ndarray, Any]:
    """Everything a warm frame starts from: (init, temporal terms, focus, cold start). The focus is the pixels the
    flow to the nearest earlier frame could not carry (its new content). With ``--fill cold`` and enough new
    content (:func:`~videostyle.style.focus.has_focus`) it first paints the frame cold (:func:`cold_painting`, its
    :class:`~videostyle.style.StyleResult` is the fourth item; else None) and the new content starts from that.
    ``options``: the frame's style keywords."""
    from ..style.focus import has_focus  # the style package loads torch: imported where frames are painted

    focus = 1.0 - item.flows[min(item.flows)][1]
    budget = cold_iterations(config.video, tuning)
    cold = None
    if budget > 0 and has_focus(focus, tuning=tuning):
        painted, cold = cold_painting(stylizer, content, iterations=budget, seed=config.video.seed + item.frame.index,
                                      options=options, tuning=tuning)
    init, temporal = initial_and_temporal(item, content, previous, config, tuning,
                                          painted=None if cold is None else painted)
    return init, temporal, focus, cold


def cold_painting(stylizer: Any, content: np.ndarray, *, iterations: int, seed: int, options: dict[str, Any],
                  tuning: EngineTuning = TUNING) -> tuple[np.ndarray, Any]:
    """A quick cold painting of the frame ``content`` (uint8 H×W×3), what ``--fill cold`` starts its new content
    from: the frame at ``tuning.cold_scale`` of its size (its short side at least ``tuning.min_level_side``),
    stylised from its photo for at most ``iterations`` (:func:`cold_iterations`), resized back, with the photo's
    detail that the smaller size could not hold added back (``tuning.cold_detail``: the photo less its smaller
    version, resized back). Returns it (float32 H×W×3 in [0, 1]) and the :class:`~videostyle.style.StyleResult`.
    ``options``: the frame's style keywords (a blend, or regions whose masks are resized here)."""
    from ..style.images import resize01

    h, w = content.shape[:2]
    scale = min(1.0, max(tuning.cold_scale, tuning.min_level_side / max(1, min(h, w))))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    photo = content.astype(np.float32) / 255.0
    small = np.clip(resize01(photo, size), 0.0, 1.0)
    if options.get("regions") is not None:
        options = dict(options, regions=[(np.clip(resize01(m, size), 0.0, 1.0), weights)
                                         for m, weights in options["regions"]])
    result = stylizer.run(small, iterations=iterations, seed=seed, **options)
    painted = resize01(result.image.astype(np.float32) / 255.0, (w, h))
    if tuning.cold_detail > 0:  # the photo's detail that the smaller size could not hold
        painted = painted + tuning.cold_detail * (photo - resize01(small, (w, h)))
    return np.clip(painted, 0.0, 1.0), result
