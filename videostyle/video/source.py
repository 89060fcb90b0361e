"""The job's input as the frame loop, the encode and the preview read it."""

from __future__ import annotations

from .. import media
from ..config import StylizeConfig


def working_size(config: StylizeConfig) -> tuple[int, int]:
    """(w, h) of the frames the job works on: the upright source scaled so its long side is ``video.size``."""
    info = media.probe(config.input)
    assert info.video is not None
    return media.working_size(info.video.display_width, info.video.display_height, config.video.size)


def open_source(config: StylizeConfig, size: tuple[int, int], *, rounding: bool = False,
                second: bool = False) -> media.FrameReader:
    """The job's input as the frame loop sees it: its range, frame numbers and colour space, at ``size``
    (``rounding``: see :func:`~videostyle.media.open_reader`). ``second``: the encode's or the preview's reading,
    which leaves the bad-value warning to the frame loop's (one line per run)."""
    rng = config.range
    return media.open_reader(config.input, start=rng.start, duration=rng.duration, max_frames=rng.max_frames,
                             frames=rng.frame_numbers, colorspace=config.video.input_colorspace, size=size,
                             rounding=rounding, report_bad_values=not second)

