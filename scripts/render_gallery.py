"""Render the style gallery into docs/gallery/: for each painting, one strip
``content | style | result | result with colour preservation (luminance)``.

Content is a scikit-image photo; the paintings are read at run time from a media directory (not part of the repo):

    .venv/bin/python scripts/render_gallery.py --media ../shared/media --size 192 --iterations 200

The outputs are our own renders and small (PNG, 192 px high strips).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data

from videostyle.config import StyleConfig
from videostyle.style import (
    Stylizer,
    content_distance,
    load_backbone,
    load_style_image,
    style_distance,
)

PAINTINGS = ("starry_night.jpg", "the_scream.jpg", "shipwreck.jpg", "woman-with-hat-matisse.jpg")
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1")


def _fit(img: np.ndarray, h: int) -> np.ndarray:
    pil = Image.fromarray(img)
    w = max(1, round(pil.width * h / pil.height))
    return np.asarray(pil.resize((w, h), Image.Resampling.LANCZOS))


def _crop_square(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return np.asarray(Image.fromarray(img[y:y + s, x:x + s]).resize((size, size), Image.Resampling.LANCZOS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--media", default="../shared/media", help="directory holding the paintings")
    ap.add_argument("--out", default="docs/gallery")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--model", default="vgg16-hed")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--styles", nargs="*", default=list(PAINTINGS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    content = _crop_square(data.astronaut(), args.size)
    backbone = load_backbone(args.model, layers=LAYERS)
    lines = [
        "# Style gallery",
        "",
        f"Rendered by `scripts/render_gallery.py` (backbone {backbone.name}, {args.size} px, {args.iterations} "
        "L-BFGS iterations, default `StyleConfig` weights, seed 0). Each strip: content (scikit-image `astronaut`) | "
        "style | result | result with colour preservation (`color=\"luminance\"`).",
        "",
        "| style | style distance content → result | content distance | seconds |",
        "|---|---|---|---|",
    ]
    for name in args.styles:
        style = load_style_image(Path(args.media) / name)
        row = [content, _fit(style, args.size)]
        stats = []
        for color in ("none", "luminance"):
            cfg = StyleConfig(model=args.model, color=color)
            st = Stylizer([style], cfg, device="cpu", backbone=backbone)
            t = time.perf_counter()
            res = st.run(content, iterations=args.iterations, seed=0)
            row.append(res.image)
            stats.append((style_distance(res.image, style, backbone), content_distance(res.image, content, backbone),
                          time.perf_counter() - t))
            print(f"{name} color={color}: loss {res.loss['total']:.3f} in {res.seconds:.1f}s", flush=True)
        strip = np.concatenate([np.pad(im, ((0, 0), (0, 4), (0, 0)), constant_values=255) for im in row], axis=1)
        stem = Path(name).stem
        Image.fromarray(strip[:, :-4]).save(out / f"{stem}.png", optimize=True)
        d0 = style_distance(content, style, backbone)
        (sd, cd, secs), (sd_l, cd_l, secs_l) = stats
        lines.append(f"| {stem} ![]({stem}.png) | {d0:.3f} → {sd:.3f} (luminance: {sd_l:.3f}) | "
                     f"{cd:.3f} (luminance: {cd_l:.3f}) | {secs:.0f} / {secs_l:.0f} |")
    lines += ["", "Distances: relative Gram distance averaged over relu1_1…relu5_1 and relative relu4_2 distance "
              "(`videostyle.style.style_distance` / `content_distance`), measured with the same backbone.", ""]
    (out / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
