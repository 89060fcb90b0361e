"""The prepared GPU check: how fast the style engine runs on a CUDA machine, in one short run (under 8 minutes).

On a bare machine with torch, torchvision, numpy and opencv (no internet, no weights, PyAV optional), from the
repository root::

    python benchmarks/gpu_check.py --out gpu_check_out        # then paste the printed table into benchmarks/gpu.md
    python benchmarks/gpu_check.py --smoke --out /tmp/smoke   # seconds, on CPU: the test suite runs this

It measures, per working size (384 px, 720p, 1080p: long side 384, 1280, 1920 at 16:9):

* seconds per iteration of ``Stylizer.run`` (L-BFGS, default layers, style targets cached) for fp32, bf16,
  bf16 + channels_last, bf16 + ``cudnn.benchmark`` and bf16 + torch.compile (``--compile-sizes``), each against a
  bare forward+backward of the backbone in the same precision (the floor of an iteration; the ratio is what the
  losses, L-BFGS and host synchronisation add), and the peak GPU memory of each run against the estimate of
  :mod:`videostyle.style.memory`;
* one engine run of a generated 16:9 clip (``--clip-frames`` at ``--clip-size``, bf16, every other setting the
  default): with PyAV, the whole job (``videostyle.video.stylize``: decode, cuts, flow, optimisation, encode);
  without it, the engine's per-frame stages on frames held in memory (flow, the warm start of
  ``videostyle.video.warm``, optimisation: the same frames the engine stores), extrapolated to 10 s at 24 fps.

* fast mode (``--mode fast``, :mod:`videostyle.fast`), per size of ``--fast-sizes``: training steps per second of the
  student (:class:`~videostyle.fast.Trainer` on generated keyframes and flow pairs, backbone in bf16) and the
  student's render rate in frames per second (batches of 8, fp32 and bf16 + channels_last).

Weights are random (``vgg_backbone``, torch's default initialisation): speed and memory do not depend on them.
Everything goes to ``--out``: ``gpu_check.json`` and ``gpu_check.md`` (the table). Variants that do not fit the time
budget (``--budget-s``) are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from videostyle.config import StyleConfig, StylizeConfig  # noqa: E402
from videostyle.style import Stylizer, vgg_backbone  # noqa: E402
from videostyle.style.memory import estimate_bytes  # noqa: E402

SIZES = {"384px": 384, "720p": 1280, "1080p": 1920}
VARIANTS = ("fp32", "bf16", "bf16+channels_last", "bf16+cudnn_benchmark", "bf16+compile")


def wh(long_side: int) -> tuple[int, int]:
    """(w, h) of a 16:9 working size with this long side (even height)."""
    return long_side, max(2, round(long_side * 9 / 16 / 2) * 2)


def pattern(w: int, h: int, t: float = 0.0, seed: int = 0) -> np.ndarray:
    """A textured colourful RGB uint8 frame; ``t`` shifts it (a camera pan) for clips."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx = xx + 6.0 * t
    f = rng.uniform(0.01, 0.08, size=(3, 2))
    img = np.stack([0.5 + 0.4 * np.sin(xx * f[c, 0] + yy * f[c, 1] + 2 * c) for c in range(3)], axis=-1)
    img += 0.1 * np.sin(xx * 0.7 + yy * 0.3)[..., None]
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak(device: torch.device) -> int | None:
    return int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None


def bare_seconds(st: Stylizer, size: tuple[int, int], steps: int) -> float:
    """Seconds per bare forward+backward of ``st``'s backbone (its precision, memory format, compile)."""
    w, h = size
    x = torch.rand(1, 3, h, w, device=st.device, requires_grad=True)
    layers = list(st.layers)

    def step() -> None:
        x.grad = None
        feats = st._features(x, layers)
        sum(f.mean() for f in feats.values()).backward()

    step()
    sync(st.device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync(st.device)
    return (time.perf_counter() - t) / steps


def stylizer_for(variant: str, style: np.ndarray, model: str, device: torch.device) -> Stylizer:
    precision = "bf16" if variant.startswith("bf16") else "fp32"
    cfg = StyleConfig(model=model, device=str(device), precision=precision, tolerance=0.0, change_tolerance=0.0,
                      channels_last="channels_last" in variant, compile="compile" in variant)
    layers = list(dict.fromkeys(cfg.content_layers + cfg.style_layers))
    return Stylizer([style], cfg, backbone=vgg_backbone(model, layers=layers))


def measure(args: argparse.Namespace, device: torch.device, deadline: float) -> list[dict[str, Any]]:
    style = pattern(512, 384, seed=1)
    rows = []
    for size_name, long_side in args.sizes.items():
        size = wh(long_side)
        content = pattern(*size, seed=2)
        for variant in args.variants:
            row: dict[str, Any] = {"size": size_name, "wh": list(size), "variant": variant}
            rows.append(row)
            if "compile" in variant and size_name not in args.compile_sizes:
                row["skipped"] = "compile measured at " + ", ".join(args.compile_sizes)
                continue
            if time.perf_counter() > deadline:
                row["skipped"] = "time budget"
                continue
            torch.backends.cudnn.benchmark = "cudnn_benchmark" in variant
            try:
                st = stylizer_for(variant, style, args.model, device)
                t = time.perf_counter()
                st.run(content, iterations=2, seed=0)  # style targets, warm-up (and compilation)
                sync(device)
                row["warmup_s"] = time.perf_counter() - t
                reset_peak(device)
                res = st.run(content, iterations=args.iterations, seed=0)
                row["s_per_it"] = res.seconds / res.iterations
                row["peak_bytes"] = peak(device)
                row["estimate_bytes"] = estimate_bytes(size, model=args.model)
                row["bare_s"] = bare_seconds(st, size, args.bare_steps)
                row["run_over_bare"] = row["s_per_it"] / row["bare_s"]
            except torch.OutOfMemoryError as err:
                row["error"] = f"out of memory: {str(err).splitlines()[0][:160]}"
            except Exception as err:  # noqa: BLE001 - one failing variant must not lose the others' numbers
                row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
            finally:
                torch.backends.cudnn.benchmark = False
            print(json.dumps(row), flush=True)
    return rows


def clip_config(args: argparse.Namespace, device: torch.device, clip: str, out: str, style: str) -> StylizeConfig:
    """The job both engine paths run: every default (the warm frames' fill, temporal weight, flow), with the
    check's model, device, bf16 and budgets."""
    from videostyle.config import EncodeConfig, VideoConfig

    return StylizeConfig(
        input=clip, output=out, styles=(style,),
        style=StyleConfig(model=args.model, device=str(device), precision="bf16"),
        video=VideoConfig(size=args.clip_size, first_iterations=args.first_iterations,
                          iterations=args.clip_iterations), encode=EncodeConfig(codec="ffv1"), quiet=True)


def engine_run(args: argparse.Namespace, device: torch.device, out: Path) -> dict[str, Any]:
    """One clip through the engine: the full job with PyAV, else its stages on frames held in memory."""
    size = wh(args.clip_size)
    frames = [pattern(*size, t=i, seed=3) for i in range(args.clip_frames)]
    style_img = pattern(512, 384, seed=1)
    try:
        import av  # noqa: F401
    except ImportError:
        return engine_in_memory(args, device, frames, style_img)[0]
    from videostyle import media
    from videostyle.video import stylize

    with tempfile.TemporaryDirectory() as tmp:
        clip, style_path = Path(tmp) / "clip.mkv", Path(tmp) / "style.png"
        media.write_image(style_path, style_img)
        with media.open_writer(clip, size=size, codec="ffv1", fps=24.0) as writer:
            for f in frames:
                writer.write(f)
        config = clip_config(args, device, str(clip), str(Path(tmp) / "out.mkv"), str(style_path))
        t = time.perf_counter()
        report = stylize(config, backbone=_random_backbone(args.model))
        seconds = time.perf_counter() - t
    n = report["frames"]
    return {"mode": "stylize (PyAV)", "frames": n, "wh": list(size), "seconds": seconds, "s_per_frame": seconds / n,
            "precision": report["precision"], "iterations": report["iterations"],
            "stages": report["stages"], "seconds_for_10s_at_24fps": seconds / n * 240}


def _random_backbone(model: str) -> torch.nn.Module:
    cfg = StyleConfig(model=model)
    return vgg_backbone(model, layers=list(dict.fromkeys(cfg.content_layers + cfg.style_layers)))


def engine_in_memory(args: argparse.Namespace, device: torch.device, frames: list[np.ndarray],
                     style_img: np.ndarray, backbone: torch.nn.Module | None = None
                     ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """The engine's per-frame stages on frames held in memory, without decode, cuts or encode (no PyAV): the
    flow stage's pairs and masks (as ``video/prepare.py``), then each frame as ``video/engine._stylize_frame`` does
    it: the first cold, every later one warm from :mod:`videostyle.video.warm` (``warm_start``: the previous
    results warped, the default fill and its cold start, the temporal terms; the budget by new content) with the
    new content as the focus.

    Returns (the summary, the stylised frames): on the same frames the engine stores the same frames (tested)."""
    from collections import deque
    from types import SimpleNamespace

    from videostyle.flow import FlowEstimator
    from videostyle.tuning import TUNING
    from videostyle.video.warm import warm_budget, warm_start

    config = clip_config(args, device, "(frames in memory)", "(none)", "(in memory)")
    video = config.video
    st = Stylizer([style_img], config.style, backbone=backbone or _random_backbone(args.model), tuning=TUNING)
    est = FlowEstimator(video.flow, tuning=TUNING)
    offsets = sorted(set(video.long_term))
    previous: deque[np.ndarray] = deque(maxlen=max(offsets))
    times = {"flow": 0.0, "optimise": 0.0}
    iterations, images = [], []
    t0 = time.perf_counter()
    for i, frame in enumerate(frames):
        t = time.perf_counter()
        flows = {}
        for k in offsets:
            if k <= i:
                bwd, _fwd, mask = est.pair(frame, frames[i - k])
                flows[k] = (bwd, mask)
        times["flow"] += time.perf_counter() - t
        t = time.perf_counter()
        if flows:  # a warm frame (the engine's WorkItem: only its flows and frame index are read)
            item = SimpleNamespace(flows=flows, frame=SimpleNamespace(index=i))
            init, temporal, focus, _cold = warm_start(st, item, frame, previous, config, TUNING, options={})
            budget = warm_budget(video, focus, TUNING)
        else:
            init, temporal, focus, budget = None, [], None, video.first_iterations
        res = st.run(frame, init=init, iterations=budget, temporal=temporal, seed=video.seed + i, focus=focus)
        times["optimise"] += time.perf_counter() - t
        previous.append(res.image)
        images.append(res.image)
        iterations.append(res.iterations)
    seconds = time.perf_counter() - t0
    n = len(frames)
    return {"mode": "in memory (no PyAV)", "frames": n, "wh": [frames[0].shape[1], frames[0].shape[0]],
            "seconds": seconds, "s_per_frame": seconds / n, "precision": st.precision, "iterations": iterations,
            "stages": times, "seconds_for_10s_at_24fps": seconds / n * 240}, images


def fast_mode(args: argparse.Namespace, device: torch.device) -> list[dict[str, Any]]:
    """Fast mode's training steps/s, render frames/s and stroke-carrying frames/s per size (random backbone
    weights)."""
    from videostyle.fast import StudentNet, Trainer
    from videostyle.fast.carry import carry_segment, detail_of
    from videostyle.flow import FlowEstimator
    from videostyle.fast.train import KeyframeData, Pair, render

    rows = []
    style = pattern(256, 256, seed=1)
    for name in args.fast_sizes:
        w, h = wh(args.sizes[name])
        frames = [pattern(w, h, t) for t in range(3)]
        flow = np.zeros((h, w, 2), np.float32)
        flow[..., 0] = -6.0
        pairs = [Pair(i, frames[i - 1], frames[i], flow, np.ones((h, w), np.float16)) for i in (1, 2)]
        keys = [KeyframeData(0, frames[0], frames[2])]
        st = Stylizer([style], StyleConfig(model=args.model, precision="bf16" if device.type == "cuda" else "fp32"),
                      device=device, backbone=_random_backbone(args.model))
        trainer = Trainer(StudentNet(16, 3), keys, pairs, features=lambda x, layers: st.backbone(x, layers),
                          style_targets=st.style_targets, style_layers=st.style_layers,
                          content_layers=st.content_layers, style_layer_weights=st.style_layer_weights,
                          style_weight=10.0, content_weight=1.0, temporal_weight=200.0, device=device, seed=0,
                          steps=10 ** 6)
        row: dict[str, Any] = {"size": name, "wh": [w, h]}
        try:
            trainer.step()  # warm-up
            sync(device)
            t0 = time.perf_counter()
            for _ in range(args.fast_steps):
                trainer.step()
            sync(device)
            row["train_steps_per_s"] = args.fast_steps / (time.perf_counter() - t0)
            net = trainer.net.eval()
            for variant, amp, cl in (("fp32", False, False), ("bf16+channels_last", True, device.type == "cuda")):
                batch = [frames[i % 3] for i in range(8)]
                render(net, batch, device, amp=amp, channels_last=cl)
                sync(device)
                t0 = time.perf_counter()
                for _ in range(args.fast_batches):
                    render(net, batch, device, amp=amp, channels_last=cl)
                sync(device)
                row[f"render_fps_{variant}"] = 8 * args.fast_batches / (time.perf_counter() - t0)
            students = render(net, frames, device)
            t0 = time.perf_counter()  # the keyframes' strokes carried: two flows and the composition a frame
            flows = [FlowEstimator().pair(frames[t], frames[t - 1]) for t in (1, 2)]
            carry_segment(students, flows, detail_of(frames[0], students[0]), detail_of(frames[2], students[2]))
            row["carry_fps"] = len(frames) / (time.perf_counter() - t0)
        except RuntimeError as err:  # out of memory at a size: reported, the rest still measured
            row["error"] = " ".join(str(err).split())[:200]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def table(meta: dict[str, Any]) -> str:
    lines = [f"{meta['device_name']} · torch {meta['torch']} · CUDA {meta['cuda']} · model {meta['model']} "
             f"(random weights) · {meta['iterations']} iterations per run", "",
             "| size | variant | s/iteration | bare fwd+bwd | run/bare | peak memory | estimate | note |",
             "|---|---|---|---|---|---|---|---|"]
    gib = lambda b: "—" if b is None else f"{b / 2**30:.2f} GiB"  # noqa: E731
    for r in meta["rows"]:
        if "s_per_it" not in r:
            lines.append(f"| {r['size']} | {r['variant']} | — | — | — | — | — | {r.get('skipped') or r.get('error')} |")
            continue
        lines.append(f"| {r['size']} {r['wh'][0]}x{r['wh'][1]} | {r['variant']} | {r['s_per_it'] * 1e3:.1f} ms | "
                     f"{r['bare_s'] * 1e3:.1f} ms | {r['run_over_bare']:.2f} | {gib(r['peak_bytes'])} | "
                     f"{gib(r['estimate_bytes'])} | warm-up {r['warmup_s']:.1f} s |")
    e = meta.get("engine")
    if e:
        lines += ["", f"Engine, {e['mode']}: {e['frames']} frames at {e['wh'][0]}x{e['wh'][1]} ({e['precision']}) in "
                  f"{e['seconds']:.1f} s = {e['s_per_frame']:.2f} s/frame → 10 s at 24 fps in "
                  f"{e['seconds_for_10s_at_24fps']:.0f} s; iterations {e['iterations']}"]
    if meta.get("fast"):
        lines += ["", "| fast mode, size | training steps/s | render fps fp32 | render fps bf16+channels_last "
                  "| strokes carried fps (CPU flow) |", "|---|---|---|---|---|"]
        for r in meta["fast"]:
            if "error" in r:
                lines.append(f"| {r['size']} | {r['error']} | | | |")
                continue
            lines.append(f"| {r['size']} {r['wh'][0]}x{r['wh'][1]} | {r['train_steps_per_s']:.2f} | "
                         f"{r['render_fps_fp32']:.1f} | {r['render_fps_bf16+channels_last']:.1f} | "
                         f"{r['carry_fps']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for gpu_check.json and gpu_check.md")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on CPU, seconds: the test suite's check")
    ap.add_argument("--device", default=None, help="default: cuda (cpu with --smoke)")
    ap.add_argument("--model", default="vgg19", choices=("vgg19", "vgg16"))
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--bare-steps", type=int, default=20)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--compile-sizes", nargs="+", default=["720p"], choices=list(SIZES))
    ap.add_argument("--clip-frames", type=int, default=24)
    ap.add_argument("--clip-size", type=int, default=1280)
    ap.add_argument("--first-iterations", type=int, default=500)
    ap.add_argument("--clip-iterations", type=int, default=150)
    ap.add_argument("--budget-s", type=float, default=270.0, help="stop starting new size/variant runs after this")
    ap.add_argument("--fast-sizes", nargs="+", default=["720p", "1080p"], choices=list(SIZES))
    ap.add_argument("--fast-steps", type=int, default=20, help="fast mode: training steps timed per size")
    ap.add_argument("--fast-batches", type=int, default=10, help="fast mode: render batches (of 8) timed per size")
    args = ap.parse_args(argv)
    args.sizes = dict(SIZES)
    if args.smoke:  # the same code paths, tiny: vgg16 at 48 px on the CPU, no compile (tested in the test suite)
        args.device = args.device or "cpu"
        args.model, args.sizes, args.iterations, args.bare_steps = "vgg16", {"smoke": 48}, 2, 1
        args.variants = [v for v in args.variants if "compile" not in v]
        args.clip_frames, args.clip_size, args.first_iterations, args.clip_iterations = 3, 48, 2, 2
        args.fast_sizes, args.fast_steps, args.fast_batches = ["smoke"], 2, 1
    device = torch.device(args.device or "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.stderr.write("gpu_check: no CUDA device here (use --smoke on a CPU)\n")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    meta: dict[str, Any] = {
        "device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
        platform.processor() or platform.machine(), "torch": torch.__version__, "cuda": torch.version.cuda,
        "model": args.model, "iterations": args.iterations, "smoke": args.smoke,
        "bf16_native": torch.cuda.is_bf16_supported() if device.type == "cuda" else None,
    }
    meta["rows"] = measure(args, device, t0 + args.budget_s)
    meta["engine"] = engine_run(args, device, out)
    print(json.dumps(meta["engine"]), flush=True)
    meta["fast"] = fast_mode(args, device)
    meta["seconds"] = time.perf_counter() - t0
    (out / "gpu_check.json").write_text(json.dumps(meta, indent=2))
    (out / "gpu_check.md").write_text(table(meta))
    sys.stdout.write(table(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
