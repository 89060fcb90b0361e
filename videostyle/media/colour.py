"""Colour management for plates (OpenColorIO): into the display-referred sRGB the optimiser works in, and back.

The optimiser sees display-referred sRGB in [0, 1] (what the backbones were trained on). A plate is converted from
its colour space (``--input-colorspace``) to sRGB on the way in and from sRGB to ``--output-colorspace`` on the
way out, with OpenColorIO. The config is ``$OCIO`` when set, otherwise the built-in ``ocio://studio-config-latest``
(ACES studio config).

Defaults: integer images (8-bit video, PNG, JPEG, 16-bit TIFF, DPX) are sRGB; float images (EXR, float TIFF) are
scene-linear Rec.709 (``lin_rec709``) unless the file names its colour space (the ``oiio:ColorSpace`` attribute or
EXR ``chromaticities``, e.g. ACES AP1 → ACEScg) or ``$OCIO`` is set (then its ``scene_linear`` role). The output
colour space defaults to the input's when the output stores the same kind of numbers (float or integer), else to
the default of the output's kind.

Tone handling (values outside [0, 1] after the conversion to sRGB: highlights above display white, out-of-gamut
negatives): the optimiser gets the picture clipped to [0, 1]; what was clipped, the *residual*
``display − clip(display, 0, 1)``, is kept per pixel and added back to the stylised picture before it goes back to
the output colour space. Nothing is clipped silently: a float output keeps its highlights (a bright window stays
brighter than white, with the painted picture at white underneath), and an unstylised pass returns the plate.
Integer outputs (8/16-bit, video) cannot hold values outside [0, 1] and are clipped there. Where a matte's composite
puts the source back (``--mask``), the residual also holds the 8-bit rounding, so a float output gets the plate's
own values there (``ColourIn.to_display(rounding=True)``).

Alpha: the network sees unpremultiplied colour (``rgb / alpha`` where alpha > 0); the result is premultiplied by
the source's alpha again, and alpha itself is passed through unchanged. Pixels with alpha 0 come out as 0.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError

#: the built-in config used when ``$OCIO`` is not set
BUILTIN_CONFIG = "ocio://studio-config-latest"
#: the optimiser's colour space: display-referred sRGB (names tried in this order, so older configs work too)
SRGB_NAMES = ("srgb_tx", "sRGB Encoded Rec.709 (sRGB)", "sRGB - Texture", "Utility - sRGB - Texture", "sRGB")
#: scene-linear Rec.709 primaries, the default of float images when neither the file nor ``$OCIO`` says otherwise
LINEAR_NAMES = ("lin_rec709", "Linear Rec.709 (sRGB)", "Utility - Linear - sRGB", "linear")
#: colour spaces recognised from EXR chromaticities (red, green, blue, white x/y), 1e-3 tolerance
_CHROMATICITIES = {
    (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290): "lin_rec709",
    (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767): "ACEScg",
    (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767): "ACES2065-1",
    (0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290): "Linear Rec.2020",
}
#: the values of ``--input-colorspace`` / ``--output-colorspace`` that mean "the default" (same as not giving it)
AUTO = "auto"


def _ocio():  # noqa: ANN202 - the module, imported on first use (8-bit video never needs it)
    import PyOpenColorIO

    return PyOpenColorIO


@functools.lru_cache(maxsize=4)
def _config_for(source: str):  # noqa: ANN202
    try:
        return _ocio().Config.CreateFromFile(source)
    except Exception as err:  # OCIO raises its own Exception type for a bad file
        raise UsageError(f"OpenColorIO config {source!r} cannot be used ({' '.join(str(err).split())[:160]})") \
            from None


def _source() -> str:
    return os.environ.get("OCIO") or BUILTIN_CONFIG


def config():  # noqa: ANN201 - PyOpenColorIO.Config
    """The OpenColorIO config in use: ``$OCIO`` (a file or an ``ocio://`` name) when set, else the built-in one."""
    return _config_for(_source())


def _find(names: tuple[str, ...], what: str) -> str:
    cfg = config()
    for name in names:
        cs = cfg.getColorSpace(name)
        if cs is not None:
            return cs.getName()
    raise UsageError(f"the OpenColorIO config {cfg.getName()!r} has no {what} colour space (tried "
                     f"{', '.join(names)}); pass --input-colorspace/--output-colorspace explicitly")


def srgb() -> str:
    """The canonical name of display-referred sRGB in the config in use (the optimiser's colour space)."""
    return _find(SRGB_NAMES, "sRGB")


def resolve(name: str) -> str:
    """The canonical name of colour space (or role / alias) ``name``; UsageError naming close matches."""
    cfg = config()
    cs = cfg.getColorSpace(name)
    if cs is not None:
        return cs.getName()
    from .._checks import did_you_mean

    known = [c.getName() for c in cfg.getColorSpaces()]
    known += [alias for c in cfg.getColorSpaces() for alias in c.getAliases()]
    raise UsageError(f"unknown colour space {name!r} in OpenColorIO config {cfg.getName()!r}"
                     f"{did_you_mean(name, known)}")


def check_output(name: str) -> str:
    """Resolve an output colour space and build the conversion into it (before work: a conversion OpenColorIO
    cannot make fails here, not after the last frame); returns the canonical name."""
    resolved = resolve(name)
    _processor(_source(), srgb(), resolved)
    return resolved


def default_colorspace(is_float: bool, file_colorspace: str | None = None) -> str:
    """The colour space assumed for an image: what the file says, else scene-linear for float, sRGB for integer."""
    if file_colorspace:
        cs = config().getColorSpace(file_colorspace)
        if cs is not None:
            return cs.getName()
    if not is_float:
        return srgb()
    if os.environ.get("OCIO"):
        cs = config().getColorSpace("scene_linear")
        if cs is not None:
            return cs.getName()
    return _find(LINEAR_NAMES, "scene-linear Rec.709")


def colorspace_from_chromaticities(values: tuple[float, ...] | None) -> str | None:
    """The colour space named by EXR ``chromaticities`` (8 floats), or None when they match none we know."""
    if values is None or len(values) != 8:
        return None
    for known, name in _CHROMATICITIES.items():
        if all(abs(a - b) < 1e-3 for a, b in zip(values, known)):
            return name
    return None


def chromaticities_of(name: str) -> tuple[float, ...] | None:
    """EXR ``chromaticities`` (8 floats) of a linear colour space we know the primaries of, else None."""
    cfg = config()
    cs = cfg.getColorSpace(name)
    if cs is None:
        return None
    for values, known in _CHROMATICITIES.items():
        other = cfg.getColorSpace(known)
        if other is not None and other.getName() == cs.getName():
            return values
    return None


@functools.lru_cache(maxsize=32)
def _processor(source: str, src: str, dst: str):  # noqa: ANN202 - per config (``source``) and colour spaces
    try:
        return _config_for(source).getProcessor(src, dst).getDefaultCPUProcessor()
    except Exception as err:
        raise UsageError(f"OpenColorIO cannot convert {src!r} to {dst!r} ({' '.join(str(err).split())[:160]})") \
            from None


def convert(rgb: np.ndarray, src: str, dst: str) -> np.ndarray:
    """``rgb`` (float H×W×3) converted from colour space ``src`` to ``dst`` (a new float32 array)."""
    out = np.ascontiguousarray(rgb, dtype=np.float32).copy()
    if src != dst:
        _processor(_source(), src, dst).applyRGB(out)
    return out


def unpremultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``rgb / alpha`` where alpha > 0 (unchanged where alpha is 0)."""
    a = alpha[..., None]
    return np.where(a > 0, rgb / np.where(a > 0, a, 1.0), rgb).astype(np.float32)


@dataclass(frozen=True)
class ColourIn:
    """From a plate's colour space to what the optimiser sees, keeping what it cannot see (residual, alpha)."""

    colorspace: str  # canonical OCIO name, or "sRGB" for the identity path of 8-bit inputs
    identity: bool = False  # the input is already display sRGB: no OCIO call

    def to_display(self, rgba: np.ndarray, premultiplied: bool = True, *, rounding: bool = False
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(image uint8 H×W×3, residual float32 H×W×3 or None, alpha float32 H×W or None)``.

        ``rgba`` is float H×W×3 or H×W×4 in the input colour space (premultiplied when it has alpha and
        ``premultiplied``). The residual is None when nothing lies outside [0, 1]. ``rounding``: the residual also
        holds the rounding of the image to 8 bits (``display − image / 255``), so that image + residual is the
        source's own value (a matte's composite puts the source back outside the matte with it).
        """
        rgb = rgba[..., :3].astype(np.float32)
        alpha = rgba[..., 3].astype(np.float32) if rgba.shape[-1] == 4 else None
        if alpha is not None and premultiplied:
            rgb = unpremultiply(rgb, alpha)
        display = rgb if self.identity else convert(rgb, self.colorspace, srgb())
        clipped = np.clip(display, 0.0, 1.0)
        # NaN (a bad render) shows as black; the residual keeps it, so it passes through to a plate output
        image = (np.nan_to_num(clipped, nan=0.0) * 255.0 + 0.5).astype(np.uint8)
        residual = display - (image.astype(np.float32) / 255.0 if rounding else clipped)
        return image, (residual if np.any(residual) else None), alpha


@dataclass(frozen=True)
class ColourOut:
    """From the optimiser's sRGB back to the output colour space, with the residual and alpha of the source."""

    colorspace: str
    identity: bool = False
    keeps_range: bool = True  # float outputs hold values outside [0, 1]; integer ones are clipped there

    def from_display(self, image: np.ndarray, residual: np.ndarray | None = None,
                     alpha: np.ndarray | None = None) -> np.ndarray:
        """Float32 H×W×3 (or ×4 with ``alpha``, premultiplied) in the output colour space."""
        display = image.astype(np.float32) / (65535.0 if image.dtype == np.uint16 else 255.0) \
            if image.dtype != np.float32 else image
        if residual is not None and self.keeps_range:
            display = display + residual
        rgb = display if self.identity else convert(display, srgb(), self.colorspace)
        if not self.keeps_range:
            rgb = np.clip(rgb, 0.0, 1.0)
        if alpha is None:
            return rgb
        return np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1).astype(np.float32)


def colour_in(requested: str | None, *, is_float: bool, file_colorspace: str | None = None) -> ColourIn:
    """The input conversion for an image of this kind; ``requested`` None or ``"auto"``: the default."""
    if (requested in (None, AUTO)) and not is_float and not file_colorspace:
        return ColourIn("sRGB", identity=True)  # 8-bit/16-bit display images: no OCIO needed
    name = default_colorspace(is_float, file_colorspace) if requested in (None, AUTO) else resolve(requested)
    return ColourIn(name, identity=name == srgb())


def colour_out(requested: str | None, *, is_float: bool, source: ColourIn, source_is_float: bool) -> ColourOut:
    """The output conversion: ``requested``, else the source's colour space when the number kinds match, else the
    default of the output's kind."""
    if requested not in (None, AUTO):
        name = resolve(requested)
    elif is_float == source_is_float:
        if source.identity:
            return ColourOut("sRGB", identity=True, keeps_range=is_float)
        name = source.colorspace
    elif not is_float:
        return ColourOut("sRGB", identity=True, keeps_range=False)
    else:
        name = default_colorspace(True)
    return ColourOut(name, identity=name == srgb(), keeps_range=is_float)
