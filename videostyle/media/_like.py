"""What an output takes from the source it is written like (``open_writer(like=...)``): its timing, its colour
spaces and plate storage, and its display size.

Plates (.exr, .tif/.tiff, .dpx; sequences or single images) are written with OpenImageIO in the output colour space
(:mod:`videostyle.media.colour`): stored like the source plate when it has the same format (half/float EXR with its
compression, 16-bit or float TIFF, DPX bit depth), else half-float ZIP EXR, 16-bit TIFF, 10-bit DPX; with the
source's alpha (premultiplied) when ``write`` is given one. PNG images and sequences get it too, straight (not
premultiplied); JPEG and video drop it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from .colour import ColourIn, ColourOut, colour_in, colour_out
from .images import ALPHA_EXTS
from .plates import PlateSpec
from .probe import MediaInfo
from .reader import FrameReader



def source_timing(
    like: FrameReader | MediaInfo | None, fps: float | None
) -> tuple[Fraction, Fraction, float]:
    """``(time_base, rate, origin_seconds)`` of the source the frames come from."""
    info = like.info if isinstance(like, FrameReader) else like
    video = info.video if info is not None else None
    rate: Fraction | None = None
    if fps:
        rate = Fraction(fps).limit_denominator(1001)
    elif video is not None and video.avg_rate:
        rate = Fraction(video.avg_rate)
    elif video is not None and video.fps:
        rate = Fraction(video.fps).limit_denominator(1001)
    rate = rate or Fraction(24)
    tb = Fraction(video.time_base) if video is not None and video.time_base else 1 / rate
    origin = video.start_time if video is not None else 0.0
    return tb, rate, origin


def output_colour(like: FrameReader | MediaInfo | None, target: str, is_plate: bool, input_colorspace: str | None,
                   output_colorspace: str | None) -> tuple[ColourOut, PlateSpec | None, bool]:
    """``(conversion from display sRGB, the source's plate spec, whether writes need the source's extras)``: a
    plate output needs a float or colour-managed source's residual, and any output that holds alpha (plates, PNG)
    the alpha of a source that has one."""
    info = like.info if isinstance(like, FrameReader) else like
    plate = info.plate if info is not None else None
    source: ColourIn
    if isinstance(like, FrameReader):
        source = like.colour
    else:
        source = colour_in(input_colorspace, is_float=bool(info and info.is_float),
                           file_colorspace=plate.colorspace if plate is not None else None)
    out_float = is_plate and (Path(target).suffix.lower() == ".exr"
                              or (plate is not None and plate.is_float and plate.format == "tiff"))
    colour = colour_out(output_colorspace, is_float=out_float, source=source,
                        source_is_float=bool(info and info.is_float))
    holds_alpha = is_plate or Path(target).suffix.lower() in ALPHA_EXTS
    extras = (is_plate and ((plate is not None and plate.is_float) or not source.identity)) \
        or (info is not None and info.has_alpha and holds_alpha)
    return colour, plate, extras


def size_from(like: FrameReader | MediaInfo | None) -> tuple[int, int] | None:
    """The (w, h) frames of ``like`` are shown at, when known."""
    if isinstance(like, FrameReader):
        return like.size
    if isinstance(like, MediaInfo) and like.video is not None:
        return like.video.display_width, like.video.display_height
    return None

