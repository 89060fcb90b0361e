"""Plates for the tests, written and read with OpenImageIO directly (not with the code under test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio


def write(path: Path, pixels: np.ndarray, pixel_type: str, compression: str | None = None,
          channels: tuple[str, ...] | None = None, **attrs) -> None:
    """Write float ``pixels`` (H×W×C; by default RGB or RGBA) as ``pixel_type`` with OpenImageIO."""
    h, w, n = pixels.shape
    spec = oiio.ImageSpec(w, h, n, pixel_type)
    spec.channelnames = channels or ("R", "G", "B", "A")[:n]
    spec.alpha_channel = list(spec.channelnames).index("A") if "A" in spec.channelnames else -1
    if compression:
        spec.attribute("compression", compression)
    for key, value in attrs.items():
        if isinstance(value, tuple):
            spec.attribute(key, oiio.TypeDesc(f"float[{len(value)}]"), value)
        else:
            spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(np.ascontiguousarray(pixels, np.float32)), oiio.geterror()
    out.close()


def read(path: Path) -> tuple[np.ndarray, oiio.ImageSpec]:
    """(float32 pixels as stored, the spec)."""
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    pixels = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, "float"), np.float32)
    inp.close()
    return pixels, spec


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """The IEC 61966-2-1 sRGB encoding, written out here (not OpenColorIO) for an independent check."""
    x = np.asarray(linear, np.float64)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.abs(x) ** (1 / 2.4) * np.sign(x) - 0.055)


def srgb_error(result: np.ndarray, source: np.ndarray) -> float:
    """Largest difference of two linear RGB(A) plates' colour after the sRGB encoding, in 8-bit levels."""
    return float(np.abs(to_srgb(result[..., :3]) - to_srgb(source[..., :3])).max() * 255)
