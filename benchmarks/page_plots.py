"""Plots of the benchmarks page (benchmarks/make_page.py), one PNG per section from its recorded JSON."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from page_numbers import DEFAULT_TEMPORAL_WEIGHT, stage_shares, weight_label


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def plot_speed(data: dict[str, Any], path: Path) -> None:
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    px = [r["size"][0] * r["size"][1] / 1000 for r in data["by_size"]]
    warm = [r["summary"]["warm"].get("seconds_min", float("nan")) for r in data["by_size"]]
    warm_med = [r["summary"]["warm"].get("seconds_median", float("nan")) for r in data["by_size"]]
    first = [r["summary"]["first"].get("seconds_median", float("nan")) for r in data["by_size"]]
    cpu = [r["cpu_s"] / r["frames"] for r in data["by_size"]]
    a.plot(px, first, "s-", label=f"first frame ({data['params']['first_iterations']} it)")
    a.plot(px, warm, "o-", label=f"warm frame, best (budget {data['params']['size_iterations']} it)")
    a.plot(px, warm_med, "o:", color="C1", alpha=0.5, label="warm frame, median")
    a.plot(px, cpu, "^--", color="C7", label="CPU s/frame, whole call")
    for x, y, r in zip(px, warm, data["by_size"]):
        a.annotate(f"{r['size'][0]}×{r['size'][1]}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    a.set_xlabel("working size (kilopixels)")
    a.set_ylabel("seconds per frame\n(wall unless CPU)")
    a.set_title("s/frame vs size", fontsize=10)
    a.legend(fontsize=7)
    budgets = [r["budget"] for r in data["by_iterations"]]
    warm_b = [r["summary"]["warm"].get("seconds_min", float("nan")) for r in data["by_iterations"]]
    warm_bm = [r["summary"]["warm"].get("seconds_median", float("nan")) for r in data["by_iterations"]]
    actual = [r["summary"]["warm"].get("iterations_mean", float("nan")) for r in data["by_iterations"]]
    b.plot(budgets, warm_b, "o-", color="C1", label="warm frame, best")
    b.plot(budgets, warm_bm, "o:", color="C1", alpha=0.5, label="warm frame, median")
    b.plot(budgets, [r["cpu_s"] / r["frames"] for r in data["by_iterations"]], "^--", color="C7",
           label="CPU s/frame, whole call")
    b.legend(fontsize=7)
    for x, y, n in zip(budgets, warm_b, actual):
        b.annotate(f"{n:.0f} it run", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    size = data["by_iterations"][0]["size"] if data["by_iterations"] else ["?", "?"]
    b.set_xlabel("warm-frame budget (--iterations)")
    b.set_ylabel("seconds per frame\n(wall unless CPU)")
    b.set_xscale("log", base=2)
    b.set_xticks(budgets, [str(x) for x in budgets])
    b.set_title(f"s/frame vs iterations at {size[0]}×{size[1]}", fontsize=10)
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    _save(fig, path)


def plot_iterations(data: dict[str, Any], path: Path) -> None:
    plt = _plt()
    run = data["run"]
    fig, ax = plt.subplots(figsize=(9, 2.8))
    frames = run["per_frame"]
    colors = ["C3" if not f["warm"] else ("C2" if f["stopped_early"] else "C0") for f in frames]
    ax.bar(range(len(frames)), [f["iterations"] for f in frames], color=colors, width=0.85)
    ax.set_xlabel("frame")
    ax.set_ylabel("L-BFGS iterations")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color="C3", label="first frame of a shot"), Patch(color="C0", label="warm, full budget"),
                       Patch(color="C2", label="warm, stopped early")], fontsize=7, loc="upper center", ncol=3)
    ax.set_ylim(0, max(f["iterations"] for f in frames) * 1.35)
    ax.set_title(f"iterations per frame, demo settings ({run['size'][0]}×{run['size'][1]}, "
                 f"--first-iterations {data['params']['first_iterations']} --iterations "
                 f"{data['params']['iterations']})", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    _save(fig, path)


def plot_stages(data: dict[str, Any], path: Path) -> None:
    plt = _plt()
    rows = stage_shares(data["run"]["stages"])
    fig, ax = plt.subplots(figsize=(9, 3.0))
    names = [r["stage"] + (" (bg)" if r["background"] else "") for r in rows]
    secs = [max(r["seconds"], 1e-3) for r in rows]
    ax.barh(names, secs, color=["C7" if r["background"] else "C0" for r in rows])
    for i, r in enumerate(rows):
        ax.text(secs[i], i, f" {r['seconds']:.2f} s ({r['share']:.1%})" if r["share"] >= 0.01 else
                f" {r['seconds']:.2f} s ({r['share']:.2%})", va="center", fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(1e-3, max(secs) * 30)
    ax.set_xlabel("seconds (log); bg = background thread, overlaps with optimise")
    ax.set_title(f"stage times of the demo run, total {data['run']['stages']['total']:.1f} s", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def plot_tradeoff(data: dict[str, Any], path: Path) -> None:
    plt = _plt()
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    xs = [r["warping_error"] for r in rows]
    ys = [r["style_distance"] for r in rows]
    ax.plot(xs, ys, "-", color="C7", alpha=0.5)
    for r in rows:
        default = r["weight"] == DEFAULT_TEMPORAL_WEIGHT
        ax.plot(r["warping_error"], r["style_distance"], "*" if default else "o", ms=12 if default else 7,
                color="C3" if r["weight"] == 0 else ("C1" if default else "C0"))
        ax.annotate(f"w={weight_label(r['weight'])}", (r["warping_error"], r["style_distance"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    floor = rows[0]["input_warping_error"] if rows else None
    if floor:
        ax.axvline(floor, color="C2", linestyle="--", linewidth=1)
        ax.annotate("input clip's own warping error", (floor, max(ys)), textcoords="offset points",
                    xytext=(4, -2), fontsize=7, color="C2", rotation=90, va="top")
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("warping error, k=1 (log; lower = less flicker)")
    ax.set_ylabel("style distance to the style image\n(lower = more stylised)")
    ax.set_title("temporal weight: flicker vs style", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    _save(fig, path)


def plot_flow(data: dict[str, Any], path: Path) -> None:
    plt = _plt()
    from matplotlib.ticker import ScalarFormatter

    fig, ax = plt.subplots(figsize=(7, 3.8))
    for j, size in enumerate(data["params"]["sizes"]):
        speed = {r["method"]: r for r in data["speed"] if list(r["size"]) == list(size)}
        for i, acc in enumerate(data["accuracy"]):
            s = speed.get(acc["method"])
            if s is None:
                continue
            x, y = acc["epe"]["affine+occluder"], s["pair_s_cpu"]
            ax.plot(x, y, "os^"[j % 3], color=f"C{i}", ms=8,
                    label=f"{size[0]}×{size[1]}" if i == 0 else None, markerfacecolor="none" if j else None)
            if j == 0:
                ax.annotate(acc["method"], (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.legend(fontsize=7, title="frame size", title_fontsize=7)
    ax.set_xlabel("EPE on the affine+occluder scene (px, lower is better)")
    ax.set_ylabel("pair() frames/s\n(CPU-time rate, 1 OpenCV thread)")
    ax.set_title("flow backends: speed vs accuracy", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    _save(fig, path)


PLOTS = {"speed": [("speed", plot_speed)], "demo": [("iterations", plot_iterations), ("stages", plot_stages)],
         "tradeoff": [("tradeoff", plot_tradeoff)], "flow": [("flow", plot_flow)],
         "moving": [], "style_weight": []}  # these two show frame sheets written while measuring
