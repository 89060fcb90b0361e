"""VFX plates: OpenEXR, DPX and TIFF images read and written with OpenImageIO (float data, alpha, bit depths).

A plate is read as float32 H×W×C (C = 3 or 4, alpha last, premultiplied as OpenImageIO delivers it: EXR is
premultiplied by definition and unassociated TIFF alpha is premultiplied on reading) together with a
:class:`PlateSpec` describing how it was stored, so that outputs can be written the same way (pixel type, bit
depth, compression). Integer data is normalised to [0, 1]. Colour conversion is :mod:`videostyle.media.colour`'s.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EmptyInputError, InputNotFoundError, OutputNotWritableError, UnreadableMediaError
from .colour import chromaticities_of, colorspace_from_chromaticities

#: Extensions read and written with OpenImageIO (lower case, with the dot).
PLATE_EXTS = (".exr", ".dpx", ".tif", ".tiff")
#: Compressions accepted for EXR outputs (the lossless ones plus OpenEXR's common lossy ones).
EXR_COMPRESSIONS = ("none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab", "htj2k")
#: plates whose header claims more pixels than this are refused before decoding
MAX_PLATE_PIXELS = 600_000_000


@dataclass(frozen=True)
class PlateSpec:
    """How a plate is stored: ``sample`` is ``"uint8"``, ``"uint16"``, ``"half"`` or ``"float"``."""

    width: int
    height: int
    channels: int  # 3 (RGB) or 4 (RGBA) as delivered by read_plate (gray is expanded to RGB)
    sample: str
    bits: int  # bits per sample as stored (10 for most DPX)
    compression: str | None
    colorspace: str | None  # what the file says (oiio:ColorSpace, EXR chromaticities), None when it says nothing
    format: str = ""  # OpenImageIO's format name: "openexr", "dpx", "tiff", ...

    @property
    def is_float(self) -> bool:
        return self.sample in ("half", "float")

    @property
    def has_alpha(self) -> bool:
        return self.channels == 4


@dataclass(frozen=True)
class BadValues:
    """Pixel values of a plate (all its channels) that are not ordinary numbers. Negative values are legitimate in
    scene-linear plates (colours outside the working gamut) and pass through the colour conversion's residual;
    NaN and infinite values come from a bad render."""

    nan: int = 0
    infinite: int = 0
    negative: int = 0  # finite values below 0

    @property
    def broken(self) -> int:
        """NaN and infinite values."""
        return self.nan + self.infinite

    def describe(self) -> str:
        """``"6 NaN, 1 infinite and 12 negative pixel values"`` (the kinds present)."""
        parts = [f"{n} {what}" for n, what in ((self.nan, "NaN"), (self.infinite, "infinite"),
                                                (self.negative, "negative")) if n]
        text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "no odd"
        return f"{text} pixel values"


def bad_values(pixels: np.ndarray) -> BadValues:
    """Count the NaN, infinite and negative values of a float plate's pixels (:class:`BadValues`)."""
    finite = np.isfinite(pixels)
    nan = int(np.isnan(pixels).sum())
    return BadValues(nan=nan, infinite=int(pixels.size - finite.sum()) - nan,
                     negative=int((finite & (pixels < 0)).sum()))


def is_plate_path(path: str | os.PathLike[str]) -> bool:
    """True for the extensions handled by OpenImageIO here (:data:`PLATE_EXTS`)."""
    return Path(path).suffix.lower() in PLATE_EXTS


def _oiio():  # noqa: ANN202
    import OpenImageIO

    return OpenImageIO


_SAMPLES = {"UINT8": "uint8", "INT8": "uint8", "UINT16": "uint16", "INT16": "uint16", "HALF": "half",
            "FLOAT": "float", "DOUBLE": "float", "UINT32": "float", "INT32": "float"}


def _open(path: Path):  # noqa: ANN202 - an OpenImageIO.ImageInput
    if not path.exists():
        raise InputNotFoundError("no such file", path=path)
    if path.stat().st_size == 0:
        raise EmptyInputError("the file is empty (0 bytes)", path=path)
    oiio = _oiio()
    handle = oiio.ImageInput.open(os.fspath(path))
    if handle is None:
        reason = re.sub(r"\s*\(\s*\)", "", " ".join(oiio.geterror().split()).replace(os.fspath(path), ""))
        reason = reason.strip(" ():")
        raise UnreadableMediaError(f"not a readable image ({reason[:160] or 'unknown or damaged format'})",
                                   path=path)
    return handle


def _display_window(s) -> tuple[int, int, int, int]:  # noqa: ANN001 - an OpenImageIO.ImageSpec
    """(x, y, width, height) of the display window (EXR's full window); the data window when none is given."""
    if s.full_width > 0 and s.full_height > 0:
        return s.full_x, s.full_y, s.full_width, s.full_height
    return s.x, s.y, s.width, s.height


def _spec_of(handle, path: Path) -> PlateSpec:  # noqa: ANN001
    s = handle.spec()
    _x, _y, width, height = _display_window(s)
    for w, h in ((s.width, s.height), (width, height)):
        if w <= 0 or h <= 0 or w * h > MAX_PLATE_PIXELS:
            raise UnreadableMediaError(f"image header gives an unusable size {w}x{h}", path=path)
    alpha = _channels(s)[1] >= 0
    sample = _SAMPLES.get(str(s.format.basetype).rsplit(".", 1)[-1], "float")
    bits = int(s.get_int_attribute("oiio:BitsPerSample", 0)) or {"uint8": 8, "uint16": 16, "half": 16}.get(sample, 32)
    named = s.get_string_attribute("oiio:ColorSpace") or None
    chroma = s.getattribute("chromaticities")
    colorspace = named or colorspace_from_chromaticities(tuple(chroma) if chroma is not None else None)
    return PlateSpec(width=width, height=height, channels=4 if alpha else 3, sample=sample, bits=bits,
                     compression=s.get_string_attribute("compression") or None, colorspace=colorspace,
                     format=handle.format_name())


def _channels(s) -> tuple[list[int], int]:  # noqa: ANN001 - an OpenImageIO.ImageSpec
    """(indices of the colour channels, 1 to 3; index of alpha or -1), by channel name: R, G, B (or Y) and A of
    the main layer; by position when the file does not name them (2 or 4 channels: the last is alpha)."""
    names = [str(name) for name in s.channelnames]
    upper = [name.upper() for name in names]
    alpha = s.alpha_channel if s.alpha_channel >= 0 else (upper.index("A") if "A" in upper else -1)
    if all(c in upper for c in ("R", "G", "B")):
        return [upper.index(c) for c in ("R", "G", "B")], alpha
    if "Y" in upper:
        return [upper.index("Y")], alpha
    named = any(name in ("R", "G", "B", "A", "Y") for name in upper)
    if alpha < 0 and not named and len(names) in (2, 4):
        alpha = len(names) - 1
    return [c for c in range(len(names)) if c != alpha][:3], alpha


def read_plate_spec(path: str | os.PathLike[str]) -> PlateSpec:
    """The header of a plate (no pixels decoded)."""
    p = Path(path)
    handle = _open(p)
    try:
        return _spec_of(handle, p)
    finally:
        handle.close()


def read_plate(path: str | os.PathLike[str]) -> tuple[np.ndarray, PlateSpec]:
    """``(pixels float32 H×W×3 or H×W×4 premultiplied, spec)`` of the first subimage of a plate."""
    p = Path(path)
    handle = _open(p)
    try:
        spec = _spec_of(handle, p)
        s = handle.spec()
        pixels = handle.read_image(0, 0, 0, s.nchannels, "float")
        if pixels is None:
            reason = " ".join(_oiio().geterror().split())[:160]
            raise UnreadableMediaError(f"image data cannot be decoded ({reason or 'damaged file'})", path=p)
    finally:
        handle.close()
    pixels = _in_display_window(np.asarray(pixels, dtype=np.float32).reshape(s.height, s.width, -1), s)
    colour, alpha_at = _channels(s)
    rgb = pixels[..., colour]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    elif rgb.shape[2] == 2:
        rgb = np.concatenate([rgb, np.zeros_like(rgb[..., :1])], axis=2)
    if alpha_at >= 0:
        rgb = np.concatenate([rgb, pixels[..., alpha_at : alpha_at + 1]], axis=2)
    return np.ascontiguousarray(rgb), spec


def _in_display_window(data: np.ndarray, s) -> np.ndarray:  # noqa: ANN001 - an OpenImageIO.ImageSpec
    """The data window's pixels placed in the display window (a CG render's bounding box, overscan cropped);
    0 (transparent black) where there is no data."""
    fx, fy, fw, fh = _display_window(s)
    if (s.x, s.y, s.width, s.height) == (fx, fy, fw, fh):
        return data
    out = np.zeros((fh, fw, data.shape[2]), np.float32)
    x0, y0 = max(s.x, fx), max(s.y, fy)
    x1, y1 = min(s.x + s.width, fx + fw), min(s.y + s.height, fy + fh)
    if x1 > x0 and y1 > y0:
        out[y0 - fy : y1 - fy, x0 - fx : x1 - fx] = data[y0 - s.y : y1 - s.y, x0 - s.x : x1 - s.x]
    return out


def output_spec(ext: str, like: PlateSpec | None, *, alpha: bool, width: int, height: int,
                compression: str | None = None) -> PlateSpec:
    """How an output plate with extension ``ext`` is stored: like the source plate when it has the same format
    (pixel type, bit depth, compression), else half-float ZIP EXR, 16-bit ZIP TIFF or 10-bit DPX."""
    ext = ext.lower()
    same = like is not None and _format_of(ext) == like.format
    if ext == ".exr":
        sample = like.sample if same and like is not None and like.is_float else "half"
        bits = 16 if sample == "half" else 32
        comp = compression or (like.compression if same and like is not None else None) or "zip"
    elif ext == ".dpx":
        sample = "uint16"
        bits = like.bits if same and like is not None and like.bits in (8, 10, 12, 16) else 10
        comp = None
    else:  # TIFF: 16-bit, or float when the source TIFF was float
        sample = like.sample if same and like is not None and like.sample in ("float", "half", "uint16") \
            else "uint16"
        bits = {"uint16": 16, "half": 16}.get(sample, 32)
        comp = compression or "zip"
    return PlateSpec(width=width, height=height, channels=4 if alpha else 3, sample=sample, bits=bits,
                     compression=comp, colorspace=None, format=_format_of(ext))


def _format_of(ext: str) -> str:
    """OpenImageIO's format name for an output extension."""
    return {".tif": "tiff", ".tiff": "tiff", ".exr": "openexr"}.get(ext, ext.lstrip("."))


def write_plate(path: str | os.PathLike[str], pixels: np.ndarray, spec: PlateSpec,
                colorspace: str | None = None) -> None:
    """Write float H×W×3/4 ``pixels`` (premultiplied when 4) as ``spec`` says; the format follows the extension.

    ``colorspace`` is recorded in the file's ``oiio:ColorSpace`` attribute (EXR header, TIFF/DPX metadata).
    """
    oiio = _oiio()
    p = os.fspath(path)
    h, w, n = pixels.shape
    out_spec = oiio.ImageSpec(w, h, n, spec.sample)
    out_spec.channelnames = ("R", "G", "B", "A")[:n]
    if n == 4:
        out_spec.alpha_channel = 3
    if spec.compression:
        out_spec.attribute("compression", spec.compression)
    if spec.sample in ("uint8", "uint16") and spec.bits not in (8, 16):
        out_spec.attribute("oiio:BitsPerSample", int(spec.bits))
    if colorspace:
        out_spec.attribute("oiio:ColorSpace", colorspace)
        chroma = chromaticities_of(colorspace) if p.lower().endswith(".exr") else None
        if chroma is not None:  # the standard EXR header attribute other readers go by
            out_spec.attribute("chromaticities", oiio.TypeDesc("float[8]"), chroma)
    data = np.ascontiguousarray(pixels, dtype=np.float32)
    if spec.sample in ("uint8", "uint16"):
        data = np.clip(data, 0.0, 1.0)
    handle = oiio.ImageOutput.create(p)
    if handle is None:
        raise OutputNotWritableError(f"no OpenImageIO writer for this file ({oiio.geterror()[:120]})", path=p)
    try:
        ok = handle.open(p, out_spec) and handle.write_image(data)
        if not ok:
            reason = " ".join((handle.geterror() or oiio.geterror()).split())[:160]
            raise OutputNotWritableError(f"cannot write the image ({reason or 'unknown error'})", path=p)
    finally:
        handle.close()
