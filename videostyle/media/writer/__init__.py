"""Frame writers, one per output kind, behind :func:`open_writer` (the kind follows the output path):

* :class:`VideoWriter` (``video.py``): H.264 (.mp4), ProRes 422 HQ (.mov), FFV1 (.mkv), with the source's audio;
* :class:`ImageWriter` (``image.py``): one PNG / 16-bit PNG / JPEG / TIFF image;
* :class:`SequenceWriter` (``sequence.py``): numbered images (``dir/%05d.png``);
* :class:`PlateWriter` and :class:`PlateSequenceWriter` (``plate.py``): EXR / TIFF / DPX plates, one or numbered;

each a :class:`FrameWriter` (``base.py``: the checks, timestamps and temporary output they share).

Timing: frames keep the source's timestamps. ``write(image, pts_ticks=...)`` takes ticks in the source time base
(``like.time_base``), ``write(image, pts=...)`` seconds on the reader's ``Frame.pts`` timeline; with neither, frames
are spaced at ``1/fps``. The output timeline starts at 0: the first frame written is at 0 and everything after it
(later frames and the remuxed audio) is shifted by that same amount, so audio stays in sync.

Audio: copied unchanged, cut to ``audio_range`` and interleaved while video is written (:mod:`..audio`).

Timestamps must increase; a frame whose time is not after the previous one (damaged sources) is moved one tick
later and counted in ``FrameWriter.pts_adjusted``.

Image sequences are numbered by the ``number`` given to :meth:`FrameWriter.write` (the source's frame numbers:
``plate.1001.exr`` → ``out.1001.exr``), from 1 when none is given (``%05d.png`` → ``00001.png``); the padding is
the output pattern's (``%04d`` or ``####``). Writing into an existing directory replaces the files of the same
pattern, including stale frames of an older, longer sequence.

Plates are stored like the source plate, with its alpha (:mod:`.._like`).

Atomicity: the output goes to a temporary name in the destination directory (``.name.tmp-HOST-PID-XXXX.ext``, or
a temporary directory for image sequences) and is renamed on :meth:`FrameWriter.close`; leaving the ``with`` block by
an exception, or any failure while finalising, deletes the temporary output and leaves the final path untouched. A
temporary output left by a killed process (SIGKILL, power loss) is hidden, never has the output's name, and is
deleted by the next writer of the same output on that host (or once a day old, for other hosts' leftovers).
Finished outputs get the usual permissions (``0666 & ~umask``), not the private ``0600`` of temporary files.
"""

from __future__ import annotations

import os

from ...config import DEFAULT_CRF, DEFAULT_PRESET
from .._like import output_colour, size_from, source_timing
from ..outputs import validate_output
from ..plates import is_plate_path
from ..probe import MediaInfo
from ..reader import FrameReader
from .base import FrameWriter
from .image import ImageWriter
from .plate import PlateSequenceWriter, PlateWriter
from .sequence import SequenceWriter
from .video import VideoWriter

__all__ = ["FrameWriter", "ImageWriter", "PlateSequenceWriter", "PlateWriter", "SequenceWriter", "VideoWriter",
           "open_writer"]


def open_writer(
    path: str | os.PathLike[str],
    *,
    like: FrameReader | MediaInfo | None = None,
    size: tuple[int, int] | None = None,
    codec: str | None = None,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    audio_from: str | os.PathLike[str] | None = None,
    audio_range: tuple[float, float | None] | None = None,
    fps: float | None = None,
    input_colorspace: str | None = None,
    output_colorspace: str | None = None,
    source_start: float | None = None,
) -> FrameWriter:
    """Open an output for frames of ``size`` = (w, h) (default: ``like``'s); the kind follows the extension (see
    :func:`~videostyle.media.outputs.output_kind`), and with it the writer's class.

    ``like``: the reader or :class:`MediaInfo` of the source, whose timing (``fps`` overrides its rate), colour
    spaces and plate storage the output follows. ``input_colorspace`` is the source's (as given to the reader, when
    ``like`` is not the reader itself) and ``output_colorspace`` the result's; None: the defaults of
    :mod:`videostyle.media.colour`. Videos only: ``codec`` (the extension's by default), ``crf`` and ``preset``
    (H.264), ``audio_from`` (the file whose audio is copied; ``audio_range`` (start, end) seconds on the
    ``Frame.pts`` timeline, by default a trimmed reader's range) and ``source_start`` (seconds of the first frame
    on the source's timeline, recorded in the metadata; :func:`~videostyle.media.probe.recorded_source_start`
    reads it back).
    """
    kind, codec, target = validate_output(path, codec)
    plate = is_plate_path(target)
    colour, plate_like, needs_extras = output_colour(like, target, plate, input_colorspace, output_colorspace)
    if size is None:
        size = size_from(like)
    if size is None:
        raise ValueError("open_writer needs size=(w, h) or like= a reader/MediaInfo")
    frames = (target, codec, (int(size[0]), int(size[1])), colour, source_timing(like, fps), needs_extras)
    if kind == "video":
        if audio_range is None and isinstance(like, FrameReader) and like.trimmed:
            audio_range = (like.start, like.end)
        return VideoWriter(*frames, crf=crf, preset=preset, audio_from=audio_from, audio_range=audio_range,
                           source_start=source_start)
    if plate:
        return (PlateWriter if kind == "image" else PlateSequenceWriter)(*frames, plate_like=plate_like)
    return (ImageWriter if kind == "image" else SequenceWriter)(*frames)
