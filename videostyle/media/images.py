"""Still images: reading any common image as upright RGB, writing 8-bit or 16-bit images (OpenCV).

PNG alpha is read and written (straight, not premultiplied) when asked for; other formats here carry none.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..errors import EmptyInputError, InputNotFoundError, UnreadableMediaError

#: the formats of this module that hold an alpha channel (straight alpha); plates: :mod:`videostyle.media.plates`
ALPHA_EXTS = (".png",)


def _to_rgb(raw: np.ndarray, alpha: bool = False) -> np.ndarray:
    """OpenCV's BGR / BGRA / gray array → RGB with 3 channels (dtype kept); RGBA from BGRA when ``alpha``."""
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 4:
        return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA if alpha else cv2.COLOR_BGRA2RGB)
    if raw.shape[2] == 1:
        return cv2.cvtColor(raw[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert uint8 / uint16 / float ([0, 1]) images to uint8."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ValueError(f"unsupported image dtype {image.dtype}: expected uint8, uint16 or float")


def to_uint16(image: np.ndarray) -> np.ndarray:
    """Convert uint8 / uint16 / float ([0, 1]) images to uint16 (uint8 values scaled by 257)."""
    if image.dtype == np.uint16:
        return image
    if image.dtype == np.uint8:
        return image.astype(np.uint16) * 257
    if np.issubdtype(image.dtype, np.floating):
        return (np.clip(image, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    raise ValueError(f"unsupported image dtype {image.dtype}: expected uint8, uint16 or float")


#: images whose header claims more pixels than this are refused before decoding (≈ 24k × 24k, 1.8 GB as RGB8)
MAX_IMAGE_PIXELS = 600_000_000


def _cv2_reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text.split("error: ", 1)[-1][:160]


def _check_header_size(p: Path) -> None:
    """Refuse an image whose header claims an absurd size, before any pixel is decoded (Pillow reads headers only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # we apply our own limit below
            try:
                with Image.open(p) as img:
                    w, h = img.size
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return  # not something Pillow knows: OpenCV decides below
    if w <= 0 or h <= 0:
        raise UnreadableMediaError(f"image header gives an invalid size {w}x{h}", path=p)
    if w * h > MAX_IMAGE_PIXELS:
        raise UnreadableMediaError(
            f"image header claims {w}x{h} pixels, more than the {MAX_IMAGE_PIXELS // 1_000_000} megapixels accepted "
            "(damaged or hostile file)", path=p)


def read_image_raw(path: str | os.PathLike[str], *, alpha: bool = False) -> np.ndarray:
    """RGB image as stored (uint8 or uint16, H×W×3); ``alpha``: RGBA (H×W×4, straight alpha) when the file is a
    PNG with an alpha channel (:data:`ALPHA_EXTS`). Raises the input errors of :mod:`videostyle.errors`."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("no such file", path=p)
    if p.stat().st_size == 0:
        raise EmptyInputError("the file is empty (0 bytes)", path=p)
    _check_header_size(p)
    data = np.fromfile(p, dtype=np.uint8)
    try:
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    except cv2.error as err:  # OpenCV asserts on absurd sizes and some damaged headers
        raise UnreadableMediaError(f"not a readable image ({_cv2_reason(err)})", path=p) from None
    if raw is None or raw.size == 0:
        raise UnreadableMediaError("not a readable image (unknown or damaged format)", path=p)
    if raw.dtype not in (np.uint8, np.uint16):
        raw = to_uint16(raw.astype(np.float32)) if np.issubdtype(raw.dtype, np.floating) else raw.astype(np.uint16)
    return np.ascontiguousarray(_to_rgb(raw, alpha and p.suffix.lower() in ALPHA_EXTS))


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """RGB uint8 H×W×3 image (grayscale, alpha and 16-bit are converted)."""
    return to_uint8(read_image_raw(path))


def write_image(path: str | os.PathLike[str], image: np.ndarray, *, bit16: bool = False,
                alpha: np.ndarray | None = None) -> None:
    """Write an RGB image. ``bit16`` (or a uint16 image) writes 16 bits per channel where the format allows.

    The format follows the extension. JPEG and WebP are always 8-bit. ``alpha`` (H×W, [0, 1] or of the image's
    integer type) is written as straight alpha where the format holds it (:data:`ALPHA_EXTS`), else dropped.
    """
    p = Path(path)
    ext = p.suffix.lower()
    want16 = (bit16 or image.dtype == np.uint16) and ext in (".png", ".tif", ".tiff")
    depth = to_uint16 if want16 else to_uint8
    data = depth(image)
    if data.ndim == 2:
        bgr = data
    else:
        bgr = cv2.cvtColor(np.ascontiguousarray(data[:, :, :3]), cv2.COLOR_RGB2BGR)
    if alpha is not None and ext in ALPHA_EXTS and data.ndim == 3:
        bgr = np.dstack([bgr, depth(alpha)])
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise OSError(f"{p}: could not encode image")
    with open(p, "wb") as fh:  # a plain write keeps errno (e.g. ENOSPC) for the caller's message
        fh.write(buf.tobytes())
