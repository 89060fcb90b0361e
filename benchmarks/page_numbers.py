"""Settings and pure numbers of the benchmarks page (benchmarks/make_page.py): sections, budgets, summaries, ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "sample_media/sample.mp4"
SAMPLE_STYLE = "sample_media/style.png"
SECTIONS = ("speed", "demo", "tradeoff", "flow", "moving", "style_weight")
# Stages of the report: decode, shots and flow run in the background thread and overlap with the optimiser.
BACKGROUND_STAGES = ("decode", "shots", "flow")
MAIN_STAGES = ("setup", "optimise", "store", "waiting", "encode", "preview")
DEFAULT_TEMPORAL_WEIGHT = 200.0

FULL = {
    "speed": {"frames": 4, "sizes": [64, 96, 128, 192], "size_iterations": 20, "iteration_size": 96,
              "iteration_budgets": [10, 20, 40, 80], "first_iterations": 20},
    # the settings of `make demo`, first 40 frames (the cut at 35 gives a second cold frame)
    "demo": {"size": 128, "first_iterations": 100, "iterations": 40, "frames": 40},
    "tradeoff": {"frames": 8, "size": 96, "first_iterations": 100, "iterations": 40,
                 "weights": [0.0, 10.0, 100.0, 200.0, 1000.0, 10000.0]},
    "flow": {"repeat": 3, "sizes": [[640, 360], [1280, 720]]},
    # new content painted: a subject entering (generated) and the bundled sample, per-frame vs temporal, default
    # budgets and weights (benchmarks/temporal_bench.py)
    "moving": {"frames": 24, "size": 64, "first_iterations": 500, "iterations": 150, "weights": [0.0, 200.0],
               "scenes": ["entering", "sample"]},
    # style weight vs legibility on a person (benchmarks/style_weight_bench.py)
    "style_weight": {"photos": ["astronaut"], "weights": [2.0, 5.0, 10.0, 20.0, 50.0], "size": 192,
                     "iterations": 100},
}
QUICK = {
    "speed": {"frames": 3, "sizes": [64, 96], "size_iterations": 5, "iteration_size": 64,
              "iteration_budgets": [5, 10], "first_iterations": 5},
    "demo": {"size": 64, "first_iterations": 10, "iterations": 5, "frames": 6},
    "tradeoff": {"frames": 4, "size": 64, "first_iterations": 10, "iterations": 5,
                 "weights": [0.0, 200.0, 10000.0]},
    "flow": {"repeat": 1, "sizes": [[320, 180]]},
    "moving": {"frames": 3, "size": 48, "first_iterations": 10, "iterations": 5, "weights": [0.0, 200.0],
               "scenes": ["entering"]},
    "style_weight": {"photos": ["astronaut"], "weights": [5.0, 50.0], "size": 48, "iterations": 5},
}


def frame_summary(per_frame: list[dict[str, Any]]) -> dict[str, Any]:
    """First (cold) vs warm frames of a report: seconds and iterations per frame, early stops."""
    import statistics

    def stats(frames: list[dict[str, Any]]) -> dict[str, Any]:
        if not frames:
            return {"count": 0}
        secs = [float(f["seconds"]) for f in frames]
        its = [int(f["iterations"]) for f in frames]
        return {"count": len(frames), "seconds_median": statistics.median(secs), "seconds_mean": statistics.fmean(secs),
                "seconds_min": min(secs),
                "iterations_median": statistics.median(its), "iterations_mean": statistics.fmean(its),
                "seconds_per_iteration": sum(secs) / max(1, sum(its)),
                "stopped_early": sum(1 for f in frames if f.get("stopped_early"))}

    return {"first": stats([f for f in per_frame if not f.get("warm")]),
            "warm": stats([f for f in per_frame if f.get("warm")])}


def stage_shares(stages: dict[str, float]) -> list[dict[str, Any]]:
    """Seconds and share of the total wall time for each stage; background stages flagged (they overlap)."""
    total = float(stages.get("total") or 0.0)
    rows = []
    for name in BACKGROUND_STAGES + MAIN_STAGES:
        if name not in stages:
            continue
        secs = float(stages[name])
        rows.append({"stage": name, "seconds": secs, "share": secs / total if total > 0 else float("nan"),
                     "background": name in BACKGROUND_STAGES})
    main = sum(r["seconds"] for r in rows if not r["background"])
    rows.append({"stage": "other (main thread)", "seconds": max(0.0, total - main),
                 "share": max(0.0, total - main) / total if total > 0 else float("nan"), "background": False})
    return rows


def tradeoff_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each weight's warping error and style distance relative to the weight-0 baseline."""
    base = next((r for r in rows if r["weight"] == 0), None)
    out = []
    for r in rows:
        we = r["warping_error"] / base["warping_error"] if base and base["warping_error"] else float("nan")
        sd = r["style_distance"] / base["style_distance"] if base and base["style_distance"] else float("nan")
        out.append({"weight": r["weight"], "warping_error_ratio": we, "style_distance_ratio": sd})
    return out


def weight_label(weight: float) -> str:
    """``0 (per-frame)``, ``10``, ``200 (default)``, ``1e3``, ``1e4``."""
    if weight == 0:
        return "0 (per-frame)"
    exponent = len(str(int(weight))) - 1
    text = f"1e{exponent}" if weight >= 1000 and weight == 10 ** exponent else f"{weight:g}"
    return text + (" (default)" if weight == DEFAULT_TEMPORAL_WEIGHT else "")
