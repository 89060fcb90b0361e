"""Backbone precision on this machine's CPU: bf16 autocast against fp32 — speed, memory and result quality.

    .venv/bin/python benchmarks/precision_bench.py --style STYLE.jpg --json precision.json

* speed: seconds per iteration of ``Stylizer.run`` (L-BFGS, default layers, style targets cached) in fp32 and bf16
  at ``--size``, and of the bare backbone forward+backward in fp32 / bf16 / channels_last / (``--compile``)
  torch.compile; the variants run interleaved, ``--repeats`` rounds, so load from other processes hits all alike;
* memory (``--memory``): peak RSS growth of ``Stylizer.run`` at 512x384 per precision, each in a fresh process;
* quality: style and content distances (fp32 vgg16-hed, :mod:`videostyle.style.measures`) of the fp32 and bf16
  results of real photos (scikit-image's astronaut, coffee, chelsea) at ``--quality-size`` with the default stopping
  rules, and of a short clip (``--clip``, default the bundled sample) stylised by the engine, measured with
  :func:`videostyle.metrics.measure_clips`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from videostyle.config import EncodeConfig, RangeConfig, StyleConfig, StylizeConfig, VideoConfig
from videostyle.style import Stylizer, content_distance, load_backbone, load_style_image, style_distance
from videostyle.style.images import resize01, to_uint8

MODEL = "vgg16-hed"
ROOT = Path(__file__).resolve().parent.parent


def photo(name: str, long_side: int) -> np.ndarray:
    """A scikit-image photo (RGB uint8) resized so its long side is ``long_side``."""
    from skimage import data

    img = getattr(data, name)()
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    return to_uint8(resize01(img, (max(1, round(w * s)), max(1, round(h * s)))))


def bare_step(backbone: torch.nn.Module, x: torch.Tensor, layers: list[str], bf16: bool) -> None:
    x.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        feats = backbone(x, layers)
    sum(f.float().mean() for f in feats.values()).backward()


def time_bare(backbone: torch.nn.Module, x: torch.Tensor, layers: list[str], bf16: bool,
              steps: int) -> tuple[float, float]:
    """(wall, CPU) seconds per bare forward+backward."""
    bare_step(backbone, x, layers, bf16)  # warm-up
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        bare_step(backbone, x, layers, bf16)
    return (time.perf_counter() - t) / steps, (time.process_time() - c) / steps


def time_run(st: Stylizer, content: np.ndarray, iterations: int) -> tuple[float, float]:
    """(wall, CPU) seconds per iteration of ``Stylizer.run``. CPU time (all threads of this process) is what the
    work costs; on a shared machine the wall time also holds the time other processes had the cores."""
    c = time.process_time()
    res = st.run(content, iterations=iterations, seed=0)
    assert res.iterations == iterations
    return res.seconds / res.iterations, (time.process_time() - c) / res.iterations


def speed(args: argparse.Namespace, style: np.ndarray, backbone: torch.nn.Module) -> dict:
    content = photo("astronaut", args.size)
    cfg = StyleConfig(model=MODEL, device="cpu", tolerance=0.0, change_tolerance=0.0)
    layers = list(dict.fromkeys(cfg.content_layers + cfg.style_layers))
    runners = {p: Stylizer([style], replace(cfg, precision=p), backbone=backbone) for p in ("fp32", "bf16")}
    if args.compile:
        for p in ("fp32", "bf16"):
            st = Stylizer([style], replace(cfg, precision=p, compile=True), backbone=backbone)
            t = time.perf_counter()
            st.run(content, iterations=2, seed=0)  # compiles (content, style and loss graphs)
            print(f"compile {p}: first two iterations (compiling) {time.perf_counter() - t:.1f} s", flush=True)
            runners[f"{p}+compile"] = st
    for st in runners.values():
        st.run(content, iterations=2, seed=0)  # style targets cached, warm-up
    x = torch.rand(1, 3, *content.shape[:2], requires_grad=True)
    x_cl = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    bb_cl = load_backbone(MODEL, layers=layers).to(memory_format=torch.channels_last).requires_grad_(False)
    bare_variants = {
        "fp32": (backbone, x, False), "bf16": (backbone, x, True),
        "fp32+channels_last": (bb_cl, x_cl, False), "bf16+channels_last": (bb_cl, x_cl, True),
    }
    run_s: dict[str, list[tuple[float, float]]] = {k: [] for k in runners}
    bare_s: dict[str, list[tuple[float, float]]] = {k: [] for k in bare_variants}
    for r in range(args.repeats):  # interleaved rounds
        for k, st in runners.items():
            run_s[k].append(time_run(st, content, args.iterations))
        for k, (bb, xx, bf) in bare_variants.items():
            bare_s[k].append(time_bare(bb, xx, layers, bf, args.bare_steps))
        print(f"round {r + 1} (wall / CPU s per iteration): " + ", ".join(
            f"run {k} {v[r][0]:.3f} / {v[r][1]:.3f}" for k, v in run_s.items()) + "; " + ", ".join(
            f"bare {k} {v[r][0]:.3f} / {v[r][1]:.3f}" for k, v in bare_s.items()), flush=True)

    def ratios(a: list[tuple[float, float]], b: list[tuple[float, float]], i: int) -> list[float]:
        return [x[i] / y[i] for x, y in zip(a, b)]

    out: dict = {"size": list(content.shape[1::-1]), "iterations": args.iterations, "repeats": args.repeats,
                 "run_wall_cpu": run_s, "bare_wall_cpu": bare_s}
    lines = []
    for label, a, b in [("Stylizer.run fp32/bf16", run_s["fp32"], run_s["bf16"]),
                        ("bare fp32/bf16", bare_s["fp32"], bare_s["bf16"]),
                        ("bare fp32/fp32+channels_last", bare_s["fp32"], bare_s["fp32+channels_last"]),
                        ("bare bf16/bf16+channels_last", bare_s["bf16"], bare_s["bf16+channels_last"])] + [
            (f"Stylizer.run {k[:4]}/{k}", run_s[k[:4]], run_s[k]) for k in runners if "compile" in k]:
        wall, cpu = ratios(a, b, 0), ratios(a, b, 1)
        out[label] = {"wall_median": statistics.median(wall), "cpu_median": statistics.median(cpu),
                      "wall_rounds": wall, "cpu_rounds": cpu}
        lines.append(f"{label}: median {statistics.median(wall):.2f}x wall, {statistics.median(cpu):.2f}x CPU time "
                     f"(rounds: {', '.join(f'{x:.2f}' for x in wall)} wall)")
    print(f"speed-ups at {out['size'][0]}x{out['size'][1]}, {args.threads} threads (>1: the second is faster):\n  "
          + "\n  ".join(lines), flush=True)
    return out


def _peak_child(precision: str, style_path: str, queue: "multiprocessing.Queue[int]") -> None:
    torch.set_num_threads(1)
    style = load_style_image(style_path)
    st = Stylizer([style], StyleConfig(model=MODEL, device="cpu", precision=precision, tolerance=0.0,
                                       change_tolerance=0.0))
    content = (np.random.default_rng(0).random((384, 512, 3)) * 255).astype(np.uint8)
    st.set_content(content)
    with open("/proc/self/statm") as fh:  # resident now (the peak so far may be higher: the style targets' pass)
        base = int(fh.read().split()[1]) * resource.getpagesize()
    st.run(content, iterations=3, seed=0)
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base)


def peak_memory(style_path: str) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = {}
    for p in ("fp32", "bf16"):
        q = ctx.Queue()
        proc = ctx.Process(target=_peak_child, args=(p, style_path, q))
        proc.start()
        out[p] = q.get(timeout=600)
        proc.join()
    out["bf16_over_fp32"] = out["bf16"] / out["fp32"]
    print(f"peak RSS growth of Stylizer.run at 512x384: fp32 {out['fp32'] / 2**20:.0f} MB, bf16 "
          f"{out['bf16'] / 2**20:.0f} MB ({out['bf16_over_fp32']:.2f}x)", flush=True)
    return out


def quality_images(args: argparse.Namespace, style: np.ndarray, backbone: torch.nn.Module) -> list[dict]:
    rows = []
    for name in args.photos:
        content = photo(name, args.quality_size)
        row: dict = {"photo": name, "size": list(content.shape[1::-1])}
        for p in ("fp32", "bf16"):
            st = Stylizer([style], StyleConfig(model=MODEL, device="cpu", precision=p), backbone=backbone)
            res = st.run(content, iterations=args.quality_iterations, seed=0)
            row[p] = {"style_distance": style_distance(res.image, style, backbone),
                      "content_distance": content_distance(res.image, content, backbone),
                      "iterations": res.iterations, "s_per_it": res.seconds / max(1, res.iterations)}
        if args.control:  # fp32 on the photo dithered by one 8-bit level: how far a negligible change moves the result
            rng = np.random.default_rng(1)
            dithered = np.clip(content.astype(int) + rng.integers(-1, 2, content.shape), 0, 255).astype(np.uint8)
            st = Stylizer([style], StyleConfig(model=MODEL, device="cpu", precision="fp32"), backbone=backbone)
            res = st.run(dithered, iterations=args.quality_iterations, seed=0)
            row["fp32_dithered"] = {"style_distance": style_distance(res.image, style, backbone),
                                    "content_distance": content_distance(res.image, content, backbone),
                                    "iterations": res.iterations}
            print(f"{name} fp32 on the dithered photo: style distance {row['fp32_dithered']['style_distance']:.4f} "
                  f"({row['fp32_dithered']['style_distance'] / row['fp32']['style_distance']:.3f}x of fp32's), "
                  f"content {row['fp32_dithered']['content_distance']:.4f}", flush=True)
        for k in ("style_distance", "content_distance"):
            row[f"{k}_bf16_over_fp32"] = row["bf16"][k] / row["fp32"][k]
        rows.append(row)
        print(f"{name} {row['size'][0]}x{row['size'][1]}: style distance fp32 {row['fp32']['style_distance']:.4f} "
              f"bf16 {row['bf16']['style_distance']:.4f} ({row['style_distance_bf16_over_fp32']:.3f}x); content "
              f"fp32 {row['fp32']['content_distance']:.4f} bf16 {row['bf16']['content_distance']:.4f} "
              f"({row['content_distance_bf16_over_fp32']:.3f}x); iterations {row['fp32']['iterations']} / "
              f"{row['bf16']['iterations']}", flush=True)
    return rows


def quality_clip(args: argparse.Namespace, style_path: str) -> dict:
    from videostyle.metrics import measure_clips
    from videostyle.video import stylize

    out: dict = {"clip": Path(args.clip).name, "frames": args.clip_frames, "size": args.clip_size}
    with tempfile.TemporaryDirectory() as tmp:
        for p in ("fp32", "bf16"):
            config = StylizeConfig(
                input=args.clip, output=str(Path(tmp) / f"{p}.mkv"), styles=(style_path,),
                style=StyleConfig(model=MODEL, device="cpu", precision=p),
                video=VideoConfig(size=args.clip_size, first_iterations=args.clip_first_iterations,
                                  iterations=args.clip_iterations),
                encode=EncodeConfig(codec="ffv1"), range=RangeConfig(max_frames=args.clip_frames), quiet=True)
            t = time.perf_counter()
            report = stylize(config)
            seconds = time.perf_counter() - t
            m = measure_clips(args.clip, config.output, style=style_path, model=MODEL, offsets=(1,),
                              max_frames=args.clip_frames)
            out[p] = {"precision_reported": report["precision"], "seconds": seconds,
                      "iterations": sum(report["iterations"]),
                      "style_distance": m["style_distance"]["mean"],
                      "content_distance": m["content_distance"]["mean"],
                      "warping_error": next(iter(m["warping_error"].values()))["mean"]}
    for k in ("style_distance", "content_distance", "warping_error"):
        out[f"{k}_bf16_over_fp32"] = out["bf16"][k] / out["fp32"][k]
    print(f"clip {out['clip']} ({args.clip_frames} frames, {args.clip_size} px): style distance fp32 "
          f"{out['fp32']['style_distance']:.4f} bf16 {out['bf16']['style_distance']:.4f} "
          f"({out['style_distance_bf16_over_fp32']:.3f}x); content {out['fp32']['content_distance']:.4f} / "
          f"{out['bf16']['content_distance']:.4f} ({out['content_distance_bf16_over_fp32']:.3f}x); warping error "
          f"{out['fp32']['warping_error']:.5f} / {out['bf16']['warping_error']:.5f}; time {out['fp32']['seconds']:.0f} "
          f"/ {out['bf16']['seconds']:.0f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--style", default=str(ROOT / "sample_media" / "style.png"), help="style image")
    ap.add_argument("--size", type=int, default=256, help="long side for the speed measurement")
    ap.add_argument("--iterations", type=int, default=20, help="iterations per timed run")
    ap.add_argument("--bare-steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd backbones (slow to compile)")
    ap.add_argument("--memory", action="store_true", help="also measure peak memory per precision")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--no-clip", action="store_true")
    ap.add_argument("--photos", nargs="*", default=["astronaut", "coffee", "chelsea"], help="none: skip")
    ap.add_argument("--control", action="store_true",
                    help="also fp32 on each photo dithered by one level (the spread of a negligible change)")
    ap.add_argument("--quality-size", type=int, default=256)
    ap.add_argument("--quality-iterations", type=int, default=300)
    ap.add_argument("--clip", default=str(ROOT / "sample_media" / "sample.mp4"))
    ap.add_argument("--clip-frames", type=int, default=8)
    ap.add_argument("--clip-size", type=int, default=128)
    ap.add_argument("--clip-first-iterations", type=int, default=300)
    ap.add_argument("--clip-iterations", type=int, default=100)
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    style = load_style_image(args.style)
    cfg = StyleConfig(model=MODEL)
    backbone = load_backbone(MODEL, layers=list(dict.fromkeys(cfg.content_layers + cfg.style_layers)))
    flags = sorted({"avx512_bf16", "amx_bf16"} & set(open("/proc/cpuinfo").read().split()))
    meta: dict = {"model": MODEL, "style": Path(args.style).name, "style_weight": cfg.style_weight,
                  "threads": args.threads, "torch": torch.__version__,
                  "machine": platform.machine(), "cpu_bf16_flags": flags, "cpu_capability":
                  torch.backends.cpu.get_cpu_capability()}
    print(f"{MODEL}, {args.threads} threads, torch {torch.__version__}, CPU bf16 flags {flags}, default style weight "
          f"{cfg.style_weight}", flush=True)
    if not args.no_speed:
        meta["speed"] = speed(args, style, backbone)
    if args.memory:
        meta["memory"] = peak_memory(args.style)
    if not args.no_quality:
        meta["images"] = quality_images(args, style, backbone)
        if not args.no_clip:
            meta["clip"] = quality_clip(args, args.style)
    if args.json:
        Path(args.json).write_text(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
