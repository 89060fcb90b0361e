"""Warm frames against the per-frame baseline at 256 px, on four generated clips (issue 22).

All four are a camera moving over a photo while a textured subject enters and crosses the frame (made with
:func:`synthetic.moving_scene` at 1.5× the working size, lossless FFV1):

* ``tuning`` — the clip the warm-frame stop rule was tuned on: ``astronaut`` panned to the right, the centre of
  ``chelsea`` entering from the left;
* ``heldout`` — a clip not used for tuning: ``coffee`` panned up and to the left, the centre of ``astronaut``
  entering from the right and drifting down;
* ``third`` — made after the defaults were final, and run once, as a clean held-out check: ``rocket`` panned down
  and to the right, the centre of ``coffee`` (a cup) entering from the top and drifting right. It missed, and
  ``--fill cold`` was then chosen on it (session 9), so it is a tuning clip now;
* ``fourth`` — made after ``--fill cold`` was final, and run once, as the next clean held-out check: ``chelsea``
  panned up and to the left, the centre of ``rocket`` entering from the right and rising.

Each clip is stylised twice with the offline VGG16-HED backbone: the per-frame baseline (``--temporal-weight 0``)
on the first ``--baseline-frames`` frames, and the optimisation mode at its defaults on ``--frames`` frames, with
the same budgets. Each is measured on its own frames (warping error, style distance plain and grid-free, content
distance, moving-content stylisation: :func:`videostyle.metrics.measure_clips`; the entering subject's legibility:
``temporal_bench.subject_legibility``); time per frame is the run's wall
time without set-up over its frames. Writes a JSON of the numbers and a JPEG sheet (source, baseline, temporal) at
frames where things move.

    python benchmarks/warm_bench.py --work WORK --style ../shared/media/starry_night.jpg --threads 1 \\
        --out benchmarks/results/warm.json --sheet docs/benchmarks/warm_sheet.jpg
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from videostyle import media
from videostyle.config import FILLS, RangeConfig, StyleConfig, StylizeConfig, VideoConfig
from videostyle.metrics import measure_clips
from videostyle.tuning import TUNING, EngineTuning
from videostyle.video import stylize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
import synthetic  # noqa: E402
from fast_bench import video_size  # noqa: E402
from temporal_bench import subject_legibility  # noqa: E402

CLIPS = ("tuning", "heldout", "third", "fourth")


def scene(name: str, frames: int, size: tuple[int, int]) -> synthetic.Scene:
    """The clip ``name`` (source size ``size`` = (w, h)); the subject crosses a third of the frame in 16 frames."""
    w, h = size
    sw, sh = w // 3, int(h * 0.55)
    if name == "tuning":
        return synthetic.moving_scene(frames=frames, size=size, photo_name="astronaut", velocity=(1.2, 0.4),
                                      wobble=1.0, occluder_size=(sw, sh), occluder_velocity=(w / 48.0, 0.3),
                                      occluder_start=(-sw / w * 0.8, 0.3), subject="chelsea")
    if name == "heldout":
        return synthetic.moving_scene(frames=frames, size=size, photo_name="coffee", velocity=(-0.9, -0.7),
                                      wobble=1.5, occluder_size=(sw, sh), occluder_velocity=(-w / 40.0, 0.8),
                                      occluder_start=(1.0 - sw / w * 0.2, 0.15), subject="astronaut")
    if name == "third":
        return synthetic.moving_scene(frames=frames, size=size, photo_name="rocket", velocity=(0.7, 0.9),
                                      wobble=1.2, occluder_size=(sw, sh), occluder_velocity=(0.6, h / 26.0),
                                      occluder_start=(0.35, -0.5), subject="coffee")
    if name == "fourth":
        return synthetic.moving_scene(frames=frames, size=size, photo_name="chelsea", velocity=(-0.8, -0.6),
                                      wobble=1.0, occluder_size=(sw, sh), occluder_velocity=(-w / 42.0, -0.4),
                                      occluder_start=(1.0 - sw / w * 0.1, 0.35), subject="rocket")
    raise ValueError(f"unknown clip {name!r}")


def make_clip(work: Path, name: str, frames: int, size: int) -> tuple[Path, np.ndarray]:
    """The clip's file (made once) and the subject's box per frame."""
    path = work / f"{name}.mkv"
    w = size * 3 // 2  # the source at 1.5x the working size, 16:9
    s = scene(name, frames, (w, w * 9 // 16 // 2 * 2))
    if not path.exists():
        synthetic.write_clip(path, s.frames, fps=24, audio=False, codec="ffv1")
    return path, s.occluder_boxes


def config_for(name: str, run: str, clip: Path, work: Path, ns: argparse.Namespace) -> StylizeConfig:
    baseline = run == "baseline"
    video = VideoConfig(size=ns.size, first_iterations=ns.first_iterations, iterations=ns.iterations,
                        temporal_weight=0.0 if baseline else VideoConfig().temporal_weight, fill=ns.fill)
    return StylizeConfig(
        input=str(clip), output=str(work / f"{name}_{run}.mkv"), styles=(ns.style,),
        style=StyleConfig(model="vgg16-hed"), video=video,
        range=RangeConfig(max_frames=ns.baseline_frames if baseline else ns.frames),
        force=True, quiet=True, work_dir=str(work / f"{name}_{run}.work"),
        report=str(work / f"{name}_{run}.report.json"))


def tuning_from(pairs: str) -> EngineTuning | None:
    """``name=value,...`` over the defaults (variants tried while tuning; None: the defaults)."""
    if not pairs:
        return None
    changes = {}
    for pair in pairs.split(","):
        key, value = pair.split("=")
        default = getattr(TUNING, key)
        changes[key] = type(default)(float(value)) if not isinstance(default, bool) else value == "true"
    return dataclasses.replace(TUNING, **changes)


def run_step(name: str, run: str, ns: argparse.Namespace) -> dict:
    """Stylise clip ``name`` (``run``: baseline or temporal); writes ``WORK/<name>_<run>.json``."""
    import torch

    torch.set_num_threads(ns.threads)
    work = Path(ns.work)
    clip, _ = make_clip(work, name, ns.frames, ns.size)
    config = config_for(name, run, clip, work, ns)
    t0, c0 = time.perf_counter(), time.process_time()
    report = stylize(config, tuning=tuning_from(ns.set) if run == "temporal" else None)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    per = report["per_frame"]
    warm = [f for f in per if f["warm"]]
    entry = {"clip": name, "run": run, "frames": report["frames"], "seconds": seconds, "cpu_seconds": cpu,
             "setup": report["stages"]["setup"], "stages": report["stages"],
             "seconds_per_frame": (seconds - report["stages"]["setup"]) / report["frames"],
             "cpu_per_frame": cpu / report["frames"],
             "first_iterations": [f["iterations"] for f in per if not f["warm"]],
             "warm_iterations": [f["iterations"] for f in warm],
             "warm_stopped_by": {r: sum(1 for f in warm if f.get("stopped_by") == r)
                                 for r in ("settled", "budget", "tolerance")},
             "per_frame": [{k: f.get(k) for k in ("index", "warm", "iterations", "budget", "new_share", "stopped_by",
                                                  "phases", "seconds", "effort")} for f in per],
             "tuning": ns.set if run == "temporal" else ""}
    (work / f"{name}_{run}.json").write_text(json.dumps(entry, indent=2, default=str))
    print(name, run, json.dumps({k: v for k, v in entry.items() if k not in ("stages", "per_frame")}), flush=True)
    return entry


def from_store(name: str, run: str, ns: argparse.Namespace) -> dict:
    """A run that was stopped before it finished (the baseline, on a loaded machine): its entry from the frames its
    store holds (each record's optimisation seconds; no wall time), and those frames encoded losslessly as its
    clip (RGB, as the engine writes ffv1: session 8 wrote them 4:2:0, whose blurred colour raised the baselines'
    style distance by a quarter and flattered the temporal runs' ratio). Its time per frame is then the
    optimisation's alone, which leaves out decoding and encoding: it makes the baseline faster, not slower."""
    work = Path(ns.work)
    [store] = [d for d in (work / f"{name}_{run}.work").iterdir() if (d / "p1").is_dir()]
    records = sorted((store / "p1").glob("*.json"))
    per = [json.loads(r.read_text()) for r in records]
    frames = np.stack([media.read_image(r.with_suffix(".png")) for r in records])
    synthetic.write_clip(work / f"{name}_{run}.mkv", frames, fps=24, audio=False, codec="ffv1", pix_fmt="bgr0")
    seconds = float(sum(f["seconds"] for f in per))
    entry = {"clip": name, "run": run, "frames": len(per), "seconds": None, "from_store": True,
             "seconds_per_frame": seconds / len(per), "cpu_per_frame": None,
             "first_iterations": [f["iterations"] for f in per if not f["warm"]],
             "warm_iterations": [f["iterations"] for f in per if f["warm"]],
             "per_frame": [{k: f.get(k) for k in ("index", "warm", "iterations", "budget", "stopped_by", "seconds")}
                           for f in per]}
    (work / f"{name}_{run}.json").write_text(json.dumps(entry, indent=2, default=str))
    return entry


def _measures(clip: Path, out: Path, ns: argparse.Namespace, frames: int, boxes: np.ndarray) -> dict[str, float]:
    """The measures of ``videostyle metrics`` over the first ``frames``, and the entering subject's legibility
    (``temporal_bench.subject_legibility``: its blurred luma's correlation with the source's, in its box).
    ``moving_change`` / ``static_change``: the two halves of the moving-content stylisation (how far the moving and
    the static pixels lie from their photo), so that a ratio that falls because the background is painted more is
    told apart from a subject painted less."""
    m = measure_clips(str(clip), str(out), offsets=(1,), style=ns.style, model="vgg16-hed", detect_cuts=False,
                      max_frames=frames)
    with media.open_reader(clip) as reader:
        source_size = reader.size
    return {"warping_error": m["warping_error"]["1"]["mean"], "style_distance": m["style_distance"]["mean"],
            "style_distance_grid_free": m["style_distance_grid_free"]["mean"],
            "content_distance": m["content_distance"]["mean"], "moving_stylization": m["moving_stylization"]["ratio"],
            "moving_change": m["moving_stylization"]["moving_mean"],
            "static_change": m["moving_stylization"]["static_mean"],
            "subject_legibility": subject_legibility(clip, out, boxes, source_size, max_frames=frames)}


def measure(ns: argparse.Namespace) -> dict:
    """Measure both runs of each clip on the baseline's frames (the temporal run also on all of its own), and the
    ratios temporal / baseline."""
    work = Path(ns.work)
    out: dict[str, dict] = {}
    for name in ns.clips.split(","):
        clip, boxes = make_clip(work, name, ns.frames, ns.size)
        runs = {r: json.loads((work / f"{name}_{r}.json").read_text()) if (work / f"{name}_{r}.json").exists()
                else from_store(name, r, ns) for r in ("baseline", "temporal")}
        base, temp = runs["baseline"], runs["temporal"]
        common = base["frames"]
        b = _measures(clip, work / f"{name}_baseline.mkv", ns, common, boxes)
        t = _measures(clip, work / f"{name}_temporal.mkv", ns, common, boxes)
        t_all = _measures(clip, work / f"{name}_temporal.mkv", ns, temp["frames"], boxes)
        first = temp["per_frame"][:common]
        t_common = sum(f["seconds"] for f in first) / common  # the temporal run's optimisation time on those frames
        ratios = {k: t[k] / b[k] for k in b}
        ratios["time_per_frame"] = temp["seconds_per_frame"] / base["seconds_per_frame"]
        if base.get("cpu_per_frame"):
            ratios["cpu_per_frame"] = temp["cpu_per_frame"] / base["cpu_per_frame"]
        ratios["optimise_time_per_frame"] = (float(np.mean([f["seconds"] for f in temp["per_frame"]]))
                                             / float(np.mean([f["seconds"] for f in base["per_frame"]])))
        ratios["optimise_time_first_frames"] = t_common / (sum(f["seconds"] for f in base["per_frame"]) / common)
        ratios["iterations_per_frame"] = (float(np.mean([f["iterations"] for f in temp["per_frame"]]))
                                          / float(np.mean([f["iterations"] for f in base["per_frame"]])))
        ratios["warm_vs_first_iterations"] = (float(np.mean(temp["warm_iterations"]))
                                              / float(temp["first_iterations"][0]))
        # effort: full-size evaluations, a warm frame's crops by their area and its cold start (--fill cold) by its
        # size; the per-frame run's frames are all full size (its effort is its iterations)
        effort = [f.get("effort") or f["iterations"] for f in temp["per_frame"]]
        warm_effort = [e for e, f in zip(effort, temp["per_frame"]) if f["warm"]]
        ratios["effort_per_frame"] = (float(np.mean(effort))
                                      / float(np.mean([f["iterations"] for f in base["per_frame"]])))
        ratios["warm_vs_first_effort"] = float(np.mean(warm_effort)) / float(temp["first_iterations"][0])
        out[name] = {"baseline": dict(base, measures=b), "temporal": dict(temp, measures=t, measures_all_frames=t_all),
                     "ratios": ratios}
        print(name, "baseline", b, "\n", name, "temporal", t, "(all frames:", t_all, ")", flush=True)
        for k, v in ratios.items():
            print(f"  {name:8s} {k:32s} {v:.3f}", flush=True)
        if ns.sheet:
            sheet(work, name, clip, common, temp["frames"], ns)
    payload = {"settings": {k: v for k, v in vars(ns).items() if k not in ("work", "out", "sheet", "style")},
               "style": Path(ns.style).name, "clips": out}
    if ns.out:
        Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.out).write_text(json.dumps(payload, indent=2, default=str))
    return payload


def sheet(work: Path, name: str, clip: Path, common: int, frames: int, ns: argparse.Namespace) -> None:
    """Rows: source, baseline, temporal; columns: frames where the subject enters and moves (JPEG, labelled);
    one sheet per clip, ``--sheet`` with the clip's name before the suffix."""
    picks = sorted({int(round(x)) for x in np.linspace(2, common - 1, 3)} | {frames // 2 + 2, frames - 1})
    rows = []
    for label, path in (("source", clip), ("per-frame", work / f"{name}_baseline.mkv"),
                        ("temporal", work / f"{name}_temporal.mkv")):
        with media.open_reader(path, max_frames=frames, size=None if label != "source" else video_size(
                work / f"{name}_temporal.mkv")) as reader:
            got = {f.index: f.image for f in reader if f.index in picks}
        blank = np.full_like(next(iter(got.values())), 128)  # a frame the run did not make (the baseline's)
        row = np.concatenate([got.get(i, blank) for i in picks], axis=1)
        tag = np.full((row.shape[0], 84, 3), 255, np.uint8)
        cv2.putText(tag, label, (4, row.shape[0] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(np.concatenate([tag, row], axis=1))
    top = np.full((18, rows[0].shape[1], 3), 255, np.uint8)
    for k, i in enumerate(picks):
        cv2.putText(top, f"{name} frame {i}", (84 + k * (rows[0].shape[1] - 84) // len(picks) + 4, 13),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    image = np.concatenate([top] + rows, axis=0)
    path = Path(ns.sheet)
    path = path.with_name(f"{path.stem}_{name}{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="working folder (clips, outputs, per-run results)")
    ap.add_argument("--clips", default=",".join(CLIPS), help=f"comma-separated, of {', '.join(CLIPS)}")
    ap.add_argument("--runs", default="baseline,temporal", help="which runs to make (none: only --measure)")
    ap.add_argument("--measure", action="store_true", help="measure the runs in --work and print the ratios")
    ap.add_argument("--style", default=str(ROOT / "sample_media" / "style.png"))
    ap.add_argument("--frames", type=int, default=16, help="frames of the temporal run")
    ap.add_argument("--baseline-frames", type=int, default=8, help="frames of the per-frame baseline run")
    ap.add_argument("--size", type=int, default=256, help="working size (long side)")
    ap.add_argument("--first-iterations", type=int, default=VideoConfig().first_iterations)
    ap.add_argument("--iterations", type=int, default=VideoConfig().iterations)
    ap.add_argument("--fill", default=VideoConfig().fill, choices=FILLS,
                    help="what the new content of the temporal run's warm frames starts from (--fill)")
    ap.add_argument("--set", default="", help="tuning changes for the temporal run, name=value,... (variants)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the measured results as JSON")
    ap.add_argument("--sheet", default=None, help="write a JPEG sheet per clip (its name added before the suffix)")
    return ap


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    Path(ns.work).mkdir(parents=True, exist_ok=True)
    for name in ns.clips.split(","):
        for run in [r for r in ns.runs.split(",") if r]:
            run_step(name, run, ns)
    if ns.measure:
        measure(ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
