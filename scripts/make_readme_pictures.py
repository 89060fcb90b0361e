"""Render the README's pictures from the bundled sample clip: what the tool does, and flicker with vs without
temporal consistency.

    .venv/bin/python scripts/make_readme_pictures.py                 # painting read from ../shared/media
    .venv/bin/python scripts/make_readme_pictures.py --style sample_media/style.png

The first frames of ``sample_media/sample.mp4`` (one shot) are stylised twice through the public API
(``videostyle.video.stylize``, offline ``vgg16-hed`` backbone, lossless output): per frame (``--temporal-weight 0``)
and with the default temporal consistency. Writes into ``docs/``:

* ``readme_overview.png`` — the style image, input frames and their stylised frames;
* ``readme_flicker.png`` — rows: source, per-frame, per-frame change, temporal, temporal change; the "change" rows
  show |frame t − frame t−1 warped onto t| (flow of the input, reliable pixels; the per-pixel quantity the warping
  error averages), so flicker is visible in a still picture;
* ``readme_flicker.gif`` — source | per-frame | temporal, looping, slowed down.

The painting is read at run time from a media folder outside the repository (default ``../shared/media`` relative to
the repository root) and is never copied into it; only our rendered composites are written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_media" / "sample.mp4"
DEFAULT_MEDIA = ROOT.parent / "shared" / "media"
PAINTING = "starry_night.jpg"
GAP = 4


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--style", default=None,
                    help=f"style image (default: {PAINTING} in the media folder, ../shared/media from the repo root)")
    ap.add_argument("--style-label", default="style: Van Gogh,\nThe Starry Night")
    ap.add_argument("--frames", type=int, default=12, help="frames of the sample clip (first shot: < 35)")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--first-iterations", type=int, default=80)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--cache", default=None, help="an .npz of the stylised frames: reused if present, else written "
                    "(to re-render the pictures without stylising again)")
    return ap.parse_args(argv)


def resolve_style(arg: str | None) -> Path:
    path = Path(arg) if arg else DEFAULT_MEDIA / PAINTING
    if not path.is_file():
        where = "--style" if arg else f"the media folder {os.path.relpath(DEFAULT_MEDIA, Path.cwd())}"
        sys.exit(f"make_readme_pictures: style image {path.name} not found ({where}); pass --style PATH "
                 "(e.g. --style sample_media/style.png)")
    return path


def stylize_clip(work: Path, name: str, style: Path, args: argparse.Namespace, weight: float | None) -> list[np.ndarray]:
    from videostyle import media
    from videostyle.config import RangeConfig, StyleConfig, StylizeConfig, VideoConfig
    from videostyle.video import stylize

    video = dict(size=args.size, first_iterations=args.first_iterations, iterations=args.iterations)
    if weight is not None:
        video["temporal_weight"] = weight
    out = work / f"{name}.mkv"
    t0 = time.perf_counter()
    report = stylize(StylizeConfig(input=str(SAMPLE), output=str(out), styles=(str(style),),
                                   style=StyleConfig(model="vgg16-hed", device="cpu"), video=VideoConfig(**video),
                                   range=RangeConfig(max_frames=args.frames), work_dir=str(work / f"{name}.work"),
                                   force=True, quiet=True))
    print(f"{name}: {report['frames']} frames {report['size']}, iterations {report['iterations']}, "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    with media.open_reader(out) as reader:
        return [f.image for f in reader]


def source_frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    from videostyle import media

    with media.open_reader(SAMPLE, size=size, max_frames=count) as reader:
        return [f.image for f in reader]


def change_maps(source: list[np.ndarray], stylised: list[np.ndarray]
                ) -> tuple[list[np.ndarray], list[float], list[float]]:
    """Per-pixel |V_t − warp(V_{t−1})| (RGB norm, [0, √3]) on the pixels the forward-backward check keeps (0
    elsewhere), each frame's warping error (Lai et al.: the mean of its square over them and the channels, as
    ``videostyle metrics``) and the same with motion boundaries left out too. Frame 0 has no map (zeros, NaN)."""
    from videostyle.flow import FlowEstimator, consistency_mask, warp
    from videostyle.metrics import pair_warping_error

    est = FlowEstimator("dis-medium")
    maps, errors, boundary = [np.zeros(source[0].shape[:2], np.float32)], [float("nan")], [float("nan")]
    for t in range(1, len(source)):
        bwd, fwd, boundary_mask = est.pair(source[t], source[t - 1])
        mask = consistency_mask(bwd, fwd, boundaries=False)
        diff = stylised[t].astype(np.float32) / 255 - warp(stylised[t - 1], bwd).astype(np.float32) / 255
        maps.append(np.sqrt((diff**2).sum(-1)) * (mask > 0.5))
        errors.append(pair_warping_error(stylised[t], stylised[t - 1], bwd, mask))
        boundary.append(pair_warping_error(stylised[t], stylised[t - 1], bwd, boundary_mask))
    return maps, errors, boundary


def heat(values: np.ndarray, vmax: float = 0.5) -> np.ndarray:
    import matplotlib

    cmap = matplotlib.colormaps["magma"]
    return (cmap(np.clip(values / vmax, 0, 1))[..., :3] * 255).astype(np.uint8)


def font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def labelled_grid(rows: list[tuple[str, list[np.ndarray], list[str] | None]], label_w: int, tile: tuple[int, int],
                  title: str | None = None) -> np.ndarray:
    """A white canvas with one labelled row per entry: (row label, tiles, optional caption per tile)."""
    from PIL import Image, ImageDraw

    w, h = tile
    cols = max(len(r[1]) for r in rows)
    cap_h = 16
    top = 24 if title else 0
    row_h = h + cap_h
    canvas = Image.new("RGB", (label_w + cols * (w + GAP), top + len(rows) * (row_h + GAP)), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((6, 4), title, fill="black", font=font(15))
    for r, (label, tiles, captions) in enumerate(rows):
        y = top + r * (row_h + GAP)
        lines = label.split("\n")
        for i, line in enumerate(lines):
            draw.text((6, y + h // 2 - 9 * len(lines) + 18 * i), line, fill="black", font=font(14))
        for c, img in enumerate(tiles):
            x = label_w + c * (w + GAP)
            canvas.paste(Image.fromarray(img), (x, y))
            if captions and captions[c]:
                draw.text((x + 2, y + h + 1), captions[c], fill="#333333", font=font(12))
    return np.asarray(canvas)


def overview(style_img: np.ndarray, source: list[np.ndarray], temporal: list[np.ndarray], picks: list[int],
             style_label: str) -> np.ndarray:
    """style | input frames (top) / stylised frames (bottom)."""
    from PIL import Image, ImageDraw

    h, w = source[0].shape[:2]
    cap = 34  # two caption lines under the style image
    full = 2 * (h + 20) + GAP  # both rows of frames with their captions
    sh, sw = style_img.shape[:2]
    scale = (full - cap) / sh
    thumb = np.asarray(Image.fromarray(style_img).resize((max(1, round(sw * scale)), full - cap),
                                                         Image.Resampling.LANCZOS))
    width = thumb.shape[1] + 2 * GAP + len(picks) * (w + GAP)
    canvas = Image.new("RGB", (width, full), "white")
    draw = ImageDraw.Draw(canvas)
    canvas.paste(Image.fromarray(thumb), (0, 0))
    draw.text((2, full - cap + 2), style_label, fill="#333333", font=font(12))
    x0 = thumb.shape[1] + 2 * GAP
    for c, t in enumerate(picks):
        x = x0 + c * (w + GAP)
        canvas.paste(Image.fromarray(source[t]), (x, 0))
        draw.text((x + 2, h + 1), f"input frame {t}", fill="#333333", font=font(12))
        canvas.paste(Image.fromarray(temporal[t]), (x, h + 20 + GAP))
        draw.text((x + 2, 2 * h + 20 + GAP + 1), f"stylised frame {t}", fill="#333333", font=font(12))
    return np.asarray(canvas)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    from PIL import Image

    from videostyle.style import load_style_image

    torch.set_num_threads(args.threads)
    style = resolve_style(args.style)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.cache and Path(args.cache).is_file():
        cached = np.load(args.cache)
        baseline, temporal = list(cached["baseline"]), list(cached["temporal"])
    else:
        with tempfile.TemporaryDirectory(prefix="videostyle-readme-") as tmp:
            work = Path(tmp)
            baseline = stylize_clip(work, "per_frame", style, args, 0.0)
            temporal = stylize_clip(work, "temporal", style, args, None)
        if args.cache:
            np.savez_compressed(args.cache, baseline=np.stack(baseline), temporal=np.stack(temporal))
    h, w = temporal[0].shape[:2]
    source = source_frames((w, h), args.frames)
    base_maps, base_err, base_boundary = change_maps(source, baseline)
    temp_maps, temp_err, temp_boundary = change_maps(source, temporal)
    mean_b, mean_t = np.nanmean(base_err), np.nanmean(temp_err)
    print(f"warping error per-frame {mean_b:.5f}, temporal {mean_t:.5f} ({mean_t / mean_b:.3f}x)")
    mean_b, mean_t = np.nanmean(base_boundary), np.nanmean(temp_boundary)
    print(f"  motion boundaries left out too: per-frame {mean_b:.5f}, temporal {mean_t:.5f} ({mean_t / mean_b:.3f}x)")

    n = args.frames
    cols = list(range(max(1, n - 5), n))  # the last five frames: consecutive, so changes are flicker
    rows = [
        ("source", [source[t] for t in cols], [f"frame {t}" for t in cols]),
        ("per-frame\n(--temporal-weight 0)", [baseline[t] for t in cols], None),
        ("per-frame:\nchange vs t-1", [heat(base_maps[t]) for t in cols], [f"E={base_err[t]:.4f}" for t in cols]),
        ("temporal\n(default)", [temporal[t] for t in cols], None),
        ("temporal:\nchange vs t-1", [heat(temp_maps[t]) for t in cols], [f"E={temp_err[t]:.4f}" for t in cols]),
    ]
    title = ("change = |frame t - frame t-1 warped onto t| on reliable pixels (black = none); "
             "E = that frame's warping error")
    grid = labelled_grid(rows, 170, (w, h), title)
    Image.fromarray(grid).quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
        out / "readme_flicker.png", optimize=True)

    picks = [0, n // 2, n - 1]
    Image.fromarray(overview(load_style_image(style), source, temporal, picks, args.style_label)).save(
        out / "readme_overview.png", optimize=True)

    gif_frames = []
    for t in range(n):
        row = labelled_grid([("", [source[t], baseline[t], temporal[t]], ["source", "per-frame", "temporal"])], 0,
                            (w, h))
        gif_frames.append(Image.fromarray(row).quantize(colors=128, method=Image.Quantize.MEDIANCUT))
    gif_frames[0].save(out / "readme_flicker.gif", save_all=True, append_images=gif_frames[1:], duration=160,
                       loop=0, optimize=True)
    for name in ("readme_overview.png", "readme_flicker.png", "readme_flicker.gif"):
        print(f"wrote {os.path.relpath(out / name, Path.cwd())} ({(out / name).stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
