"""The JSON report of a run (``--report``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import StylizeConfig, to_dict
from . import passes as multipass
from .controls import Controls

if TYPE_CHECKING:
    from .engine import RunState


def pass_summary(state: RunState) -> list[dict[str, Any]]:
    """Per pass: its direction, frames, frames computed in this run and the median iterations."""
    by_pass: dict[int, list[dict[str, Any]]] = {1: state.frames}
    for rec in state.refined:
        by_pass.setdefault(int(rec["pass_no"]), []).append(rec)
    return [{"pass": p, "direction": "forward" if multipass.direction(p) > 0 else "backward", "frames": len(recs),
             "frames_computed": sum(1 for r in recs if not r.get("resumed")),
             "iterations_median": float(np.median([r["iterations"] for r in recs])) if recs else None}
            for p, recs in sorted(by_pass.items())]


def report(config: StylizeConfig, state: RunState, controls: Controls) -> dict[str, Any]:
    """The report: frames, shots, backbone, device, sizes, iterations (and why each frame stopped), losses, stage
    times and the config."""
    frames = state.frames
    computed = [f for f in frames if not f.get("resumed")]
    first = [f["iterations"] for f in frames if not f.get("warm")]
    warm = [f["iterations"] for f in frames if f.get("warm")]
    stages = dataclasses.asdict(state.times)
    return {
        "input": config.input,
        "output": config.output,
        "styles": controls.style_paths(),  # with --outside-style, it comes last
        "frames": len(frames),
        "frames_computed": len(computed),
        "frames_resumed": len(frames) - len(computed),
        "shots": state.shots,
        "model": state.model,
        "device": state.device,
        "precision": state.precision,
        "size": list(state.size),
        "fps": state.fps,
        "time_base": str(state.time_base) if state.time_base is not None else None,
        "iterations": [f["iterations"] for f in frames],
        "iterations_summary": {
            "first_frames_median": float(np.median(first)) if first else None,
            "warm_frames_median": float(np.median(warm)) if warm else None,
            "warm_frames_mean": float(np.mean(warm)) if warm else None,
            # full-size evaluations: a crop by its area, a cold start (--fill cold) by its size; not in "iterations"
            "warm_frames_effort_mean": float(np.mean([f.get("effort", f["iterations"]) for f in frames
                                                      if f.get("warm")])) if warm else None,
            # why the frames stopped (each per_frame record says it, and each of its phases)
            "stopped_by": {r: sum(1 for f in frames if f.get("stopped_by") == r)
                           for r in ("settled", "budget", "tolerance")},
        },
        "passes": pass_summary(state),
        "loss": (state.refined[-1] if state.refined else frames[-1]).get("loss", {}),
        "per_frame": frames,
        "seconds": state.times.total,
        "stages": stages,
        "work_dir": str(state.work_dir),
        "config": to_dict(config),
        "mode": config.fast.mode,
        **state.extra,  # what the mode adds (fast mode: keyframes, training, render, net)
    }

