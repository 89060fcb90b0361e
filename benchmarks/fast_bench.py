"""Fast mode against the optimisation mode and the per-frame baseline, on a generated 10-second clip.

The clip (``fast_scene``): a camera moving over scikit-image's ``astronaut`` while the centre of ``chelsea`` enters
from the left and crosses the frame (new content for its first ~50 frames, a moving subject after), 24 fps, lossless.

Each mode runs as its own step, so that the long ones can run apart and a step that was killed can be rerun alone;
each writes ``WORK/<run>.json`` (wall time, stages, report) and ``WORK/<run>.mkv`` (FFV1):

* ``baseline`` — ``--temporal-weight 0`` on the first ``--baseline-frames`` frames;
* ``optimize`` — the optimisation mode at its defaults on the first ``--compare-frames`` frames (its whole-clip
  time is extrapolated from them: first frame + warm frames × the clip's remaining frames);
* ``fast`` — fast mode at its defaults on the whole clip (``--frames``), everything included;
* ``fast2x`` — fast mode on the same scene generated twice as long (cost against the clip's length);
* ``rerender`` — the ``fast`` run's render again, from its keyframe store and its network's last checkpoint (however
  far its training got), through the same :func:`~videostyle.fast.render.render_clip`: to try the render's settings
  without painting and training again. ``WORK/fast.json`` keeps the first run's other stages; its render stage and
  ``WORK/fast.mkv`` are replaced, and the checkpoint's step is recorded.

``--measure`` then measures every output on the first ``--compare-frames`` frames (warping error, style and content
distance as the picture lies and grid-free, moving-content stylisation: :func:`videostyle.metrics.measure_clips`),
prints the ratios the issue asks for, and writes the JSON and a sheet of the three modes at frames where things move.

    python benchmarks/fast_bench.py --work "$WORK" --steps optimize          # long: run it apart
    python benchmarks/fast_bench.py --work "$WORK" --steps baseline,fast,fast2x
    python benchmarks/fast_bench.py --work "$WORK" --measure --out benchmarks/results/fast.json \\
        --sheet docs/benchmarks/fast_sheet.jpg
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from videostyle import media
from videostyle.config import FastConfig, RangeConfig, StyleConfig, StylizeConfig, VideoConfig
from videostyle.metrics import measure_clips
from videostyle.video import stylize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
import synthetic  # noqa: E402

STEPS = ("baseline", "optimize", "fast", "fast2x", "rerender")


def fast_scene(frames: int, size: tuple[int, int]) -> synthetic.Scene:
    """A camera move over a photo; a textured subject enters from the left at ~1/160 of the width a frame and
    crosses the frame (the same motion whatever ``frames``: a longer clip is the same scene going on)."""
    w, h = size
    sw, sh = w // 3, int(h * 0.55)
    return synthetic.moving_scene(frames=frames, size=size, photo_name="astronaut", velocity=(0.5, 0.2),
                                  wobble=1.0, occluder_size=(sw, sh), occluder_velocity=(w / 160.0, 0.05),
                                  occluder_start=(-sw / w * 0.9, 0.3), subject="chelsea")


def make_clip(work: Path, frames: int, size: int) -> Path:
    path = work / f"clip{frames}.mkv"
    if not path.exists():
        w = size * 3 // 2  # the source at 1.5x the working size, 16:9
        scene = fast_scene(frames, (w, w * 9 // 16 // 2 * 2))
        synthetic.write_clip(path, scene.frames, fps=24, audio=False, codec="ffv1")
        np.save(work / f"clip{frames}_boxes.npy", scene.occluder_boxes)
    return path


def config_for(step: str, clip: Path, work: Path, ns: argparse.Namespace) -> StylizeConfig:
    video = VideoConfig(size=ns.size, temporal_weight=0.0 if step == "baseline" else VideoConfig().temporal_weight)
    compare = {"baseline": ns.baseline_frames, "optimize": ns.compare_frames}.get(step)
    return StylizeConfig(
        input=str(clip), output=str(work / f"{step}.mkv"), styles=(ns.style,), style=StyleConfig(model="vgg16-hed"),
        video=video, range=RangeConfig(max_frames=compare),
        fast=FastConfig(mode="fast" if step.startswith("fast") else "optimize"),
        force=True, quiet=ns.quiet, work_dir=str(work / f"{step}.work"), report=str(work / f"{step}.report.json"))


def rerender(ns: argparse.Namespace) -> dict:
    """The ``fast`` run's render again from its work folder (see the module's docstring)."""
    import torch

    from videostyle.fast.net import StudentNet
    from videostyle.fast.render import render_clip
    from videostyle.tuning import TUNING
    from videostyle.video.prepare import StageTimes
    from videostyle.video.store import FrameStore

    torch.set_num_threads(ns.threads)
    work = Path(ns.work)
    entry = json.loads((work / "fast.json").read_text())
    checkpoint = torch.load(work / "fast.work" / "fast" / "student.ckpt", map_location="cpu", weights_only=True)
    net = StudentNet(FastConfig().net_width, TUNING.student_blocks)
    net.load_state_dict(checkpoint["net"])
    paintings = {int(p.stem): cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
                 for p in sorted((work / "fast.work" / "keyframes" / "frames" / "p1").glob("*.png"))}
    config = config_for("fast", make_clip(work, ns.frames, ns.size), work, ns)
    store = FrameStore(work / "rerender.work", "rerender")
    for old in store.root.glob("frames/p1/*"):
        old.unlink()
    times, extra = StageTimes(), {}
    render_clip(config, video_size(work / "fast.mkv"), store, net, torch.device("cpu"), "fp32", times, extra, TUNING,
                paintings)
    with media.open_writer(work / "fast.mkv", size=video_size(work / "fast.mkv"), codec="ffv1", fps=24) as writer:
        for i in range(ns.frames):
            writer.write(store.get(i))
    entry["seconds"] += times.render - entry["stages"]["render"]
    entry["stages"]["render"] = times.render
    entry["render"] = extra["render"]
    entry["training_checkpoint_step"] = checkpoint["state"]["step"]
    (work / "fast.json").write_text(json.dumps(entry, indent=2, default=str))
    print("rerender", json.dumps({k: entry[k] for k in ("seconds", "render", "training_checkpoint_step")}),
          flush=True)
    return entry


def run_step(step: str, ns: argparse.Namespace) -> dict:
    import torch

    if step == "rerender":
        return rerender(ns)
    torch.set_num_threads(ns.threads)
    work = Path(ns.work)
    clip = make_clip(work, 2 * ns.frames if step == "fast2x" else ns.frames, ns.size)
    config = config_for(step, clip, work, ns)
    t0, c0 = time.perf_counter(), time.process_time()
    report = stylize(config)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    entry = {"step": step, "seconds": seconds, "cpu_seconds": cpu, "frames": report["frames"],
             "stages": report["stages"],
             "iterations_summary": report["iterations_summary"]}
    for key in ("keyframes", "training", "render", "net"):
        if key in report:
            entry[key] = report[key]
    if step == "optimize":  # the whole clip's time from the measured frames: first frame + warm frames
        per = report["per_frame"]
        first = sum(f["seconds"] for f in per if not f["warm"])
        warm = [f["seconds"] for f in per if f["warm"]]
        overhead = seconds - sum(f["seconds"] for f in per)
        entry["extrapolated_seconds"] = first + float(np.mean(warm)) * (ns.frames - 1) + overhead * ns.frames / len(per)
    (work / f"{step}.json").write_text(json.dumps(entry, indent=2, default=str))
    print(step, json.dumps({k: v for k, v in entry.items() if k not in ("stages", "net")}, default=str), flush=True)
    return entry


def measure(ns: argparse.Namespace) -> dict:
    work = Path(ns.work)
    clip = make_clip(work, ns.frames, ns.size)
    runs = {s: json.loads((work / f"{s}.json").read_text()) for s in STEPS if (work / f"{s}.json").exists()}
    for step in runs:
        if step == "fast2x":
            continue
        m = measure_clips(str(clip), str(work / f"{step}.mkv"), offsets=(1,), style=ns.style, model="vgg16-hed",
                          detect_cuts=False, max_frames=ns.compare_frames)
        if step != "baseline" and "baseline" in runs:  # also on the baseline's (fewer) frames
            b = measure_clips(str(clip), str(work / f"{step}.mkv"), offsets=(1,), detect_cuts=False, style=None,
                              max_frames=ns.baseline_frames)
            runs[step]["warping_error_baseline_frames"] = b["warping_error"]["1"]["mean"]
        runs[step]["measures"] = {
            "warping_error": m["warping_error"]["1"]["mean"], "style_distance": m["style_distance"]["mean"],
            "style_distance_grid_free": m["style_distance_grid_free"]["mean"],
            "content_distance": m["content_distance"]["mean"], "moving_stylization": m["moving_stylization"]["ratio"]}
        print(step, runs[step]["measures"], flush=True)
    ratios: dict[str, float] = {}
    if "fast" in runs and "optimize" in runs:
        f, o = runs["fast"]["measures"], runs["optimize"]["measures"]
        for k in f:
            ratios[f"{k}_vs_optimize"] = f[k] / o[k]
        ratios["wall_time_vs_optimize"] = runs["fast"]["seconds"] / runs["optimize"]["extrapolated_seconds"]
    if "fast" in runs and "baseline" in runs:
        ratios["warping_error_vs_baseline"] = runs["fast"]["warping_error_baseline_frames"] / \
            runs["baseline"]["measures"]["warping_error"]
    if "optimize" in runs and "baseline" in runs:
        ratios["optimize_warping_error_vs_baseline"] = runs["optimize"]["warping_error_baseline_frames"] / \
            runs["baseline"]["measures"]["warping_error"]
    if "fast" in runs and "fast2x" in runs:
        ratios["doubled_clip_cost"] = runs["fast2x"]["seconds"] / runs["fast"]["seconds"]
    if "fast" in runs:
        ratios["render_fps"] = runs["fast"]["render"]["network_fps"]
    for k, v in ratios.items():
        print(f"{k:40s} {v:.3f}")
    payload = {"settings": {k: v for k, v in vars(ns).items() if k not in ("work", "out", "sheet", "style")},
               "style": Path(ns.style).name, "runs": runs, "ratios": ratios}
    if ns.out:
        Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.out).write_text(json.dumps(payload, indent=2, default=str))
    if ns.sheet:
        sheet(work, clip, [s for s in ("baseline", "optimize", "fast") if s in runs], ns)
    return payload


def sheet(work: Path, clip: Path, steps: list[str], ns: argparse.Namespace) -> None:
    """Rows: source and each mode; columns: frames where the subject enters and moves (JPEG, labelled)."""
    picks = [int(round(x)) for x in np.linspace(4, ns.compare_frames - 1, 5)]
    rows = []
    for name, path in [("source", clip)] + [(s, work / f"{s}.mkv") for s in steps]:
        with media.open_reader(path, max_frames=ns.compare_frames,
                               size=None if name != "source" else video_size(work / f"{steps[0]}.mkv")) as reader:
            frames = {f.index: f.image for f in reader if f.index in picks}
        blank = np.full_like(next(iter(frames.values())), 128)  # a frame the run did not make (the baseline's)
        row = np.concatenate([frames.get(i, blank) for i in picks], axis=1)
        label = np.full((row.shape[0], 90, 3), 255, np.uint8)
        cv2.putText(label, name, (4, row.shape[0] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(np.concatenate([label, row], axis=1))
    image = np.concatenate(rows, axis=0)
    Path(ns.sheet).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(ns.sheet, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


def video_size(path: Path) -> tuple[int, int]:
    """A video's display size (width, height)."""
    info = media.probe(str(path))
    assert info.video is not None
    return info.video.display_width, info.video.display_height


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="working folder (clips, outputs, per-step results)")
    ap.add_argument("--steps", default="", help=f"comma-separated, of {', '.join(STEPS)}")
    ap.add_argument("--measure", action="store_true", help="measure the outputs there and print the ratios")
    ap.add_argument("--style", default=str(ROOT / "sample_media" / "style.png"))
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--compare-frames", type=int, default=48,
                    help="frames of the optimisation run, and of the comparisons")
    ap.add_argument("--baseline-frames", type=int, default=6, help="frames of the per-frame baseline run")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--out", default=None, help="write the measured results as JSON")
    ap.add_argument("--sheet", default=None, help="write a JPEG sheet of the modes at frames where things move")
    return ap


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    Path(ns.work).mkdir(parents=True, exist_ok=True)
    for step in [s for s in ns.steps.split(",") if s]:
        if step not in STEPS:
            print(f"unknown step {step!r}; expected one of {', '.join(STEPS)}", file=sys.stderr)
            return 2
        run_step(step, ns)
    if ns.measure:
        measure(ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
