"""The multi-pass bidirectional scheme of Ruder, Dosovitskiy & Brox (GCPR 2016, Sec. 3.3), over the frame store.

A single forward pass carries style information only forwards: the first frames of a shot never see what later
frames settled on, and errors accumulate along the chain. The multi-pass scheme sweeps the shot again and again in
alternating directions. In pass ``j`` frame ``i`` starts from a blend of its own result of pass ``j − 1`` and the
neighbour just finished in this pass (``i − 1`` going forwards, ``i + 1`` going backwards) warped onto it,
where the flow is reliable::

    x'ᵢ⁽ʲ⁾ = δ·c ∘ warp(x_neighbour⁽ʲ⁾) + (1 − δ·c) ∘ xᵢ⁽ʲ⁻¹⁾        (δ = EngineTuning.pass_blend, 0.5; c = reliability mask)

and is optimised for ``pass_iterations`` with the masked temporal loss towards that warped neighbour.

Differences from the paper, on purpose: pass 1 is our ordinary sequential pass (warped initialisation and
temporal loss), not independent per-frame stylisation, so a few refinement passes already help instead of the
paper's dozens; passes ≥ 2 use the short-term neighbour only (no long-term terms). Passes never cross a cut.

Every pass is stored in the frame store (``frames/p<pass>``) and resumes like pass 1: a finished frame of a pass
is never recomputed, and a rerun gives the same frames as an uninterrupted run. The content frames at the
working size are kept in the store (``sources/``) during pass 1, because later passes walk the clip backwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import flow as flowlib
from .._prefetch import Prefetcher
from ..config import StylizeConfig
from ..tuning import TUNING
from .store import FrameStore


def direction(pass_no: int) -> int:
    """+1 (forwards) for odd passes, −1 (backwards) for even ones: pass 1 forwards, pass 2 backwards, …"""
    return 1 if pass_no % 2 else -1


def segments_of(shots: Sequence[int], stop: int) -> list[tuple[int, int]]:
    """``[(first, stop), …]`` of each shot, from the shot starts and the index after the last frame."""
    bounds = list(shots) + [stop]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def visit_order(segments: Sequence[tuple[int, int]], step: int) -> list[tuple[int, int | None]]:
    """``(index, neighbour)`` in the order a pass visits them; the neighbour is the frame visited just before in
    the same shot (None at the start of each shot in this direction)."""
    order: list[tuple[int, int | None]] = []
    for first, stop in segments:
        indices = range(first, stop) if step > 0 else range(stop - 1, first - 1, -1)
        previous: int | None = None
        for i in indices:
            order.append((i, previous))
            previous = i
    return order


@dataclass
class _Step:
    index: int
    done: bool  # finished in an earlier run: nothing to compute
    content: np.ndarray | None = None
    #: (flow index→neighbour, mask of reliable pixels) when the frame has a neighbour and temporal terms are on
    flow: tuple[np.ndarray, np.ndarray] | None = None
    neighbour: int | None = None  # the index of the neighbour the flow points to


def _steps(store: FrameStore, order: Sequence[tuple[int, int | None]], pass_no: int,
           estimator: flowlib.FlowEstimator | None, add_flow_time: Callable[[float], None]) -> Iterator[_Step]:
    """Content frames and flows of one pass, in visiting order; runs in the background thread."""
    import time

    contents: dict[int, np.ndarray] = {}
    for index, neighbour in order:
        if store.record(index, pass_no) is not None:
            contents.clear()
            yield _Step(index, True)
            continue
        content = store.get(index, 0)
        flow = None
        if estimator is not None and neighbour is not None:
            other = contents.get(neighbour)
            if other is None:
                other = store.get(neighbour, 0)
            t0 = time.perf_counter()
            towards, _back, mask = estimator.pair(content, other)
            add_flow_time(time.perf_counter() - t0)
            flow = (towards, mask)
        contents = {index: content}
        yield _Step(index, False, content, flow, neighbour if flow is not None else None)


def refine(config: StylizeConfig, store: FrameStore, stylizer: Any, shots: Sequence[int], stop: int, times: Any,
           on_frame: Callable[[dict[str, Any]], None], timed: Callable[..., Any], *,
           controls: Any = None) -> list[dict[str, Any]]:
    """Run passes 2…``config.video.passes`` over the shots ``shots`` (starts) of frames ``< stop``.

    Needs pass 1 and the source frames in ``store``. Returns the record of every frame of every pass (``resumed``
    tells which came from the store); ``on_frame(record)`` is called after each frame (progress). ``controls``:
    the job's :class:`~videostyle.video.controls.Controls` (a matte, region styles, a schedule), applied to every
    pass as to the first.
    """
    video = config.video
    segments = segments_of(shots, stop)
    mattes: dict[int, np.ndarray] = {}
    if controls is not None and segments:
        h, w = store.get(segments[0][0], 0).shape[:2]
        mattes = controls.mattes_by_index((w, h), segments[0][0], segments[-1][1], store.record)
    tuning = getattr(stylizer, "tuning", TUNING)  # the heuristics pass 1 ran with
    estimator = flowlib.FlowEstimator(video.flow, tuning=tuning) if video.temporal_weight > 0 else None
    records: list[dict[str, Any]] = []

    def add_flow_time(seconds: float) -> None:
        times.flow += seconds

    for pass_no in range(2, video.passes + 1):
        order = visit_order(segments, direction(pass_no))
        prefetch = Prefetcher(_steps(store, order, pass_no, estimator, add_flow_time), lambda s: s, depth=4)
        neighbour_result: np.ndarray | None = None
        try:
            for step in timed(prefetch, times, "waiting"):
                if step.done:
                    neighbour_result = store.get(step.index, pass_no)
                    record = dict(store.record(step.index, pass_no) or {}, resumed=True)
                else:
                    matte = mattes.get(step.index)
                    other = mattes.get(step.neighbour) if step.neighbour is not None else None
                    neighbour_result, record = _refine_frame(
                        stylizer, store, step, pass_no, neighbour_result, config, times, controls=controls,
                        matte=None if matte is None else matte.astype(np.float32) / 255.0,
                        neighbour_matte=None if other is None else other.astype(np.float32) / 255.0)
                records.append(record)
                on_frame(record)
        finally:
            prefetch.close()
    return records


def _refine_frame(stylizer: Any, store: FrameStore, step: _Step, pass_no: int, neighbour: np.ndarray | None,
                  config: StylizeConfig, times: Any, *, controls: Any = None,
                  matte: np.ndarray | None = None,
                  neighbour_matte: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """One frame of pass ``pass_no``; ``matte`` / ``neighbour_matte``: the mattes of this frame and of its
    neighbour (pixels entering the matte, or changing region, are not blended with the neighbour nor held to it)."""
    import time

    video = config.video
    previous = store.get(step.index, pass_no - 1).astype(np.float32) / 255.0
    temporal: list[tuple[np.ndarray, np.ndarray, float]] = []
    init = previous
    if step.flow is not None and neighbour is not None:
        flow, mask = step.flow
        if controls is not None and neighbour_matte is not None:
            flow, mask = controls.new_content({1: step.flow}, matte, [neighbour_matte])[1]
        warped = flowlib.warp(neighbour, flow, interpolation="cubic").astype(np.float32) / 255.0
        c = getattr(stylizer, "tuning", TUNING).pass_blend * mask[..., None]
        init = c * warped + (1.0 - c) * previous
        temporal = [(warped, mask, video.temporal_weight)]
    assert step.content is not None
    options: dict[str, Any] = {}
    if controls is not None:  # as in pass 1: the matte's region and this frame's blend (its time from pass 1)
        temporal, _ = controls.restrict(temporal, None, matte)
        first = store.record(step.index) or {}
        options = controls.run_options(float(first.get("pts") or 0.0), first.get("number"), matte)
    t0 = time.perf_counter()
    result = stylizer.run(step.content, init=init.astype(np.float32), iterations=video.pass_iterations,
                          temporal=temporal, seed=video.seed + step.index + 100_003 * pass_no, **options)
    times.optimise += time.perf_counter() - t0
    record = {
        "index": step.index, "pass_no": pass_no, "warm": bool(temporal), "iterations": int(result.iterations),
        "stopped_early": bool(result.stopped_early), "stopped_by": getattr(result, "stopped_by", "budget"),
        "loss": {k: float(v) for k, v in result.loss.items()},
        "seconds": float(result.seconds),
    }
    t0 = time.perf_counter()
    store.put(step.index, result.image, record, pass_no=pass_no)
    times.store += time.perf_counter() - t0
    return result.image, dict(record, resumed=False)
