"""What every output writer shares (:class:`FrameWriter`): the frame checks, the timestamps, the conversion from
display sRGB, and the temporary output that becomes the final one on :meth:`~FrameWriter.close` or is deleted."""

from __future__ import annotations

import os
import shutil
from fractions import Fraction
from types import TracebackType
from typing import Any

import numpy as np

from ...errors import OutputError
from ..colour import ColourOut
from ..images import to_uint8, to_uint16


class FrameWriter:
    """An output being written, of one kind (``kind``: ``"video"``, ``"image"`` or ``"sequence"``); a context
    manager. :func:`~videostyle.media.writer.open_writer` picks the class; see its module for timing, audio and
    atomicity.

    Attributes: ``target`` (``path``: the file, or the printf pattern of a sequence), ``codec``, ``size`` (w, h),
    ``colour`` (from display sRGB to the output's space), ``needs_extras`` (writes want the source frame's
    ``alpha``/``residual``), ``is_plate``, ``frames_written`` and ``pts_adjusted`` (frames whose timestamp was not
    after the previous one and was moved one tick on).
    """

    kind = ""
    #: plates (EXR / TIFF / DPX) are written with OpenImageIO, float data and alpha kept
    is_plate = False

    def __init__(self, target: str, codec: str, size: tuple[int, int], colour: ColourOut,
                 timing: tuple[Fraction, Fraction, float], needs_extras: bool = False, **options: Any) -> None:
        self.codec, self.target, self.path = codec, target, target
        self.size = size
        self.colour = colour
        self.needs_extras = needs_extras
        self.time_base, self.rate, self._origin = timing
        self.frames_written = 0
        self.pts_adjusted = 0
        self._first_ticks: int | None = None
        self._last_ticks: int | None = None
        self._closed = False
        #: the temporary output (a file, or a folder of a sequence's files) that close() moves into place
        self._tmp: str | None = None
        try:
            self._open(**options)
        except BaseException:
            self._abort()
            raise

    # --- what each kind does ---------------------------------------------------------------------------------------
    def _open(self, **options: Any) -> None:
        """Create the temporary output (and check what the kind can hold)."""
        raise NotImplementedError

    def _put(self, image: np.ndarray, ticks: int, duration_ticks: int | None, number: int | None,
             alpha: np.ndarray | None, residual: np.ndarray | None) -> None:
        """Store one frame (converted by :meth:`_converted`); ``ticks`` counts from the first frame's."""
        raise NotImplementedError

    def _finish(self) -> None:
        """Complete the temporary output and move it to the final path."""
        raise NotImplementedError

    def _release(self) -> None:
        """Close what the kind holds open (encoders, containers) while discarding."""

    # --- writing -----------------------------------------------------------------------------------------------
    def write(
        self,
        image: np.ndarray,
        pts_ticks: int | None = None,
        pts: float | None = None,
        duration_ticks: int | None = None,
        *,
        number: int | None = None,
        alpha: np.ndarray | None = None,
        residual: np.ndarray | None = None,
    ) -> None:
        """Append a frame (H×W×3 RGB uint8 or uint16, of the writer's ``size``) at the given time.

        ``pts_ticks``/``duration_ticks`` are in the source time base (``Frame.pts_ticks``/``Frame.duration_ticks``);
        ``pts`` is seconds on the ``Frame.pts`` timeline. The duration (default ``1/fps``) only matters for the last
        frame of a VFR clip (it sets the stream's end). ``number`` names a sequence member (the source's frame
        number); ``alpha`` and ``residual`` are the source frame's (``Frame.alpha``/``Frame.residual``): plate
        outputs use both, PNG outputs the alpha (see :attr:`needs_extras`).
        """
        if self._closed:
            raise ValueError(f"{self.target}: writer is closed")
        if image.ndim != 3 or image.shape[2] != 3 or (image.shape[1], image.shape[0]) != self.size:
            raise ValueError(
                f"{self.target}: expected an image of shape ({self.size[1]}, {self.size[0]}, 3), got {image.shape}"
            )
        ticks = self._ticks(pts_ticks, pts)
        if self._first_ticks is None:
            self._first_ticks = ticks
        elif self._last_ticks is not None and ticks <= self._last_ticks:
            # Duplicate or backward timestamps (damaged sources): nudge forward by one tick, as FFmpeg does.
            ticks = self._last_ticks + 1
            self.pts_adjusted += 1
        self._last_ticks = ticks
        self._put(self._converted(image), ticks - self._first_ticks, duration_ticks, number, alpha, residual)
        self.frames_written += 1

    def _converted(self, image: np.ndarray) -> np.ndarray:
        """Display sRGB → the requested output space (as uint8, or uint16 for 16-bit images and outputs)."""
        if self.colour.identity:
            return image
        converted = self.colour.from_display(image)
        return to_uint16(converted) if image.dtype == np.uint16 or self.codec == "png16" else to_uint8(converted)

    def _ticks(self, pts_ticks: int | None, pts: float | None) -> int:
        if pts_ticks is not None:
            return int(pts_ticks)
        if pts is not None:
            return int(round((pts + self._origin) / self.time_base))
        if self._last_ticks is None:
            return int(round(self._origin / self.time_base))
        return round(self._last_ticks + 1 / (self.rate * self.time_base))

    # --- finishing ---------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Finish the output (flush encoders, remux the rest of the audio) and move it to its final path."""
        if self._closed:
            return
        try:
            if self.frames_written == 0:
                raise OutputError("no frames were written", path=self.target)
            self._finish()
            self._tmp = None
            self._closed = True
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        """Discard everything written so far (idempotent)."""
        self._closed = True
        self._release()
        if self._tmp is not None:
            if os.path.isdir(self._tmp):
                shutil.rmtree(self._tmp, ignore_errors=True)
            else:
                try:
                    os.unlink(self._tmp)
                except FileNotFoundError:
                    pass
            self._tmp = None

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._abort()
        else:
            self.close()
