"""Benchmark of videostyle.flow: speed of each backend/preset and accuracy on the synthetic ground truth.

Usage (from the repository root, in the project's environment; needs scikit-image for the photo textures)::

    python benchmarks/flow_bench.py [--repeat 3] [--threads 1] [--methods dis-medium,farneback] [--extras]

Speed: a real photo (``skimage.data.astronaut``) panned by (3.5, −2.0) px per frame, one flow per consecutive
pair (``compute_flow(frame_t, frame_prev)``), and the rate of ``FlowEstimator.pair`` (backward + forward flow +
consistency mask: what the pipeline needs per frame), best of ``--repeat`` runs. Accuracy: the synthetic scenes of
``synthetic.flow`` (256×192) — mean end-point error on truly visible pixels 8 px or more from the
border, PSNR of the warped previous frame on pixels the mask calls reliable, and the mask against true occlusion.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from skimage import data

from videostyle.flow import FlowEstimator, compute_flow, configure_threads, contrib_available, warp
from videostyle.flow._estimate import _make_engine, to_gray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
from synthetic.flow import endpoint_error, interior, psnr, synthetic_pair  # noqa: E402

METHODS = ["dis-ultrafast", "dis-fast", "dis-medium", "farneback"] + (
    ["tvl1", "deepflow"] if contrib_available() else []
)
SIZES = [(640, 360), (1280, 720)]
STEP = (3.5, -2.0)  # pan per frame, pixels


def panning_frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """``count`` RGB frames of ``size`` (w, h): a photo panned by STEP per frame (sub-pixel, bilinear)."""
    w, h = size
    margin = int(count * max(abs(s) for s in STEP)) + 8
    photo = data.astronaut()
    scale = max((w + 2 * margin) / photo.shape[1], (h + 2 * margin) / photo.shape[0])
    world = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    frames = []
    for i in range(count):
        shift = np.float32([[1, 0, margin - i * STEP[0]], [0, 1, margin - i * STEP[1]]])
        frames.append(cv2.warpAffine(world, shift, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
    return frames


def rate(step: Callable[[np.ndarray, np.ndarray], object], frames: list[np.ndarray], repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` calls per second of ``step(cur, prev)`` over consecutive pairs, after one warm-up call.

    Returns (wall-clock rate, CPU-time rate). With one OpenCV thread the CPU-time rate is what an idle core would
    give; it is far less disturbed by other jobs on the machine than the wall clock.
    """
    step(frames[1], frames[0])
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        for prev, cur in zip(frames, frames[1:]):
            step(cur, prev)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    pairs = len(frames) - 1
    return pairs / best_wall, pairs / max(best_cpu, 1e-9)


def speed_rows(methods: list[str], repeat: int, sizes: list[tuple[int, int]] | None = None) -> list[dict]:
    """Raw speed numbers: one dict per (method, size) with wall/CPU rates of compute_flow and FlowEstimator.pair."""
    sizes = sizes or SIZES
    clips = {size: panning_frames(size, 16 if size[0] <= 640 else 9) for size in sizes}
    rows = []
    for method in methods:
        estimator = FlowEstimator(method, threads=None)
        for size in sizes:
            flow_wall, flow_cpu = rate(lambda cur, prev: compute_flow(cur, prev, method), clips[size], repeat)
            pair_wall, pair_cpu = rate(estimator.pair, clips[size], repeat)
            rows.append({"method": method, "size": list(size), "flows_s": flow_wall, "flows_s_cpu": flow_cpu,
                         "pair_s": pair_wall, "pair_s_cpu": pair_cpu})
            print(rows[-1], file=sys.stderr, flush=True)  # progress
    return rows


def speed_table(methods: list[str], repeat: int) -> str:
    rows = ["| method | " + " | ".join(f"{w}×{h} flows/s | {w}×{h} pair() frames/s" for w, h in SIZES) + " |",
            "|---|" + "---|" * (2 * len(SIZES))]
    data_rows = speed_rows(methods, repeat)
    for method in methods:
        cells = []
        for r in (r for r in data_rows if r["method"] == method):
            cells += [f"{r['flows_s']:.1f} (cpu {r['flows_s_cpu']:.1f})", f"{r['pair_s']:.1f} (cpu {r['pair_s_cpu']:.1f})"]
        rows.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def accuracy_rows(methods: list[str]) -> list[dict]:
    """Raw accuracy numbers on the synthetic scenes (deterministic): EPE per scene, warp PSNR, mask quality."""
    texture = data.astronaut()
    scenes = {
        "translation": synthetic_pair(texture, rotate_deg=0.0, zoom=1.0, occluder=None),
        "affine": synthetic_pair(texture, occluder=None),
        "affine+occluder": synthetic_pair(texture),
    }
    rows = []
    for method in methods:
        estimator = FlowEstimator(method, threads=None)
        epe = {}
        for name, scene in scenes.items():
            flow = compute_flow(scene.frame_t, scene.frame_prev, method)
            epe[name] = endpoint_error(flow, scene.flow_bwd, scene.visible & interior(flow.shape, 8))
        scene = scenes["affine+occluder"]
        flow_bwd, _, mask = estimator.pair(scene.frame_t, scene.frame_prev)
        reliable = (mask > 0.5) & interior(mask.shape, 8)
        rows.append({"method": method, "epe": epe,
                     "psnr_reliable_db": float(psnr(warp(scene.frame_prev, flow_bwd), scene.frame_t, reliable)),
                     "disoccluded_unreliable": float(np.mean(mask[scene.disoccluded] < 0.5)),
                     "visible_reliable": float(np.mean(mask[scene.visible] > 0.5))})
    return rows


def accuracy_table(methods: list[str]) -> str:
    rows = ["| method | EPE translation | EPE affine | EPE affine+occluder | PSNR warped (reliable) | "
            "disoccluded → unreliable | visible → reliable |", "|---|---|---|---|---|---|---|"]
    for r in accuracy_rows(methods):
        rows.append(f"| {r['method']} | " + " | ".join(f"{e:.3f}" for e in r["epe"].values())
                    + f" | {r['psnr_reliable_db']:.1f} dB | {r['disoccluded_unreliable']:.1%} | "
                    f"{r['visible_reliable']:.1%} |")
    return "\n".join(rows)


def extras(repeat: int) -> str:
    """DIS-medium at 1280×720: one reused object vs one per call, 1 vs 2 OpenCV threads, spatial propagation.

    With 2 threads the CPU-time rate counts both threads' time, so only the wall-clock rate shows the speed-up.
    """
    frames = panning_frames((1280, 720), 9)
    grays = [to_gray(f) for f in frames]
    lines = []
    for threads in (1, 2):
        configure_threads(threads)
        reuse, reuse_cpu = rate(lambda cur, prev: compute_flow(cur, prev, "dis-medium"), frames, repeat)
        fresh, fresh_cpu = rate(lambda cur, prev: _make_engine("dis-medium").calc(cur, prev, None), grays, repeat)
        lines.append(f"- dis-medium 1280×720, {threads} OpenCV thread(s): {reuse:.1f} flows/s (cpu {reuse_cpu:.1f}) "
                     f"with one DIS object per thread (as implemented), {fresh:.1f} flows/s (cpu {fresh_cpu:.1f}) "
                     f"creating one per call")
    configure_threads(1)
    scene = synthetic_pair(data.astronaut())
    gray_t, gray_p = to_gray(scene.frame_t), to_gray(scene.frame_prev)
    for prop in (True, False):
        dis = _make_engine("dis-medium")
        dis.setUseSpatialPropagation(prop)
        wall, cpu = rate(lambda cur, prev: dis.calc(cur, prev, None), grays, repeat)
        flow = dis.calc(gray_t, gray_p, None)
        epe = endpoint_error(flow, scene.flow_bwd, scene.visible & interior(flow.shape, 8))
        lines.append(f"- dis-medium spatial propagation {'on ' if prop else 'off'}: {wall:.1f} flows/s "
                     f"(cpu {cpu:.1f}) at 1280×720, EPE {epe:.3f} px on affine+occluder")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per cell; the best is kept")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (cv2.setNumThreads)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated flow methods")
    parser.add_argument("--extras", action="store_true", help="also measure object reuse, threads, propagation")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    configure_threads(args.threads)
    print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} OpenCV thread(s), best of {args.repeat}\n")
    print(speed_table(methods, args.repeat) + "\n")
    print(accuracy_table(methods) + "\n")
    if args.extras:
        print(extras(args.repeat))


if __name__ == "__main__":
    main()
