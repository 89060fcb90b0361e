"""Regenerate docs/benchmarks.md: speed, iterations, the temporal trade-off, flow backends and stage shares.

Every section runs the public API (``videostyle.video.stylize``, ``videostyle.metrics.measure_clips``) or the
existing benchmark functions (``benchmarks/flow_bench.py``) on the bundled ``sample_media/`` clip at small CPU
sizes with the offline ``vgg16-hed`` backbone, writes its raw numbers to ``docs/benchmarks/<section>.json`` and its
plot to ``docs/benchmarks/<section>.png``; the page is then rendered from every JSON present, so a section can be
regenerated on its own and merged into the page::

    make benchmarks                                              # everything (about 25 min on 2 CPU cores)
    .venv/bin/python benchmarks/make_page.py --only tradeoff     # one section (speed, demo, tradeoff, flow)
    .venv/bin/python benchmarks/make_page.py --render            # re-render the page from the JSON only
    .venv/bin/python benchmarks/make_page.py --quick             # smoke run, into a temporary folder

``--quick`` uses tiny budgets and writes into a temporary folder (printed), never over the committed page.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "sample_media/sample.mp4"
SAMPLE_STYLE = "sample_media/style.png"
SECTIONS = ("speed", "demo", "tradeoff", "flow")
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
}
QUICK = {
    "speed": {"frames": 3, "sizes": [64, 96], "size_iterations": 5, "iteration_size": 64,
              "iteration_budgets": [5, 10], "first_iterations": 5},
    "demo": {"size": 64, "first_iterations": 10, "iterations": 5, "frames": 6},
    "tradeoff": {"frames": 4, "size": 64, "first_iterations": 10, "iterations": 5,
                 "weights": [0.0, 200.0, 10000.0]},
    "flow": {"repeat": 1, "sizes": [[320, 180]]},
}


# --------------------------------------------------------------------------------------------------- machine


def machine(threads: int) -> dict[str, Any]:
    """What the numbers were measured on (no paths of the machine)."""
    import cv2
    import torch

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--", "videostyle"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout
        dirty = sorted(line[3:].strip() for line in status.splitlines() if line.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, []
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "requested_threads": threads,
        "opencv": cv2.__version__,
        "gpu": bool(torch.cuda.is_available()),
        "load_average_before": list(os.getloadavg()),
        "git_commit": commit,
        "uncommitted_package_files": dirty,  # the run used the working tree, which may differ from the commit
    }


# --------------------------------------------------------------------------------------------------- runs


def stylize_run(work: Path, name: str, *, size: int, first_iterations: int, iterations: int,
                temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT, max_frames: int | None = None,
                style: str = SAMPLE_STYLE, output_ext: str = ".mkv", preview: bool = False) -> dict[str, Any]:
    """One ``videostyle.video.stylize`` call on the sample clip; returns its report plus wall and CPU seconds."""
    from videostyle.config import RangeConfig, StyleConfig, StylizeConfig, VideoConfig
    from videostyle.video import stylize

    out = work / f"{name}{output_ext}"
    config = StylizeConfig(
        input=str(ROOT / SAMPLE), output=str(out), styles=(str(ROOT / style),),
        style=StyleConfig(model="vgg16-hed", device="cpu"),
        video=VideoConfig(size=size, first_iterations=first_iterations, iterations=iterations,
                          temporal_weight=temporal_weight),
        range=RangeConfig(max_frames=max_frames), work_dir=str(work / f"{name}.work"),
        preview=str(work / f"{name}_preview.mp4") if preview else None, force=True, quiet=True,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    report = stylize(config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {name}: {report['frames']} frames at {report['size'][0]}x{report['size'][1]}, "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    return {"report": report, "wall_s": wall, "cpu_s": cpu, "output": out}


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


def _slim(run: dict[str, Any]) -> dict[str, Any]:
    """What the JSON keeps of a run: timings, per-frame iterations/seconds, stages."""
    report = run["report"]
    return {
        "frames": report["frames"], "size": report["size"], "model": report["model"], "shots": report["shots"],
        "wall_s": run["wall_s"], "cpu_s": run["cpu_s"], "stages": report["stages"],
        "iterations": report["iterations"],
        "per_frame": [{"warm": f.get("warm"), "iterations": f.get("iterations"), "seconds": f.get("seconds"),
                       "stopped_early": f.get("stopped_early"), "shot_start": f.get("shot_start")}
                      for f in report["per_frame"]],
        "summary": frame_summary(report["per_frame"]),
    }


def section_speed(p: dict[str, Any], work: Path, out: Path) -> dict[str, Any]:
    """s/frame against working size (fixed budget) and against the warm-frame budget (fixed size)."""
    by_size, by_iterations = [], []
    for size in p["sizes"]:
        run = stylize_run(work, f"speed_size{size}", size=size, first_iterations=p["first_iterations"],
                          iterations=p["size_iterations"], max_frames=p["frames"])
        by_size.append({"size": size, **_slim(run)})
    for budget in p["iteration_budgets"]:
        run = stylize_run(work, f"speed_it{budget}", size=p["iteration_size"], first_iterations=p["first_iterations"],
                          iterations=budget, max_frames=p["frames"])
        by_iterations.append({"budget": budget, **_slim(run)})
    return {"params": p, "by_size": by_size, "by_iterations": by_iterations}


def section_demo(p: dict[str, Any], work: Path, out: Path) -> dict[str, Any]:
    """The `make demo` settings on the whole sample clip (with the preview): stage times and iterations per frame."""
    run = stylize_run(work, "demo", size=p["size"], first_iterations=p["first_iterations"],
                      iterations=p["iterations"], max_frames=p["frames"], output_ext=".mp4", preview=True)
    return {"params": p, "run": _slim(run)}


def section_tradeoff(p: dict[str, Any], work: Path, out: Path) -> dict[str, Any]:
    """Warping error (Lai et al., k=1, flow on the input) and style distance for each temporal weight.

    Also writes ``tradeoff_frames.png``: a few frames of each weight's result under the source's, to look at.
    """
    from videostyle import media
    from videostyle.metrics import measure_clips

    rows, sheet = [], []
    for weight in p["weights"]:
        run = stylize_run(work, f"tradeoff_tw{weight:g}", size=p["size"], first_iterations=p["first_iterations"],
                          iterations=p["iterations"], temporal_weight=weight, max_frames=p["frames"])
        m = measure_clips(str(ROOT / SAMPLE), str(run["output"]), offsets=(1,), style=str(ROOT / SAMPLE_STYLE),
                          model="vgg16-hed", detect_cuts=False, max_frames=p["frames"])
        rows.append({"weight": weight, "warping_error": m["warping_error"]["1"]["mean"],
                     "warping_error_per_frame": m["warping_error"]["1"]["per_frame"],
                     "input_warping_error": m["input_warping_error"]["1"]["mean"],
                     "style_distance": m["style_distance"]["mean"],
                     "content_distance": m["content_distance"]["mean"], **_slim(run)})
        print(f"    warping error {rows[-1]['warping_error']:.5f} (input {rows[-1]['input_warping_error']:.5f}), "
              f"style distance {rows[-1]['style_distance']:.4f}", flush=True)
        with media.open_reader(run["output"]) as reader:
            frames = [f.image for f in reader]
        if not sheet:
            with media.open_reader(ROOT / SAMPLE, size=reader.size, max_frames=p["frames"]) as src:
                sheet.append(("source", [f.image for f in src]))
        sheet.append((f"w={weight_label(weight)}", frames))
    write_frame_sheet(sheet, out / "tradeoff_frames.png")
    return {"params": p, "rows": rows, "frames_sheet": "tradeoff_frames.png"}


def frame_columns(count: int, columns: int = 4) -> list[int]:
    """``columns`` frame indices spread over ``count`` frames, ending with the last (where drift has piled up)."""
    if count <= columns:
        return list(range(count))
    step = (count - 1) / (columns - 1)
    return sorted({round(i * step) for i in range(columns)})


def write_frame_sheet(rows: list[tuple[str, list[Any]]], path: Path, scale: int = 2) -> None:
    """Rows of frames (labelled, nearest-neighbour enlarged ``scale``×) into one PNG."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    cols = frame_columns(min(len(frames) for _, frames in rows))
    h, w = rows[0][1][0].shape[:2]
    tw, th, label_w, gap, top = w * scale, h * scale, 130, 3, 18
    canvas = Image.new("RGB", (label_w + len(cols) * (tw + gap), top + len(rows) * (th + gap)), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=12)
    for c, t in enumerate(cols):
        draw.text((label_w + c * (tw + gap) + 2, 2), f"frame {t}", fill="black", font=font)
    for r, (label, frames) in enumerate(rows):
        y = top + r * (th + gap)
        draw.text((4, y + th // 2 - 7), label, fill="black", font=font)
        for c, t in enumerate(cols):
            tile = Image.fromarray(np.asarray(frames[t])).resize((tw, th), Image.Resampling.NEAREST)
            canvas.paste(tile, (label_w + c * (tw + gap), y))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)  # keeps the PNG small


def section_flow(p: dict[str, Any], work: Path, out: Path) -> dict[str, Any]:
    """Each flow backend's speed (one OpenCV thread) and accuracy on the synthetic scenes (benchmarks/flow_bench)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import flow_bench

    from videostyle.flow import configure_threads

    configure_threads(1)
    sizes = [tuple(s) for s in p["sizes"]]
    return {"params": p, "methods": flow_bench.METHODS,
            "speed": flow_bench.speed_rows(flow_bench.METHODS, p["repeat"], sizes),
            "accuracy": flow_bench.accuracy_rows(flow_bench.METHODS)}


RUNNERS = {"speed": section_speed, "demo": section_demo, "tradeoff": section_tradeoff, "flow": section_flow}


# --------------------------------------------------------------------------------------------------- numbers


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


# --------------------------------------------------------------------------------------------------- plots


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
         "tradeoff": [("tradeoff", plot_tradeoff)], "flow": [("flow", plot_flow)]}


# --------------------------------------------------------------------------------------------------- page


def section_command(name: str) -> str:
    return f".venv/bin/python benchmarks/make_page.py --only {name}"


def _machine_line(m: dict[str, Any], elapsed: float | None) -> str:
    load = m.get("load_average_before") or [float("nan")]
    after = m.get("load_average_after") or [float("nan")]
    took = f", section took {elapsed / 60:.1f} min" if elapsed is not None else ""
    dirty = m.get("uncommitted_package_files")
    tree = f" plus uncommitted changes to {', '.join(f'`{f}`' for f in dirty)}" if dirty else ""
    return (f"*Measured {m.get('date_utc')} at commit `{m.get('git_commit')}`{tree} on a {m.get('cpu_count')}-core "
            f"{m.get('machine')} VM ({'with a GPU, unused' if m.get('gpu') else 'no GPU'}), torch "
            f"{m.get('torch')} with {m.get('torch_threads')} thread(s) (OMP_NUM_THREADS={m.get('omp_num_threads')}), "
            f"OpenCV {m.get('opencv')}; the machine was **shared** with other engineers' jobs (load average "
            f"{load[0]:.1f} before, {after[0]:.1f} after{took}), so wall times carry noise — CPU seconds are shown "
            f"beside them.*")


def _f(x: Any, fmt: str = ".2f") -> str:
    try:
        return format(float(x), fmt)
    except (TypeError, ValueError):
        return "–"


def cpu_share(run: dict[str, Any], threads: int) -> float:
    """CPU seconds / (wall seconds × threads) of a run."""
    return run["cpu_s"] / (run["wall_s"] * threads) if run.get("wall_s") and threads else float("nan")


def render_speed(d: dict[str, Any]) -> list[str]:
    p = d["params"]
    threads = int(d["machine"].get("torch_threads") or 1)
    lines = [f"Sample clip, first {p['frames']} frames (one shot), default temporal weight. Left: working size "
             f"(`--size`) with `--first-iterations {p['first_iterations']} --iterations {p['size_iterations']}`. "
             f"Right: `--size {p['iteration_size']}`, warm budget varied. \"s/frame\" is the wall time of "
             "`Stylizer.run` per frame from the report's `per_frame` records; \"CPU s/frame\" is this process's CPU "
             "time for the whole call (all threads, setup and encoding included) divided by the frames.", "",
             "![s/frame vs size and iterations](benchmarks/speed.png)", "",
             "| size | first frame s | warm frame s (median) | warm frame s (best) | warm iterations run (mean) | "
             "s/iteration (warm) | CPU s/frame | CPU s/iteration | wall s/frame (whole call) | CPU share |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["by_size"]:
        s = r["summary"]
        lines.append(f"| {r['size'][0]}×{r['size'][1]} | {_f(s['first'].get('seconds_median'))} | "
                     f"{_f(s['warm'].get('seconds_median'))} | {_f(s['warm'].get('seconds_min'))} | "
                     f"{_f(s['warm'].get('iterations_mean'), '.1f')} | "
                     f"{_f(s['warm'].get('seconds_per_iteration'), '.3f')} | {_f(r['cpu_s'] / r['frames'])} | "
                     f"{_f(r['cpu_s'] / max(1, sum(r['iterations'])), '.3f')} | {_f(r['wall_s'] / r['frames'])} | {_f(100 * cpu_share(r, threads), '.0f')}% |")
    lines += ["", "| warm budget | warm frame s (median) | warm frame s (best) | warm iterations run (mean) | "
              "stopped early | CPU s/frame | CPU s/iteration | CPU share |", "|---|---|---|---|---|---|---|---|"]
    for r in d["by_iterations"]:
        s = r["summary"]["warm"]
        lines.append(f"| {r['budget']} | {_f(s.get('seconds_median'))} | {_f(s.get('seconds_min'))} | "
                     f"{_f(s.get('iterations_mean'), '.1f')} | {s.get('stopped_early', 0)}/{s.get('count', 0)} | "
                     f"{_f(r['cpu_s'] / r['frames'])} | {_f(r['cpu_s'] / max(1, sum(r['iterations'])), '.3f')} | "
                     f"{_f(100 * cpu_share(r, threads), '.0f')}% |")
    lines += ["", "CPU s/iteration = the whole call's CPU time over all iterations run (so it includes loading the "
              "backbone, style targets, flow, decoding and encoding: an upper bound on one iteration's cost). "
              "CPU share = CPU seconds / (wall seconds × torch threads): how much of its threads' cores the run "
              "actually got (100% = an idle machine). \"best\" = the fastest warm frame, the closest to an idle "
              "machine; the median shows what the shared machine gave."]
    return lines


def render_demo_iterations(d: dict[str, Any], tradeoff: dict[str, Any] | None) -> list[str]:
    run, p = d["run"], d["params"]
    s = run["summary"]
    lines = [f"From the report of the demo run (`make demo` settings: `--size {p['size']} --first-iterations "
             f"{p['first_iterations']} --iterations {p['iterations']}`, "
             f"{'the whole sample clip' if p.get('frames') is None else 'the first frames of the sample clip'}: "
             f"{run['frames']} frames, "
             f"shots start at {run['shots']}). Warm frames start from the warped previous result and may stop "
             "early on convergence.", "", "![iterations per frame](benchmarks/iterations.png)", "",
             "| frames | count | iterations (median) | iterations (mean) | stopped early | s/frame (median) |",
             "|---|---|---|---|---|---|"]
    for kind in ("first", "warm"):
        k = s[kind]
        lines.append(f"| {kind} | {k.get('count', 0)} | {_f(k.get('iterations_median'), '.0f')} | "
                     f"{_f(k.get('iterations_mean'), '.1f')} | {k.get('stopped_early', 0)} | "
                     f"{_f(k.get('seconds_median'))} |")
    if s["first"].get("iterations_median") and s["warm"].get("iterations_median") is not None:
        ratio = s["warm"]["iterations_median"] / s["first"]["iterations_median"]
        budget = p["iterations"] / p["first_iterations"]
        note = (f" — {s['warm'].get('stopped_early', 0)} of {s['warm']['count']} warm frames stopped early, so this "
                f"is the budget ratio ({budget:.2f}), not convergence" if s["warm"].get("stopped_early", 0) == 0
                else f" (budget ratio {budget:.2f}; {s['warm']['stopped_early']} of {s['warm']['count']} warm frames "
                "stopped early)")
        lines += ["", f"Warm / first iterations (medians): **{ratio:.2f}**{note}."]
    if tradeoff:
        lines += ["", f"Warm-frame iterations in the trade-off runs of (c) ({tradeoff['params']['frames']} frames, "
                  f"budgets {tradeoff['params']['first_iterations']}/{tradeoff['params']['iterations']}):", "",
                  "| temporal weight | warm iterations (median) | stopped early |", "|---|---|---|"]
        for r in tradeoff["rows"]:
            w = r["summary"]["warm"]
            if w.get("count"):
                lines.append(f"| {weight_label(r['weight'])} | {_f(w.get('iterations_median'), '.0f')} | "
                             f"{w.get('stopped_early', 0)}/{w['count']} |")
    return lines


def render_tradeoff(d: dict[str, Any]) -> list[str]:
    p = d["params"]
    ratios = {r["weight"]: r for r in tradeoff_ratios(d["rows"])}
    lines = [f"Sample clip, first {p['frames']} frames (one shot: a camera path over the astronaut photo with an "
             f"occluder), `--size {p['size']} --first-iterations {p['first_iterations']} --iterations "
             f"{p['iterations']}`, bundled style, lossless FFV1 output, then `videostyle metrics` "
             "(`measure_clips`): warping error of Lai et al. with k=1 and flow on the input, and the mean "
             "Gram-matrix style distance of the stylised frames to the style image (VGG16-HED features). Weight 0 "
             "is the per-frame baseline (every frame from the content with the first-frame budget).", "",
             "![warping error vs style distance](benchmarks/tradeoff.png)", "",
             "| temporal weight | warping error | × baseline | style distance | × baseline | content distance | "
             "warm iterations (median) | wall s | CPU s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        q = ratios[r["weight"]]
        lines.append(f"| {weight_label(r['weight'])} | {_f(r['warping_error'], '.5f')} | "
                     f"{_f(q['warping_error_ratio'], '.3f')} | {_f(r['style_distance'], '.4f')} | "
                     f"{_f(q['style_distance_ratio'], '.3f')} | {_f(r['content_distance'], '.3f')} | "
                     f"{_f(r['summary']['warm'].get('iterations_median'), '.0f')} | {_f(r['wall_s'], '.0f')} | "
                     f"{_f(r['cpu_s'], '.0f')} |")
    if d["rows"]:
        lines += ["", f"The input clip's own warping error (dashed line; what `videostyle metrics` reports as the "
                  f"input floor): {_f(d['rows'][0]['input_warping_error'], '.5f')}. It is a reference rather than a "
                  "hard floor: warping a detailed photo by sub-pixel flow does not reproduce the next frame exactly, "
                  "whereas a temporally held result is built from the same warp of its previous frame, so it can "
                  "score below the input; very low values with a rising style distance are the sign of a result "
                  "frozen to its first frame and blurred by repeated warping."]
    if d.get("frames_sheet"):
        lines += ["", "The last frames of each run (enlarged 2×, nearest neighbour) — look for flicker between "
                  "columns in the per-frame row, and for smears, ghost trails or washed-out texture at high weights:",
                  "", f"![frames of each run](benchmarks/{d['frames_sheet']})"]
    return lines


def render_flow(d: dict[str, Any]) -> list[str]:
    sizes = [tuple(s) for s in d["params"]["sizes"]]
    lines = ["Reuses `benchmarks/flow_bench.py` (`speed_rows`, `accuracy_rows`; details and more conditions in "
             "[benchmarks/flow.md](../benchmarks/flow.md)). Speed: a photo panned by (3.5, −2.0) px per frame, one "
             "OpenCV thread, best of " + str(d["params"]["repeat"]) + "; \"pair()\" = backward + forward flow + "
             "consistency mask, what the engine computes per frame. Accuracy: mean end-point error on the "
             "synthetic scenes (256×192) and the mask's catch rate on the occluder scene (deterministic).", "",
             "![flow speed vs EPE](benchmarks/flow.png)", "",
             "| method | " + " | ".join(f"{w}×{h} pair()/s (CPU-time rate)" for w, h in sizes)
             + " | EPE translation | EPE affine+occluder | disoccluded → unreliable |",
             "|---|" + "---|" * (len(sizes) + 3)]
    acc = {r["method"]: r for r in d["accuracy"]}
    for method in d["methods"]:
        cells = []
        for size in sizes:
            s = next((r for r in d["speed"] if r["method"] == method and tuple(r["size"]) == size), None)
            cells.append(f"{_f(s['pair_s'], '.1f')} ({_f(s['pair_s_cpu'], '.1f')})" if s else "–")
        a = acc.get(method, {})
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {_f(a.get('epe', {}).get('translation'), '.3f')} | "
                     f"{_f(a.get('epe', {}).get('affine+occluder'), '.3f')} | "
                     f"{_f(a.get('disoccluded_unreliable', float('nan')) * 100, '.1f')}% |")
    return lines


def render_stages(d: dict[str, Any]) -> list[str]:
    run = d["run"]
    lines = ["From the same demo run's report (`stages`). decode, shots and flow run in a background thread "
             "(the `Prefetcher`) and overlap with optimise; `waiting` is the main thread blocked on them. Shares are "
             f"of the total wall time ({_f(run['stages']['total'], '.1f')} s; CPU {_f(run['cpu_s'], '.1f')} s over "
             f"{run['frames']} frames).", "", "![stage times](benchmarks/stages.png)", "",
             "| stage | seconds | share of total | thread |", "|---|---|---|---|"]
    for r in stage_shares(run["stages"]):
        lines.append(f"| {r['stage']} | {_f(r['seconds'], '.2f')} | {_f(r['share'] * 100, '.2f')}% | "
                     f"{'background' if r['background'] else 'main'} |")
    return lines


def _duration(results: dict[str, dict[str, Any]]) -> str:
    """How long the sections present took when they were measured."""
    parts = [(name, results[name]["elapsed_s"] / 60) for name in SECTIONS if results.get(name, {}).get("elapsed_s")]
    if not parts:
        return "about 25 minutes on the shared 2-core VM"
    return (f"{sum(m for _, m in parts):.0f} minutes on the shared 2-core VM: "
            + ", ".join(f"{name} {m:.0f}" for name, m in parts) + " min")


def render_page(results: dict[str, dict[str, Any]]) -> str:
    """The Markdown page from whichever section results are present."""
    lines = ["# Benchmarks", "",
             "Generated by `benchmarks/make_page.py` — do not edit by hand. Regenerate everything with",
             "", "```sh", "make benchmarks", "```", "",
             f"({_duration(results)}; `.venv/bin/python benchmarks/make_page.py --only SECTION` redoes one "
             "section and re-renders this page from every `docs/benchmarks/*.json` present; `--render` only "
             "re-renders). All runs: CPU, offline `vgg16-hed` backbone, the bundled `sample_media/sample.mp4` "
             "(320×180, 24 fps, a cut at frame 35) and `sample_media/style.png`. Raw numbers: "
             "`docs/benchmarks/<section>.json`. Older per-component benchmarks: `benchmarks/*.md`.", "",
             "**Threads and a shared machine.** The page is measured with one torch thread (`--threads 1`, "
             "OMP_NUM_THREADS=1) on a 2-core VM that other engineers' test runs and experiments kept busy (load "
             "averages below). With two OpenMP threads on an oversubscribed machine every operation's barrier waits "
             "for a descheduled sibling: on 2026-11-22 at load 12, `Stylizer.run` at 128×72 took 3.7–5.8 s wall and "
             "1.1–1.2 s CPU per iteration with 2 threads against 1.3 s wall and 0.20 s CPU with 1 thread. So CPU "
             "seconds (1 thread) are the number to compare and to scale from — they are what one idle core does; "
             "wall seconds are what this shared machine gave, and the CPU share (CPU s / wall s) says how shared it "
             "was. On an idle machine wall ≈ CPU with 1 thread; 2 threads help only when both cores are free (a "
             "quiet-machine 1-vs-2-thread comparison was not possible in this session).", ""]

    def header(title: str, name: str) -> None:
        d = results[name]
        lines.extend([f"## {title}", "", f"```sh\n{section_command(name)}\n```", "",
                      _machine_line(d["machine"], d.get("elapsed_s")), ""])
        if d.get("quick"):
            lines.extend(["**Smoke run (`--quick`): tiny budgets, the numbers mean nothing.**", ""])

    def missing(title: str, name: str) -> None:
        lines.extend([f"## {title}", "", f"Not generated yet: `{section_command(name)}`.", ""])

    parts = [("(a) Seconds per frame against size and iterations", "speed", render_speed),
             ("(b) Iterations of first vs warm frames", "demo",
              lambda d: render_demo_iterations(d, results.get("tradeoff"))),
             ("(c) Flicker vs style: warping error against temporal weight", "tradeoff", render_tradeoff),
             ("(d) Flow backends: speed and accuracy", "flow", render_flow),
             ("(e) Where the time goes: stages at the demo settings", "demo", render_stages)]
    for title, name, render in parts:
        if name in results:
            header(title, name)
            lines.extend(render(results[name]))
            lines.append("")
        else:
            missing(title, name)
    return "\n".join(lines).rstrip() + "\n"


def load_results(folder: Path) -> dict[str, dict[str, Any]]:
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in SECTIONS
            if (folder / f"{name}.json").is_file()}


def write_page(docs: Path) -> Path:
    folder = docs / "benchmarks"
    results = load_results(folder)
    for name, data in results.items():
        for plot_name, plot in PLOTS[name]:
            plot(data, folder / f"{plot_name}.png")
    page = docs / "benchmarks.md"
    page.write_text(render_page(results))
    return page


# --------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--only", default=None, help=f"comma-separated sections to run: {', '.join(SECTIONS)}")
    ap.add_argument("--quick", action="store_true", help="tiny budgets, into a temporary folder (smoke run)")
    ap.add_argument("--render", action="store_true", help="only re-render the page and plots from the JSON present")
    ap.add_argument("--docs", default=None, help="folder holding benchmarks.md and benchmarks/ (default: docs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a shared machine 2 OpenMP threads spin-wait, see the page)")
    ap.add_argument("--keep-work", action="store_true", help="keep the stylised clips (printed folder)")
    args = ap.parse_args(argv)

    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported
    sections = list(SECTIONS) if not args.only else [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}: expected {', '.join(SECTIONS)}")
    docs = Path(args.docs) if args.docs else (Path(tempfile.mkdtemp(prefix="videostyle-bench-quick-"))
                                              if args.quick else ROOT / "docs")
    if args.render:
        print(f"wrote {write_page(docs)}")
        return 0

    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(args.threads)
    params = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="videostyle-bench-"))
    (docs / "benchmarks").mkdir(parents=True, exist_ok=True)
    try:
        for name in sections:
            print(f"[{time.strftime('%H:%M:%S')}] section {name}", flush=True)
            info = machine(args.threads)
            t0 = time.perf_counter()
            data = RUNNERS[name](params[name], work, docs / "benchmarks")
            info["load_average_after"] = list(os.getloadavg())
            data.update(machine=info, elapsed_s=time.perf_counter() - t0, quick=args.quick,
                        command=section_command(name))
            (docs / "benchmarks" / f"{name}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
            print(f"  {name} done in {data['elapsed_s'] / 60:.1f} min", flush=True)
    finally:
        if args.keep_work:
            print(f"kept the stylised clips in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {write_page(docs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
