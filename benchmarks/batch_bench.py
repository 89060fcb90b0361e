"""Batch scale-out benchmark: 4 tiny jobs on 1 vs 2 workers, one torch thread per worker.

Generates four short synthetic clips and a style image in a temporary folder, writes a TOML manifest and runs it
with the batch API:

* ``local`` sequential in this process with 1 torch thread (the reference),
* ``ray`` on a local Ray instance with ``num_cpus=1`` (1 worker) and ``num_cpus=2`` (2 workers), each twice:
  ``cold`` (the workers start: importing torch takes seconds) and ``warm`` (the same batch again with ``force``,
  Ray reuses its idle workers).

The time of each run covers planning, the tasks and encoding; Ray's own start-up (``ray.init``) is timed
separately. ``cpu`` is the CPU time the tasks got (all worker processes): on a machine shared with other work,
``cpu / (seconds x workers)`` shows how much of the cores the workers actually had; ``overlap`` (the jobs' wall
seconds summed, over the batch's) shows how many jobs ran at once, whatever the machine's load. Outputs are lossless
(FFV1) and compared with the reference frame for frame. The load average before/after each run is printed too.

    .venv/bin/python benchmarks/batch_bench.py                      # defaults: 12 frames, size 64, 10/5 iterations
    .venv/bin/python benchmarks/batch_bench.py --frames 24 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)


def _spin(seconds: float) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        pass
    return time.process_time() - c0


def free_cores(seconds: float = 3.0) -> float:
    """Cores two busy processes actually get right now (2.0 on an idle 2-core machine)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        return sum(pool.map(_spin, [seconds, seconds])) / seconds


def make_inputs(root: Path, frames: int) -> None:
    from synthetic import moving_scene, write_clip
    from videostyle.media import write_image

    (root / "clips").mkdir()
    for i, name in enumerate(("astronaut", "coffee", "chelsea", "rocket")):
        write_clip(root / "clips" / f"c{i}.mp4", moving_scene(frames, (128, 96), photo_name=name).frames,
                   fps=12, audio=True)
    rng = np.random.default_rng(0)
    write_image(root / "style.png", (rng.random((96, 96, 3)) * 255).astype(np.uint8))


def write_manifest(root: Path, out: str, args: argparse.Namespace) -> Path:
    (root / out).mkdir()
    lines = ["[defaults]", 'style = "style.png"', 'model = "vgg16-hed"', f"size = {args.size}",
             f"first_iterations = {args.first_iterations}", f"iterations = {args.iterations}"]
    for i in range(4):
        lines += ["", "[[job]]", f'input = "clips/c{i}.mp4"', f'output = "{out}/c{i}.mkv"']
    path = root / f"{out}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def decode(path: Path) -> np.ndarray:
    from videostyle.media import open_reader

    with open_reader(os.fspath(path)) as reader:
        return np.stack([f.image for f in reader])


def run(root: Path, name: str, args: argparse.Namespace, *, force: bool = False, **kw: object) -> dict[str, object]:
    from videostyle.batch import load_manifest, plan_batch, run_batch

    manifest = root / f"{name}.toml" if force else write_manifest(root, name, args)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    result = run_batch(plan_batch(load_manifest(manifest), force=force), quiet=True, **kw)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    bad = [f"{r.label}: {r.message}" for r in result.results if r.status != "ok"]
    if bad:
        raise SystemExit(f"{name}: jobs failed: {bad}")
    frames = sum(r.frames or 0 for r in result.results)
    return {"name": name, "seconds": seconds, "frames": frames, "cpu": sum(r.cpu_seconds or 0 for r in result.results),
            "job_seconds": [r.seconds for r in result.results],
            "job_cpu": [r.cpu_seconds for r in result.results], "load": (load0, os.getloadavg()[0])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=12, help="frames per clip")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--first-iterations", type=int, default=10)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--json", default=None, help="also write the results as JSON")
    args = p.parse_args()

    import ray
    import torch

    load_before = os.getloadavg()[0]
    cores_before = free_cores()
    rows = []
    with tempfile.TemporaryDirectory(prefix="videostyle-batch-bench-") as tmp:
        root = Path(tmp)
        make_inputs(root, args.frames)

        def reference(i: int) -> np.ndarray:
            return decode(root / "local_1thread" / f"c{i}.mkv")

        rows.append(dict(run(root, "local_1thread", args, executor="local", threads=1), workers=1, ray_init=0.0))
        for workers in (1, 2):
            t0 = time.perf_counter()
            ray.init(address="local", num_cpus=workers, include_dashboard=False, logging_level="ERROR")
            init = time.perf_counter() - t0
            try:
                cold = run(root, f"ray_{workers}", args, executor="ray", threads=1)
                rows.append(dict(cold, name=f"ray_{workers}_cold", workers=workers, ray_init=init))
                same = [np.array_equal(decode(root / f"ray_{workers}" / f"c{i}.mkv"), reference(i)) for i in range(4)]
                rows[-1]["equal_to_local"] = all(same)
                warm = run(root, f"ray_{workers}", args, force=True, executor="ray", threads=1)
                rows.append(dict(warm, name=f"ray_{workers}_warm", workers=workers, ray_init=0.0))
                same = [np.array_equal(decode(root / f"ray_{workers}" / f"c{i}.mkv"), reference(i)) for i in range(4)]
                rows[-1]["equal_to_local"] = all(same)
            finally:
                ray.shutdown()

    base = {r["name"]: r for r in rows}
    print(f"4 jobs x {args.frames} frames, size {args.size}, {args.first_iterations}/{args.iterations} iterations, "
          f"vgg16-hed, torch {torch.__version__}, ray {ray.__version__}, {os.cpu_count()} CPUs, "
          f"load average before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f}, "
          f"cores two busy processes got before/after: {cores_before:.2f}/{free_cores():.2f}")
    print("| run | workers | seconds | frames/s | speed-up vs 1 worker | CPU s | CPU share | overlap | ray.init s "
          "| equal | load before/after | per-job wall s | per-job CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        seconds, workers = float(r["seconds"]), int(r["workers"])
        one = base.get(str(r["name"]).replace("ray_2", "ray_1"), r)
        speed = float(one["seconds"]) / seconds
        share = float(r["cpu"]) / (seconds * workers)
        overlap = sum(float(x) for x in r["job_seconds"]) / seconds  # type: ignore[attr-defined]  # jobs at once
        print(f"| {r['name']} | {workers} | {seconds:.1f} | {float(r['frames']) / seconds:.2f} | {speed:.2f}x | "
              f"{float(r['cpu']):.1f} | {share:.0%} | {overlap:.2f} | {float(r['ray_init']):.1f} | "
              f"{r.get('equal_to_local', '-')} | "
              f"{r['load'][0]:.2f}/{r['load'][1]:.2f} | "  # type: ignore[index]
              f"{' '.join(f'{x:.1f}' for x in r['job_seconds'])} | "  # type: ignore[attr-defined]
              f"{' '.join(f'{x:.1f}' for x in r['job_cpu'])} |")  # type: ignore[attr-defined]
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
