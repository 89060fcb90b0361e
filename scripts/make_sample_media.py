#!/usr/bin/env python3
"""Generate the bundled sample media: ``sample.mp4``, ``style.png`` and ``sample_truth.json``.

Usage: ``python scripts/make_sample_media.py sample_media``

* ``sample.mp4``: 70 frames (2.92 s) at 24 fps, 320×180, H.264 + AAC (a 440 Hz tone). A camera moves over
  scikit-image's ``astronaut`` photo along a known sub-pixel path, a textured subject (the centre of the
  ``chelsea`` photo: a cat's face) enters from off-frame on the right and crosses the frame, and at frame 35 there
  is a hard cut to the ``coffee`` photo (same camera path).
* ``style.png``: a procedural painting (swirling bold brush strokes, strong palette), 320×320.
* ``sample_truth.json``: the ground truth: per-frame camera offsets (frame t shows the photo at x + offset[t]),
  occluder boxes (x0, y0, x1, y1) and the cut index.

Deterministic: the same inputs give the same pictures (the encoders' bitstreams may differ across versions).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from videostyle.media import write_image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
from synthetic import brush_painting, moving_scene, write_clip  # noqa: E402

FRAMES, SIZE, FPS, CUT = 70, (320, 180), 24, 35


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="directory to write into (created if missing)")
    args = parser.parse_args(argv)
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)

    scene = moving_scene(FRAMES, SIZE, photo_name="astronaut", cut_at=CUT, cut_photo="coffee",
                         velocity=(1.6, 0.7), wobble=2.0, occluder_size=(88, 72), occluder_start=(1.0, 0.3),
                         occluder_velocity=(-4.5, 0.4), subject="chelsea", fps=FPS)
    write_clip(out / "sample.mp4", scene.frames, fps=FPS, crf=23, preset="slow")
    write_image(out / "style.png", brush_painting((320, 320), seed=7))
    truth = {
        "frames": FRAMES, "size": list(SIZE), "fps": FPS, "cut_index": CUT,
        "offsets": [[round(float(x), 4), round(float(y), 4)] for x, y in scene.offsets],
        "occluder_boxes": [[int(v) for v in box] for box in scene.occluder_boxes],
        "note": "frame t shows the photo at x + offsets[t] outside the occluder; backward flow t->t-1 is "
                "offsets[t] - offsets[t-1] (except at the cut)",
    }
    (out / "sample_truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    for name in ("sample.mp4", "style.png", "sample_truth.json"):
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
