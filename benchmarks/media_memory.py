#!/usr/bin/env python3
"""Streaming-decode memory benchmark for ``videostyle.media.open_reader``.

Generates an N-frame 320×240 H.264 clip (moving photo texture, default 2000 frames) in a temporary directory,
decodes it with ``open_reader`` and reports RSS (psutil) after a warm-up of 50 frames, the peak, and the growth.
Holding every frame would need N × 230 KB (≈ 460 MB for 2000 frames); a streaming reader stays flat.

Usage: ``python benchmarks/media_memory.py [--frames 2000] [--size 320x240] [--resize 160x120]``
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import psutil

from videostyle.media import open_reader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
from synthetic import moving_scene, write_clip  # noqa: E402

MB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--resize", default=None, help="also resize frames in the reader, e.g. 160x120")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    resize = tuple(int(v) for v in args.resize.split("x")) if args.resize else None
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.mp4"
        loop = moving_scene(48, (w, h)).frames
        t0 = time.perf_counter()
        write_clip(path, (loop[i % len(loop)] for i in range(args.frames)), audio=True)
        t_enc = time.perf_counter() - t0
        gc.collect()
        rss_start = proc.memory_info().rss
        t0 = time.perf_counter()
        peak = 0
        count = 0
        with open_reader(path, size=resize) as reader:
            for _frame in reader:
                count += 1
                if count == 50:
                    gc.collect()
                    base = proc.memory_info().rss
                if count % 50 == 0:
                    peak = max(peak, proc.memory_info().rss)
        t_dec = time.perf_counter() - t0
        gc.collect()
        end = proc.memory_info().rss
    print(f"clip: {args.frames} frames {w}x{h} H.264+AAC, encoded in {t_enc:.1f} s; resize={resize}")
    print(f"decoded {count} frames in {t_dec:.1f} s ({count / t_dec:.0f} fps)")
    print(f"RSS before open: {rss_start / MB:.1f} MB, after 50 frames: {base / MB:.1f} MB, "
          f"peak: {peak / MB:.1f} MB, after close: {end / MB:.1f} MB")
    print(f"growth after warm-up (peak - after 50 frames): {(peak - base) / MB:.1f} MB; "
          f"peak - before open: {(peak - rss_start) / MB:.1f} MB")


if __name__ == "__main__":
    main()
