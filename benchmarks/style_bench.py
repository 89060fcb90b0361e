"""Style-engine benchmark: iterations per second of ``Stylizer.run`` against the backbone's bare forward+backward.

The bare rate is one forward pass of the (truncated) backbone to the deepest loss layer and one backward pass to the
input image, with a trivial scalar loss — the floor of any Gatys iteration. The Stylizer's rate includes everything
else it does per iteration (Gram matrices, losses, the L-BFGS update, bookkeeping). Their ratio shows the overhead.

    .venv/bin/python benchmarks/style_bench.py --model vgg16-hed --sizes 128 256 --iterations 40 --repeats 3

Inputs are procedural (no media files needed). The machine may be shared: each number is the best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from videostyle.config import StyleConfig
from videostyle.style import Stylizer, load_backbone, tiny_backbone


def procedural(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth colourful pattern with some texture (uint8 RGB)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(seed)
    f = rng.uniform(0.02, 0.15, size=(3, 2))
    img = np.stack([0.5 + 0.5 * np.sin(xx * f[c, 0] + yy * f[c, 1] + c) for c in range(3)], axis=-1)
    img += rng.normal(0, 0.05, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def bare_rate(backbone: torch.nn.Module, layers: list[str], size: int, steps: int) -> float:
    x = torch.rand(1, 3, size, size, requires_grad=True)
    for _ in range(2):  # warm-up
        sum(f.mean() for f in backbone(x, layers).values()).backward()
    t = time.perf_counter()
    for _ in range(steps):
        x.grad = None
        sum(f.mean() for f in backbone(x, layers).values()).backward()
    return steps / (time.perf_counter() - t)


def stylizer_rate(st: Stylizer, content: np.ndarray, iterations: int) -> tuple[float, float]:
    """(warm it/s with cached style targets, cold it/s of the first call at this size)."""
    st.targets.clear()
    res = st.run(content, iterations=iterations, seed=0)
    cold = res.iterations / res.seconds
    res = st.run(content, iterations=iterations, seed=0)
    return res.iterations / res.seconds, cold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="vgg16-hed", help="vgg19 | vgg16 | vgg16-hed | tiny")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--optimizer", default="lbfgs")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    cfg = StyleConfig(model=None if args.model == "tiny" else args.model, optimizer=args.optimizer,
                      tolerance=0.0, device="cpu")
    layers = list(dict.fromkeys(cfg.content_layers + cfg.style_layers))
    backbone = tiny_backbone(0) if args.model == "tiny" else load_backbone(cfg.model, layers=layers)
    style = procedural(300, 400, 1)
    st = Stylizer([style], cfg, device="cpu", backbone=backbone)
    rows = []
    for size in args.sizes:
        content = procedural(size, size, 2)
        bare, warm, cold = 0.0, 0.0, 0.0
        for _ in range(args.repeats):  # interleaved, so that load from other processes hits both alike
            bare = max(bare, bare_rate(st.backbone, layers, size, args.iterations))
            w, c = stylizer_rate(st, content, args.iterations)
            warm, cold = max(warm, w), max(cold, c)
        row = {"size": size, "bare_it_s": bare, "run_it_s": warm, "run_cold_it_s": cold, "ratio": warm / bare}
        rows.append(row)
        print(f"{st.backbone_name} {size}x{size}: bare fwd+bwd {bare:.2f} it/s | Stylizer.run {warm:.2f} it/s "
              f"(first call incl. style targets {cold:.2f} it/s) | run/bare = {warm / bare:.3f}", flush=True)
    meta = {"model": st.backbone_name, "threads": args.threads, "iterations": args.iterations,
            "repeats": args.repeats, "optimizer": args.optimizer, "torch": torch.__version__,
            "machine": platform.machine(), "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(meta, f, indent=2)


if __name__ == "__main__":
    main()
