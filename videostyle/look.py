"""Choosing a look before the long run: one keyframe stylised per style × style weight, in one labelled sheet.

``videostyle look INPUT --style A [--style B …] [--style-weight 10,50,250] [--at SEC] -o sheet.png`` renders
the frame at ``--at`` seconds (default: the middle of the clip) at a small working size, cold (from the content,
as a shot's first frame), once for every style and weight, and lays the results out as a contact sheet: a row per
style (its image on the left), a column per weight, the source frame top left, every cell labelled. Each cell
uses exactly the settings ``videostyle stylize … --style S --style-weight W`` would use for a first frame at
that size and budget, so a picked cell carries over to the full run (at its own ``--size``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import media
from ._fs import atomic_write
from .config import RangeConfig, StyleConfig, StylizeConfig, VideoConfig
from .errors import UsageError
from .media.reader import resize_image

#: default weights: the stylize default × these factors (a lighter and a heavier look around it)
WEIGHT_FACTORS = (0.2, 1.0, 5.0)
#: defaults of the look command (small and quick: about a minute on 2 cores for 1 style × 3 weights, 160 px)
LOOK_SIZE = 160
LOOK_ITERATIONS = 100
_LABEL_H = 18
_PAD = 4


@dataclass
class LookCell:
    """One stylised keyframe of the sheet."""

    style: str
    weight: float
    image: np.ndarray = field(repr=False)
    iterations: int
    seconds: float


def default_weights(style: StyleConfig | None = None) -> tuple[float, ...]:
    """The stylize default style weight × :data:`WEIGHT_FACTORS`."""
    base = (style or StyleConfig()).style_weight
    return tuple(float(f"{base * f:.3g}") for f in WEIGHT_FACTORS)


def _keyframe_time(info: media.MediaInfo, at: float | None) -> float:
    if at is not None:
        if at < 0:
            raise UsageError(f"invalid --at {at!r}: must be >= 0")
        if info.duration is not None and at >= info.duration:
            raise UsageError(f"--at {at:g} s is past the end of {info.path} ({info.duration:.3f} s)")
        return float(at)
    if info.kind == "image" or not info.duration:
        return 0.0
    fps = info.video.fps if info.video is not None and info.video.fps else float(media.DEFAULT_FPS)
    frames = int(info.duration * fps)
    return (frames // 2) / fps  # the middle frame, on a frame boundary


def look_job(input_path: str, styles: Sequence[str], output: str, *, at: float | None = None,
             size: int = LOOK_SIZE, style: StyleConfig | None = None, colorspace: str | None = None,
             force: bool = False) -> StylizeConfig:
    """The stylize job each cell is: the one frame at ``at`` s, cold, at ``size`` (what the pre-flight checks)."""
    return StylizeConfig(input=input_path, output=output, styles=tuple(styles), style=style or StyleConfig(),
                         video=VideoConfig(size=size, temporal_weight=0.0, input_colorspace=colorspace),
                         range=RangeConfig(start=at, max_frames=1), force=force, quiet=True)


def check_look(input_path: str, styles: Sequence[str], output: str, *, weights: Sequence[float] | None = None,
               at: float | None = None, size: int = LOOK_SIZE, style: StyleConfig | None = None,
               colorspace: str | None = None, force: bool = False) -> float:
    """Validate everything before any work (typed one-line errors); returns the keyframe's time in seconds.

    The weights go through the option schema and the cell's job through the stylize pre-flight (input, range,
    style images, the sheet's path, a working size the backbone can use, memory).
    """
    from .video.preflight import preflight

    if Path(output).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UsageError(f"the look sheet {output} must be a .png or .jpg image")
    base = style or StyleConfig()
    if weights is not None and not weights:
        raise UsageError("--style-weight needs at least one weight")
    for w in weights or ():
        dataclasses.replace(base, style_weight=float(w))
    info = media.probe(input_path)
    when = _keyframe_time(info, at)
    preflight(look_job(input_path, styles, output, at=when if info.kind != "image" else None, size=size,
                       style=base, colorspace=colorspace, force=force))
    return when


def render_look(
    input_path: str,
    styles: Sequence[str],
    output: str,
    *,
    weights: Sequence[float] | None = None,
    at: float | None = None,
    size: int = LOOK_SIZE,
    iterations: int = LOOK_ITERATIONS,
    style: StyleConfig | None = None,
    colorspace: str | None = None,
    seed: int = 0,
    force: bool = False,
    backbone: Any = None,
    on_cell: Callable[[LookCell], None] | None = None,
) -> dict[str, Any]:
    """Render the contact sheet to ``output`` (PNG/JPEG); returns a JSON-ready report (cells, times, backbone).

    ``style`` holds every other setting (model, layers, tv weight, …); its ``style_weight`` is replaced by each of
    ``weights`` (default :func:`default_weights`). ``backbone`` injects a feature network (tests).
    """
    from .style import Stylizer, load_style_image

    t0 = time.perf_counter()
    base = style or StyleConfig()
    weights = tuple(float(w) for w in (weights if weights is not None else default_weights(base)))
    if iterations < 0:
        raise UsageError(f"invalid iterations {iterations!r}: must be >= 0")
    when = check_look(input_path, styles, output, weights=weights, at=at, size=size, style=base,
                      colorspace=colorspace, force=force)
    info = media.probe(input_path)
    v = info.video
    assert v is not None
    dims = media.working_size(v.display_width, v.display_height, size)
    with media.open_reader(input_path, start=when if info.kind != "image" else None, max_frames=1, size=dims,
                           colorspace=colorspace) as reader:
        frame = next(reader)
    style_images = [load_style_image(p) for p in styles]
    cells: list[LookCell] = []
    model = None
    for path, image in zip(styles, style_images):
        for w in weights:
            stylizer = Stylizer([image], dataclasses.replace(base, style_weight=w), backbone=backbone)
            backbone = stylizer.backbone  # loaded once, shared by every cell
            model = stylizer.backbone_name
            result = stylizer.run(frame.image, iterations=iterations, seed=seed)
            cell = LookCell(style=path, weight=w, image=result.image, iterations=int(result.iterations),
                            seconds=float(result.seconds))
            cells.append(cell)
            if on_cell is not None:
                on_cell(cell)
    sheet = contact_sheet(frame.image, f"source at {frame.pts:.2f} s", style_images, styles, weights, cells)
    _write_sheet(output, sheet)
    return {
        "input": input_path, "output": output, "at": frame.pts, "size": list(dims), "iterations": iterations,
        "model": model, "weights": list(weights), "styles": list(styles),
        "cells": [{"style": c.style, "weight": c.weight, "iterations": c.iterations, "seconds": c.seconds}
                  for c in cells],
        "seconds": time.perf_counter() - t0,
    }


def _font(size: int = 12):  # noqa: ANN202 - a PIL font
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _fit(image: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit inside ``box`` = (w, h), aspect kept."""
    h, w = image.shape[:2]
    scale = min(box[0] / w, box[1] / h)
    return resize_image(image, (max(1, round(w * scale)), max(1, round(h * scale))))


def contact_sheet(source: np.ndarray, source_label: str, style_images: Sequence[np.ndarray],
                  style_names: Sequence[str], weights: Sequence[float], cells: Sequence[LookCell]) -> np.ndarray:
    """The sheet as RGB uint8: the source and the weight headers on top, a row per style, every cell labelled."""
    from PIL import Image, ImageDraw

    ch, cw = source.shape[:2]
    step_x, step_y = cw + _PAD, ch + _LABEL_H + _PAD
    cols, rows = 1 + len(weights), 1 + len(style_images)
    sheet = Image.new("RGB", (_PAD + cols * step_x, _PAD + rows * step_y), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    font, big = _font(12), _font(14)
    default = StyleConfig().style_weight

    def put(image: np.ndarray, col: int, row: int, label: str) -> None:
        x, y = _PAD + col * step_x, _PAD + row * step_y
        fitted = _fit(image, (cw, ch))
        ox, oy = x + (cw - fitted.shape[1]) // 2, y + (ch - fitted.shape[0]) // 2
        sheet.paste(Image.fromarray(fitted), (ox, oy))
        draw.text((x + 2, y + ch + 2), _shorten(draw, label, font, cw - 4), fill=(235, 235, 235), font=font)

    put(source, 0, 0, source_label)
    for j, w in enumerate(weights):
        x, y = _PAD + (j + 1) * step_x, _PAD
        note = " (default)" if w == default else f" (x{w / default:.3g})" if default else ""
        draw.text((x + 4, y + ch // 2 - 16), "style weight", fill=(200, 200, 200), font=font)
        draw.text((x + 4, y + ch // 2), _shorten(draw, f"{w:g}{note}", big, cw - 8), fill=(255, 255, 255),
                  font=big)
    by_key = {(c.style, c.weight): c for c in cells}
    for i, (image, name) in enumerate(zip(style_images, style_names)):
        put(image, 0, i + 1, os.path.basename(name))
        for j, w in enumerate(weights):
            cell = by_key[(name, w)]
            put(cell.image, j + 1, i + 1, f"{os.path.basename(name)} · {w:g} · {cell.iterations} it")
    return np.asarray(sheet)


def _shorten(draw: Any, text: str, font: Any, width: int) -> str:
    """``text``, cut with an ellipsis so that it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _write_sheet(output: str, sheet: np.ndarray) -> None:
    import cv2

    ext = Path(output).suffix.lower()
    ok, buf = cv2.imencode(ext, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover - OpenCV failure
        raise OSError(f"{output}: could not encode the sheet")
    atomic_write(Path(output), buf.tobytes())
