"""Loading style images (the only file access of the style engine) and image ↔ tensor conversion."""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .._checks import check_file
from ..errors import (
    InputError,
    StyleError,
    TruncatedMediaError,
    UnreadableMediaError,
)

#: long side above which style images are downscaled on load (they are resized per content size anyway)
MAX_STYLE_SIDE = 2048
#: images with more pixels than this are refused before decoding (≈ 24k × 24k)
MAX_STYLE_PIXELS = 600_000_000


def _to_rgb8(img: Image.Image) -> np.ndarray:
    """Any Pillow mode (L, LA, P, RGBA, CMYK, I;16, I, F, 1) → RGB uint8; transparency composited onto white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if img.mode.startswith("I;16") or (img.mode == "I" and arr.max(initial=0) > 255):
            arr = arr / 65535.0 * 255.0
        elif img.mode == "F" and arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        g = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=-1)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def load_style_image(path: str | os.PathLike[str], *, max_side: int = MAX_STYLE_SIDE) -> np.ndarray:
    """Read a style image as RGB uint8 H×W×3, converting grayscale/alpha/palette/16-bit and capping the long side.

    Raises :class:`InputNotFoundError`, :class:`InputIsDirectoryError`, :class:`EmptyInputError`,
    :class:`UnreadableMediaError` (not an image) or :class:`TruncatedMediaError` (damaged), each naming the file.
    """
    p = check_file(path, missing="style image does not exist",
                   directory="style image is a directory, expected an image file",
                   empty="style image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                w, h = img.size
                if w * h > MAX_STYLE_PIXELS:
                    raise InputError(f"style image is too large ({w}×{h} pixels)", path=p)
                if img.format == "JPEG" and max(w, h) > 2 * max_side:
                    img.draft("RGB", (max_side, max_side))  # decode at a reduced scale: fast, little memory
                img = _exif_transpose(img)
                if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
                    arr = _to_rgb8(img)
                    pil = Image.fromarray(arr)
                else:
                    img.load()
                    pil = Image.fromarray(_to_rgb8(img))
    except Image.DecompressionBombError as exc:
        raise InputError(f"style image is too large to decode safely ({exc})", path=p) from None
    except UnidentifiedImageError:
        raise UnreadableMediaError("not a readable image (unknown or corrupt format)", path=p) from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg.lower() or "broken" in msg.lower():
            raise TruncatedMediaError(f"style image is damaged or truncated ({msg})", path=p) from None
        raise UnreadableMediaError(f"cannot decode style image ({msg})", path=p) from None
    if max(pil.size) > max_side:
        pil.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(pil, dtype=np.uint8).copy()


def _exif_transpose(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:  # noqa: BLE001 - a broken EXIF block should not make the image unusable
        return img


# --- conversion ------------------------------------------------------------------------------------------------
def check_image(image: np.ndarray, name: str) -> np.ndarray:
    """Validate an H×W×3 uint8 or float image and return it as float32 in [0, 1]."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise StyleError(f"{name}: expected shape (H, W, 3), got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise StyleError(f"{name}: empty image of shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise StyleError(f"{name}: contains NaN or infinite values")
        return np.clip(arr, 0.0, 1.0).astype(np.float32)
    raise StyleError(f"{name}: expected dtype uint8 or float32 in [0, 1], got {arr.dtype}")


def to_tensor(image01: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """H×W×3 float [0, 1] → 1×3×H×W tensor."""
    return torch.from_numpy(np.ascontiguousarray(image01.transpose(2, 0, 1)))[None].to(device=device, dtype=dtype)


def to_numpy01(t: torch.Tensor) -> np.ndarray:
    """1×3×H×W tensor → H×W×3 float32 clipped to [0, 1]."""
    return t.detach()[0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()


def to_uint8(image01: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image01) * 255.0), 0, 255).astype(np.uint8)


def resize01(image01: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an H×W×C (or H×W) float image to ``size`` = (w, h) with antialiasing (Pillow, per channel)."""
    w, h = size
    arr = np.asarray(image01, dtype=np.float32)
    if arr.shape[1] == w and arr.shape[0] == h:
        return arr.copy()
    chans = arr[..., None] if arr.ndim == 2 else arr
    out = np.stack(
        [np.asarray(Image.fromarray(chans[..., c], mode="F").resize((w, h), Image.Resampling.LANCZOS
                                                                     if w * h < arr.shape[0] * arr.shape[1]
                                                                     else Image.Resampling.BICUBIC))
         for c in range(chans.shape[-1])],
        axis=-1,
    )
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out[..., 0] if arr.ndim == 2 else out
