"""Temporal coherence against the per-frame baseline, on generated clips with known motion.

Scenes made from scikit-image's public-domain photos (synthetic.media), and the bundled sample:

* ``camera``: a camera path over a photo plus an opaque occluder crossing it (known motion everywhere);
* ``subject``: a static background with a textured subject moving across it (legibility of moving subjects);
* ``entering``: a slow camera over a photo while a textured subject (scikit-image's ``chelsea``) enters from
  off-frame and moves across: new content in every frame;
* ``sample``: the first ``--frames`` frames of ``sample_media/sample.mp4`` (a camera move over the astronaut photo
  while a cat's face enters from the right), at ``--size × 1.5`` on its long side.

For each temporal weight the clip is stylised with the offline VGG16-HED backbone into a lossless FFV1 file and
measured: warping error (Lai et al.; flow on the input, k=1; also with motion boundaries left out of the mask),
style distance to the style image, and on the
``subject``/``entering`` scenes the correlation of blurred luminance between output and input on the subject's
pixels (a smeared or ghosted subject loses it), and the moving-content stylisation of ``videostyle metrics`` (how
painted the moving/new pixels are relative to the static ones). Ratios are against ``--temporal-weight 0``
(independent per-frame stylisation), wall time per frame included.

    python benchmarks/temporal_bench.py --out benchmarks/results/temporal.json [--style PATH] [--weights 0,200]

The style defaults to the bundled sample_media/style.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from videostyle import media
from videostyle.config import RangeConfig, StyleConfig, StylizeConfig, VideoConfig
from videostyle.metrics import measure_clips
from videostyle.video import stylize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
import synthetic  # noqa: E402


def entering_scene(frames: int, size: tuple[int, int]) -> synthetic.Scene:
    """A textured subject entering from the left at a thirtieth of the frame width per frame (it is fully in after
    about ten frames: new content in every frame), under a slow camera."""
    w, h = size
    sw, sh = w // 3, int(h * 0.55)
    speed = w / 30.0
    return synthetic.moving_scene(frames=frames, size=size, photo_name="coffee", velocity=(0.4, 0.15), wobble=0.3,
                                  occluder_size=(sw, sh), occluder_velocity=(speed, 0.2),
                                  occluder_start=(-sw / w, 0.25), subject="chelsea")


def make_scenes(folder: Path, frames: int, size: tuple[int, int],
                names: tuple[str, ...] = ("camera", "subject", "entering"),
                ) -> dict[str, tuple[Path, np.ndarray, tuple[int, int]]]:
    """name -> (clip, the subject's box per frame, the clip's (w, h)); ``sample`` is the bundled clip."""
    makers = {
        "camera": lambda: synthetic.moving_scene(frames=frames, size=size, photo_name="astronaut"),
        "subject": lambda: synthetic.moving_scene(frames=frames, size=size, photo_name="coffee", velocity=(0.0, 0.0),
                                                  wobble=0.0, occluder_size=(size[0] // 3, size[1] // 2),
                                                  occluder_velocity=(-3.0, 0.5)),
        "entering": lambda: entering_scene(frames, size),
    }
    out = {}
    for name in names:
        if name == "sample":  # the bundled clip: a subject entering over a camera move (and a cut at frame 35)
            truth = json.loads((ROOT / "sample_media" / "sample_truth.json").read_text())
            out[name] = (ROOT / "sample_media" / "sample.mp4", np.array(truth["occluder_boxes"]),
                         tuple(truth["size"]))
            continue
        scene = makers[name]()
        path = folder / f"{name}.mkv"
        synthetic.write_clip(path, scene.frames, fps=24, audio=False, codec="ffv1")
        out[name] = (path, scene.occluder_boxes, (scene.frames.shape[2], scene.frames.shape[1]))
    return out


def subject_legibility(input_path: Path, output_path: Path, boxes: np.ndarray, source_size: tuple[int, int],
                       sigma: float = 1.5, max_frames: int | None = None) -> float:
    """Mean over frames of corr(blurred luma(output), blurred luma(input)) on the subject's pixels (``boxes``:
    the subject's (x0, y0, x1, y1) per frame in a source of ``source_size`` = (w, h)); over the first
    ``max_frames`` of the output (None: all)."""
    with media.open_reader(output_path, max_frames=max_frames) as out_reader:
        size = out_reader.size
        outs = [f.image for f in out_reader]
    with media.open_reader(input_path, size=size, max_frames=len(outs)) as in_reader:
        ins = [f.image for f in in_reader]
    sx = size[0] / source_size[0]
    sy = size[1] / source_size[1]
    values = []
    for t in range(1, len(outs)):
        x0, y0, x1, y1 = boxes[t]
        x0, x1 = int(np.ceil(x0 * sx)), int(np.floor(x1 * sx))
        y0, y1 = int(np.ceil(y0 * sy)), int(np.floor(y1 * sy))
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        a = cv2.GaussianBlur(cv2.cvtColor(outs[t], cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), sigma)
        b = cv2.GaussianBlur(cv2.cvtColor(ins[t], cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), sigma)
        pa, pb = a[y0:y1, x0:x1].ravel(), b[y0:y1, x0:x1].ravel()
        values.append(float(np.corrcoef(pa, pb)[0, 1]))
    return float(np.mean(values))


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default=str(ROOT / "sample_media" / "style.png"))
    ap.add_argument("--weights", default="0,200", help="temporal weights; the first is the baseline (use 0)")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--first-iterations", type=int, default=100)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--fill", default=VideoConfig().fill, help="what fills unreliable pixels of the warped init")
    ap.add_argument("--passes", type=int, default=1, help="multi-pass scheme for the temporal runs")
    ap.add_argument("--pass-iterations", type=int, default=50)
    ap.add_argument("--change-tolerance", type=float, default=StyleConfig().change_tolerance)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--scenes", default="camera,subject,entering", help="which generated clips")
    ap.add_argument("--style-weight", type=float, default=StyleConfig().style_weight)
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--out", default=None, help="write the results as JSON")
    ap.add_argument("--baseline-from", default=None, metavar="JSON",
                    help="take the baseline (the first weight) of each scene from an earlier run's results instead "
                         "of running it again (its clips must be in --work); ratios then span two runs")
    return ap


def run(ns: argparse.Namespace) -> dict:
    """Stylise every scene at every temporal weight and measure it; ``{"settings", "results", "work"}``."""
    import torch

    torch.set_num_threads(ns.threads)
    work = Path(ns.work) if ns.work else Path(tempfile.mkdtemp(prefix="videostyle-temporal-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    weights = [float(w) for w in ns.weights.split(",")]
    scenes = make_scenes(work, ns.frames, (ns.size * 3 // 2 // 2 * 2, ns.size), tuple(ns.scenes.split(",")))
    results: dict[str, dict] = {}
    earlier = json.loads(Path(ns.baseline_from).read_text())["results"] if ns.baseline_from else {}
    for name, (clip, boxes, source_size) in scenes.items():
        results[name] = {}
        for w in weights:
            if w == weights[0] and f"{w:g}" in earlier.get(name, {}):
                results[name][f"{w:g}"] = dict(earlier[name][f"{w:g}"], from_earlier_run=True)
                continue
            [out] = clips(work, name, [w])
            config = StylizeConfig(
                input=str(clip), output=str(out), styles=(ns.style,),
                style=StyleConfig(model="vgg16-hed", change_tolerance=ns.change_tolerance,
                                  style_weight=ns.style_weight),
                video=VideoConfig(size=ns.size * 3 // 2, iterations=ns.iterations,
                                  first_iterations=ns.first_iterations, temporal_weight=w, fill=ns.fill,
                                  passes=ns.passes if w > 0 else 1, pass_iterations=ns.pass_iterations),
                range=RangeConfig(max_frames=ns.frames if name == "sample" else None),
                force=True, quiet=True, work_dir=str(work / f"{name}_tw{w:g}.work"),
            )
            t0, c0 = time.perf_counter(), time.process_time()
            report = stylize(config)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            m = measure_clips(str(clip), str(out), offsets=(1,), style=ns.style, model="vgg16-hed",
                              detect_cuts=False)
            entry = {
                "warping_error": m["warping_error"]["1"]["mean"],
                "input_warping_error": m["input_warping_error"]["1"]["mean"],
                "warping_error_boundary_masked": m["warping_error_boundary_masked"]["1"]["mean"],
                "style_distance": m["style_distance"]["mean"],
                "content_distance": m["content_distance"]["mean"],
                "iterations_first_median": report["iterations_summary"]["first_frames_median"],
                "iterations_warm_median": report["iterations_summary"]["warm_frames_median"],
                "effort_warm_mean": _mean([f.get("effort") for f in report["per_frame"] if f.get("warm")]),
                "moving_stylization": m["moving_stylization"]["ratio"],
                "passes": report["passes"],
                "seconds": seconds,
                "seconds_per_frame": (seconds - report["stages"]["setup"]) / max(1, report["frames"]),
                "cpu_seconds_per_frame": cpu / max(1, report["frames"]),
                "stages": report["stages"],
            }
            if name in ("subject", "entering", "sample"):
                entry["subject_legibility"] = subject_legibility(clip, out, boxes, source_size)
            results[name][f"{w:g}"] = entry
            print(name, f"tw={w:g}", json.dumps({k: v for k, v in entry.items() if k != "stages"}), flush=True)
        base = results[name][f"{weights[0]:g}"]
        for w in weights[1:]:
            e = results[name][f"{w:g}"]
            e["warping_error_ratio"] = e["warping_error"] / base["warping_error"]
            if "warping_error_boundary_masked" in base:  # absent from baselines measured before issue 23
                e["warping_error_boundary_masked_ratio"] = (e["warping_error_boundary_masked"]
                                                            / base["warping_error_boundary_masked"])
            e["style_distance_ratio"] = e["style_distance"] / base["style_distance"]
            e["moving_stylization_ratio"] = e["moving_stylization"] / base["moving_stylization"]
            e["time_per_frame_ratio"] = e["seconds_per_frame"] / base["seconds_per_frame"]
            e["cpu_per_frame_ratio"] = e["cpu_seconds_per_frame"] / base["cpu_seconds_per_frame"]
            if "subject_legibility" in e:
                e["legibility_ratio"] = e["subject_legibility"] / base["subject_legibility"]
            print(name, f"tw={w:g}", "warping %.3f (boundary-masked %.3f)  style %.3f  moving-stylised %.3f  time/frame %.3f (CPU %.3f)" % (
                  e["warping_error_ratio"], e.get("warping_error_boundary_masked_ratio", float("nan")),
                  e["style_distance_ratio"], e["moving_stylization_ratio"],
                  e["time_per_frame_ratio"], e["cpu_per_frame_ratio"]),
                  "legibility %.3f" % e.get("legibility_ratio", float("nan")), flush=True)
    settings = {k: v for k, v in vars(ns).items() if k not in ("work", "out")}
    style = Path(ns.style).resolve()
    settings["style"] = str(style.relative_to(ROOT)) if style.is_relative_to(ROOT) else style.name
    payload = {"settings": settings, "results": results}
    if ns.out:
        Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.out).write_text(json.dumps(payload, indent=2))
    return dict(payload, work=str(work))


def clips(work: Path, name: str, weights: list[float]) -> list[Path]:
    """The stylised clips :func:`run` left in ``work`` for scene ``name``, one per temporal weight."""
    return [work / f"{name}_tw{w:g}.mkv" for w in weights]


def main(argv: list[str] | None = None) -> int:
    run(parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
