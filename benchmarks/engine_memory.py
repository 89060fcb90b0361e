#!/usr/bin/env python3
"""Peak memory of a whole ``videostyle stylize`` job against clip length (issue: 4× the frames → ≤ 1.1× peak RSS).

Generates clips of N and 4·N frames (camera moving over the scikit-image astronaut photo, with a cut in the middle
and audio), stylises each in its own process with the real pipeline (decode → cuts → flow and masks → optimiser →
frame store → H.264 encode with audio remux) and reads that process's peak RSS (``ru_maxrss``). The budgets are tiny:
this measures what the engine holds per frame, not how good the frames are.

Usage: ``python benchmarks/engine_memory.py [--frames 30] [--factor 4] [--size 96] [--model vgg16-hed]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
from synthetic import brush_painting, moving_scene, write_clip  # noqa: E402

CHILD = r"""
import json, resource, sys, torch
torch.set_num_threads(1)
from videostyle.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_job(clip: Path, style: Path, out: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-c", CHILD, "stylize", str(clip), "--style", str(style), "-o", str(out),
           "--size", str(args.size), "--first-iterations", str(args.iterations), "--iterations", str(args.iterations),
           "--model", args.model, "--report", str(out) + ".json", "--quiet", "--force"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"job failed: {done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    report = json.loads(Path(str(out) + ".json").read_text())
    return {"frames": report["frames"], "shots": report["shots"], "peak_rss_mb": result["maxrss_kb"] / 1024,
            "seconds": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--model", default="vgg16-hed")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    import cv2

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        style = folder / "style.png"
        cv2.imwrite(str(style), cv2.cvtColor(brush_painting((128, 128), seed=7), cv2.COLOR_RGB2BGR))
        for n in (args.frames, args.frames * args.factor):
            scene = moving_scene(frames=n, size=(320, 180), cut_at=n // 2)
            clip = write_clip(folder / f"clip{n}.mp4", scene.frames, fps=24)
            rows.append(dict(run_job(clip, style, folder / f"out{n}.mp4", args), requested=n))
    ratio = rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    for r in rows:
        print(f"{r['frames']:5d} frames (shots {r['shots']}): peak RSS {r['peak_rss_mb']:.1f} MB, {r['seconds']:.0f} s")
    print(f"peak RSS ratio {args.factor}x frames / 1x: {ratio:.3f} (acceptance <= 1.1)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratio": ratio, "args": vars(args)}, indent=2))


if __name__ == "__main__":
    main()
