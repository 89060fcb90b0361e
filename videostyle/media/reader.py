"""Streaming frame reader: videos (PyAV), image sequences and single images, with trimming and resizing.

Timeline: ``Frame.pts`` is in seconds from the video stream's first timestamp (``VideoInfo.start_time``, 0 for
almost every file); ``Frame.pts_ticks`` is the raw timestamp in the source time base. ``start``/``duration`` are on
the ``Frame.pts`` timeline; a frame is kept when ``start <= pts < start + duration`` (1 µs of tolerance).
Trimming seeks to the key frame before ``start`` and decodes forward. Memory is constant: one decoded frame at a
time (plus the decoder's own small queue).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType

import av
import av.error
import cv2
import numpy as np

from ..errors import NoFramesError, UsageError
from .colour import ColourIn, colour_in
from .images import read_image_raw
from .plates import bad_values, is_plate_path, read_plate
from .probe import DEFAULT_FPS, MediaInfo, media_error, open_input, probe

_EPS = 1e-6  # seconds of tolerance when comparing frame times with the range edges


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is H×W×3 RGB uint8, upright; ``index`` counts from 0 in the kept range.

    ``image`` is display-referred sRGB (converted from the input colour space, unpremultiplied). For plates,
    ``alpha`` (H×W float32; a PNG's too, straight as stored) and ``residual`` (H×W×3 float32: what lay outside
    [0, 1] in sRGB, see :mod:`videostyle.media.colour`) carry what the uint8 image cannot; ``number`` is a
    sequence member's frame number (``plate.1001.exr`` → 1001).
    """

    index: int
    pts: float
    image: np.ndarray
    pts_ticks: int | None = None
    time_base: Fraction | None = None
    duration_ticks: int | None = None  # the source frame's duration (None when unknown); keeps VFR exact
    number: int | None = None
    alpha: np.ndarray | None = None
    residual: np.ndarray | None = None


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` = (w, h): area averaging when shrinking, bicubic when enlarging."""
    w, h = size
    if image.shape[1] == w and image.shape[0] == h:
        return image
    shrinking = w * h < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a clockwise display rotation (0/90/180/270) to a stored image."""
    if rotation == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))


class FrameReader:
    """Iterator of :class:`Frame` (single pass) and context manager over a video, image sequence (``dir/%05d.png``,
    ``plate.####.exr`` or a directory) or image (:func:`open_reader` is this class).

    ``start``/``duration`` (seconds) and ``max_frames`` trim it (see the module doc); ``size`` = (w, h) resizes every
    (upright) frame (use :func:`working_size` to keep the aspect with even sides); ``frames`` = (first, last) keeps
    the sequence members numbered first…last (inclusive); ``colorspace`` is the input's OpenColorIO colour space
    (None: the default of :mod:`videostyle.media.colour`); ``rounding``: a plate's ``Frame.residual`` also holds the
    rounding of ``Frame.image`` to 8 bits (image + residual is the source); ``report_bad_values``: warn (a
    ``RuntimeWarning``, once per reader) naming the first plate that holds NaN or infinite values and how many
    (:func:`~videostyle.media.plates.bad_values`).

    Attributes: ``info`` (:class:`MediaInfo`), ``size`` (w, h) of the frames yielded, ``fps``, ``time_base``,
    ``start_pts`` (seconds of the first kept frame), ``start``/``end`` (the requested range in seconds, ``end`` None
    when open-ended). The first kept frame is decoded on construction, so an empty range raises
    :class:`~videostyle.errors.NoFramesError` before any work starts.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        start: float | None = None,
        duration: float | None = None,
        max_frames: int | None = None,
        size: tuple[int, int] | None = None,
        frames: tuple[int, int] | None = None,
        colorspace: str | None = None,
        rounding: bool = False,
        report_bad_values: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        self.rounding = rounding  # plates: the residual also holds the 8-bit rounding (ColourIn.to_display)
        #: plates: warn (once) of the first whose pixels hold NaN or infinite values (:meth:`_check_values`)
        self.report_bad_values = report_bad_values
        self.info: MediaInfo = probe(path)
        video = self.info.video
        assert video is not None
        self.frames = frames
        if frames is not None and self.info.kind != "sequence":
            raise UsageError(f"--frames {frames[0]}-{frames[1]} selects frame numbers of an image sequence; "
                             f"{self.path} is a {self.info.kind} (use --start/--duration/--max-frames)")
        plate = self.info.plate
        #: the conversion into the optimiser's display-referred sRGB (identity for 8-bit sRGB inputs)
        self.colour: ColourIn = colour_in(colorspace, is_float=self.info.is_float,
                                          file_colorspace=plate.colorspace if plate is not None else None)
        self.start = float(start or 0.0)
        self.end = None if duration is None else self.start + float(duration)
        self.max_frames = max_frames
        self.size: tuple[int, int] = size or (video.display_width, video.display_height)
        self.fps: float = video.fps
        self.time_base: Fraction | None = video.time_base
        self.trimmed = bool(start) or duration is not None or max_frames is not None
        self._container: av.container.InputContainer | None = None
        self._count = 0
        self._closed = False
        if max_frames is not None and max_frames <= 0:
            raise NoFramesError(f"max_frames={max_frames} selects no frames", path=self.path)
        self._source = self._video_frames() if self.info.kind == "video" else self._image_frames()
        try:
            self._pending: Frame | None = next(self._source)
        except StopIteration:
            self.close()
            if frames is not None:
                have = f"{self.info.numbers[0]}-{self.info.numbers[-1]}" if self.info.numbers else "none"
                raise NoFramesError(f"no frames numbered {frames[0]}-{frames[1]} (the sequence has {have})",
                                    path=self.path) from None
            raise NoFramesError(f"no frames in the selected range {self._range_text()}", path=self.path) from None
        except BaseException:
            self.close()
            raise
        self.start_pts: float = self._pending.pts

    # --- public protocol ---------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            if self._closed or (self.max_frames is not None and self._count >= self.max_frames):
                raise StopIteration
            try:
                frame = next(self._source)
            except StopIteration:
                self.close()
                raise
        self._count += 1
        return frame

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        self._closed = True
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def frames_read(self) -> int:
        """How many frames have been yielded so far."""
        return self._count

    # --- internals ---------------------------------------------------------------------------------------------
    def _range_text(self) -> str:
        end = "end" if self.end is None else f"{self.end:g} s"
        return f"[{self.start:g} s, {end})"

    def _finish(
        self, image: np.ndarray, index: int, pts: float, ticks: int | None, duration: int | None = None,
        number: int | None = None, premultiplied: bool = True,
    ) -> Frame:
        """Upright, resized and (for plates, alpha or a non-sRGB ``colorspace``) converted to display sRGB uint8;
        ``premultiplied``: a 4th channel is premultiplied alpha (plates), else straight (PNG)."""
        image = resize_image(upright(image, self.info.video.rotation if self.info.video else 0), self.size)
        alpha = residual = None
        if not self.colour.identity or image.dtype not in (np.uint8, np.uint16) or image.shape[2] == 4:
            if image.dtype == np.uint8:
                image = image.astype(np.float32) / 255.0
            elif image.dtype == np.uint16:
                image = image.astype(np.float32) / 65535.0
            image, residual, alpha = self.colour.to_display(image, premultiplied, rounding=self.rounding)
        elif image.dtype == np.uint16:
            image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return Frame(index=index, pts=pts, image=image, pts_ticks=ticks, time_base=self.time_base,
                     duration_ticks=duration, number=number, alpha=alpha, residual=residual)

    def _in_range(self, rel_ticks: float, tb: Fraction) -> int:
        """-1 before the range, 0 inside, 1 after (1 µs of tolerance for rounding at both edges)."""
        t = float(rel_ticks * tb)
        if t < self.start - _EPS:
            return -1
        if self.end is not None and t >= self.end - _EPS:
            return 1
        return 0

    def _image_frames(self) -> Iterator[Frame]:
        files = self.info.files or (self.info.path,)
        fps = self.info.video.fps if self.info.video else float(DEFAULT_FPS)
        tb = self.time_base or Fraction(1, DEFAULT_FPS)
        numbers = self.info.numbers or (None,) * len(files)
        index = 0
        for position, (file, number) in enumerate(zip(files, numbers)):
            if self.info.kind == "sequence" and self._in_range(position, tb) != 0:
                if self._in_range(position, tb) > 0:
                    return
                continue
            if self.frames is not None and number is not None and not self.frames[0] <= number <= self.frames[1]:
                if number > self.frames[1]:
                    return
                continue
            pts = position / fps
            plate = is_plate_path(file)
            image = read_plate(file)[0] if plate else read_image_raw(file, alpha=True)
            if plate and self.report_bad_values:
                self._check_values(file, image)
            yield self._finish(image, index, pts, position, 1, number, premultiplied=plate)
            index += 1

    def _check_values(self, file: str, pixels: np.ndarray) -> None:
        """Count the plate's NaN, infinite and negative values; one warning for the first plate with NaN or
        infinite ones (the values pass through: the colour conversion's residual carries them to a plate output)."""
        counts = bad_values(pixels)
        if counts.broken:
            self.report_bad_values = False
            warnings.warn(f"{file}: {counts.describe()}, passed through unchanged (the first plate of the input "
                          "with NaN or infinite values; later ones are not reported)", RuntimeWarning, stacklevel=2)

    def _open_video(self, seek_seconds: float) -> av.container.InputContainer:
        container = open_input(self.path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if seek_seconds > 0 and stream.time_base:
            origin = stream.start_time or 0
            target = origin + int(seek_seconds / stream.time_base)
            try:
                container.seek(target, stream=stream, backward=True, any_frame=False)
            except av.error.FFmpegError:
                container.close()
                container = open_input(self.path)
                container.streams.video[0].thread_type = "AUTO"
        return container

    def _video_frames(self) -> Iterator[Frame]:
        seek_to = self.start
        for attempt in range(2):
            self._container = self._open_video(seek_to)
            stream = self._container.streams.video[0]
            tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1000)
            origin = stream.start_time or 0
            step = 1.0 / (self.fps or DEFAULT_FPS) / tb  # ticks per frame, for frames without pts
            last_ticks: int | None = None
            index = 0
            first = True
            try:
                for vf in self._container.decode(stream):
                    ticks = vf.pts if vf.pts is not None else (
                        origin if last_ticks is None else int(round(last_ticks + step))
                    )
                    last_ticks = ticks
                    where = self._in_range(ticks - origin, tb)
                    if first and attempt == 0 and seek_to > 0 and where == 0 and ticks - origin > seek_to / tb:
                        # The seek landed after the start (inexact index): decode from the beginning instead.
                        break
                    first = False
                    if where < 0:
                        continue
                    if where > 0:
                        return
                    image = vf.to_ndarray(format="rgb24")
                    duration = int(vf.duration) if vf.duration else None
                    yield self._finish(image, index, float((ticks - origin) * tb), ticks, duration)
                    index += 1
                else:
                    return
            except av.error.FFmpegError as err:
                raise media_error(self.path, err, during=f"decoding frame {index}") from None
            self._container.close()
            seek_to = 0.0


def frame_at(reader: FrameReader, index: int) -> Frame | None:
    """The frame ``index`` of ``reader``, reading forward to it (frames before it are skipped); None past the end.

    For walking a second reader of the same source alongside records in index order (plates' alpha/residual).
    """
    for frame in reader:
        if frame.index == index:
            return frame
        if frame.index > index:
            return None
    return None


#: Open a video, image sequence (``dir/%05d.png``, ``plate.####.exr`` or a directory) or image for streaming: the
#: reader's own constructor, under the name the package has always called it by (options: :class:`FrameReader`).
open_reader = FrameReader
