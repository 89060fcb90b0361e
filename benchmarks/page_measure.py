"""Measuring for the benchmarks page (benchmarks/make_page.py): the machine, stylize runs and each section's numbers."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from page_numbers import DEFAULT_TEMPORAL_WEIGHT, ROOT, SAMPLE, SAMPLE_STYLE, frame_summary, weight_label


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
                     "warping_error_boundary_masked": m["warping_error_boundary_masked"]["1"]["mean"],
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


def section_moving(p: dict[str, Any], work: Path, out: Path) -> dict[str, Any]:
    """New content painted: per-frame vs temporal on a subject entering and on the sample (temporal_bench.py).

    Also writes ``moving_frames.png``: source, per-frame and temporal rows of each scene, to look at the subject.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import temporal_bench

    args = ["--frames", str(p["frames"]), "--size", str(p["size"]), "--first-iterations", str(p["first_iterations"]),
            "--iterations", str(p["iterations"]), "--threads", "1", "--scenes", ",".join(p["scenes"]),
            "--weights", ",".join(f"{w:g}" for w in p["weights"]), "--work", str(work / "moving")]
    return moving_section(p, temporal_bench.run(temporal_bench.parser().parse_args(args)), out)


def moving_section(p: dict[str, Any], payload: dict[str, Any], out: Path) -> dict[str, Any]:
    """The section's record from a temporal_bench run (its results and the clips left in its work folder)."""
    import temporal_bench

    from videostyle import media

    sheet = []
    for name in p["scenes"]:
        baseline, temporal = temporal_bench.clips(Path(payload["work"]), name, p["weights"])
        with media.open_reader(temporal) as reader:
            held = [f.image for f in reader]
        with media.open_reader(baseline) as reader:
            per_frame = [f.image for f in reader]
        source_path = ROOT / SAMPLE if name == "sample" else Path(payload["work"]) / f"{name}.mkv"
        with media.open_reader(source_path, size=reader.size, max_frames=len(held)) as src:
            sheet += [(f"{name}: source", [f.image for f in src]), ("per-frame", per_frame), ("temporal", held)]
    write_frame_sheet(sheet, out / "moving_frames.png")
    return {"params": p, "results": payload["results"], "frames_sheet": "moving_frames.png"}


def section_style_weight(p: dict[str, Any], work: Path, out: Path) -> dict[str, Any]:
    """Content and style distance of a person stylised at each style weight, with a strip (style_weight_bench.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import style_weight_bench

    args = ["--photos", ",".join(p["photos"]), "--weights", ",".join(f"{w:g}" for w in p["weights"]),
            "--size", str(p["size"]), "--iterations", str(p["iterations"]), "--strip", str(out / "style_weight.png")]
    payload = style_weight_bench.run(style_weight_bench.parser().parse_args(args))
    return {"params": p, **payload, "strip": "style_weight.png"}


RUNNERS = {"speed": section_speed, "demo": section_demo, "tradeoff": section_tradeoff, "flow": section_flow,
           "moving": section_moving, "style_weight": section_style_weight}
