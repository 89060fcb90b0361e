"""Style weight against legibility: content and style distances of single stylised photos, with a frame strip.

A film viewer must still recognise the actors. For each style weight the photo is stylised from the content with
the offline VGG16-HED backbone and the default settings otherwise, and measured with
``videostyle.style.content_distance`` (relu4_2, relative: how far the subject's features moved) and
``style_distance`` (relative Gram distance to the style image: how painted). A strip of the results is written so
the trade-off can be judged by eye.

    python benchmarks/style_weight_bench.py --weights 1,3,5,10,20,50 --size 192 --iterations 100 \
        --out benchmarks/results/style_weight.json --strip docs/benchmarks/style_weight_strip.png

Photos are scikit-image's public-domain ``astronaut`` (a person) and ``chelsea``; the style defaults to
``../shared/media/starry_night.jpg`` when that folder is beside the repository, else the bundled sample style.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from videostyle.config import StyleConfig
from videostyle.style import Stylizer, content_distance, load_style_image, style_distance
from videostyle.style.images import resize01, to_uint8

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the generated test media (synthetic/ at the root; not installed with the package)
import synthetic  # noqa: E402

SHARED_STYLE = ROOT.parent / "shared" / "media" / "starry_night.jpg"


def _fit(photo: np.ndarray, size: int) -> np.ndarray:
    h, w = photo.shape[:2]
    scale = size / max(h, w)
    return to_uint8(resize01(photo.astype(np.float32) / 255.0, (round(w * scale) // 2 * 2, round(h * scale) // 2 * 2)))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default=str(SHARED_STYLE if SHARED_STYLE.exists() else ROOT / "sample_media/style.png"))
    ap.add_argument("--photos", default="astronaut,chelsea")
    ap.add_argument("--weights", default="1,3,5,10,20,50")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="results as JSON")
    ap.add_argument("--strip", default=None, help="PNG strip: rows = photos, columns = photo + each weight")
    return ap


def run(ns: argparse.Namespace) -> dict:
    """Stylise each photo at each style weight and measure it: ``{"settings", "results"}``."""
    torch.set_num_threads(ns.threads)
    style = load_style_image(ns.style)
    weights = [float(w) for w in ns.weights.split(",")]
    results: dict[str, list[dict]] = {}
    rows = []
    stylizer = None
    for name in ns.photos.split(","):
        content = _fit(synthetic.photo(name), ns.size)
        tiles = [content]
        results[name] = []
        for w in weights:
            cfg = StyleConfig(model="vgg16-hed", style_weight=w, device="cpu")
            stylizer = Stylizer([style], cfg, backbone=None if stylizer is None else stylizer.backbone)
            t0 = time.perf_counter()
            res = stylizer.run(content, iterations=ns.iterations, seed=0)
            entry = {"style_weight": w, "content_distance": content_distance(res.image, content, stylizer.backbone),
                     "style_distance": style_distance(res.image, style, stylizer.backbone),
                     "iterations": res.iterations, "seconds": time.perf_counter() - t0}
            results[name].append(entry)
            tiles.append(res.image)
            print(name, json.dumps(entry), flush=True)
        rows.append(tiles)
    settings = {k: v for k, v in vars(ns).items() if k not in ("out", "strip")}
    settings["style"] = Path(ns.style).name
    payload = {"settings": settings, "results": results}
    if ns.out:
        Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.out).write_text(json.dumps(payload, indent=2) + "\n")
    if ns.strip:
        h, w = rows[0][0].shape[:2]
        label_h = 14
        sheet = Image.new("RGB", (w * len(rows[0]), (h + label_h) * len(rows)), "white")
        draw = ImageDraw.Draw(sheet)
        for r, tiles in enumerate(rows):
            for c, tile in enumerate(tiles):
                x, y = c * w, r * (h + label_h)
                sheet.paste(Image.fromarray(tile).resize((w, h)), (x, y + label_h))
                draw.text((x + 3, y + 1), "photo" if c == 0 else f"style weight {weights[c - 1]:g}", fill="black")
        Path(ns.strip).parent.mkdir(parents=True, exist_ok=True)
        sheet.save(ns.strip)
    return payload


def main(argv: list[str] | None = None) -> int:
    run(parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
