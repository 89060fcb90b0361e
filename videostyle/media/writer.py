"""Frame writer: H.264 (.mp4), ProRes 422 HQ (.mov), FFV1 (.mkv), single images and image sequences.

Timing: frames keep the source's timestamps. ``write(image, pts_ticks=...)`` takes ticks in the source time base
(``like.time_base``), ``write(image, pts=...)`` seconds on the reader's ``Frame.pts`` timeline; with neither, frames
are spaced at ``1/fps``. The output timeline starts at 0: the first frame written is at 0 and everything after it
(later frames and the remuxed audio) is shifted by that same amount, so audio stays in sync.

Audio: copied unchanged, cut to ``audio_range`` and interleaved while video is written (:mod:`.audio`).

Timestamps must increase; a frame whose time is not after the previous one (damaged sources) is moved one tick
later and counted in ``FrameWriter.pts_adjusted``.

Image sequences are numbered by the ``number`` given to :meth:`FrameWriter.write` (the source's frame numbers:
``plate.1001.exr`` → ``out.1001.exr``), from 1 when none is given (``%05d.png`` → ``00001.png``); the padding is
the output pattern's (``%04d`` or ``####``). Writing into an existing directory replaces the files of the same
pattern, including stale frames of an older, longer sequence.

Plates are stored like the source plate, with its alpha (:mod:`._like`).

Atomicity: the output goes to a temporary name in the destination directory (``.name.tmp-HOST-PID-XXXX.ext``, or
a temporary directory for image sequences) and is renamed on :meth:`FrameWriter.close`; leaving the ``with`` block by
an exception, or any failure while finalising, deletes the temporary output and leaves the final path untouched. A
temporary output left by a killed process (SIGKILL, power loss) is hidden, never has the output's name, and is
deleted by the next writer of the same output on that host (or once a day old, for other hosts' leftovers).
Finished outputs get the usual permissions (``0666 & ~umask``), not the private ``0600`` of temporary files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import av
import av.error
import numpy as np

from .._fs import host_name as _host  # noqa: F401  (tests name the writer's temporaries with it)
from .._fs import not_writable as _not_writable
from .._fs import publishable as _publishable
from .._fs import remove_stale_temporaries
from .._fs import temp_file as _temp_file
from .._fs import temp_prefix as _temp_prefix
from ..config import DEFAULT_CRF, DEFAULT_PRESET
from ..errors import OutputError, OutputNotWritableError, UnsupportedOutputError
from ._paths import format_pattern
from .images import to_uint8, to_uint16, write_image
from .plates import is_plate_path, output_spec, write_plate
from .probe import SOURCE_START_TAG, MediaInfo
from ._like import output_colour, size_from, source_timing
from .audio import AudioCopier as _AudioCopier  # the name tests patch
from .reader import FrameReader
from .outputs import check_encoder, output_kind, sequence_members  # noqa: F401  (their names before issue 21)
from .outputs import publish_sequence, validate_output, video_encoder

SEQUENCE_FIRST_NUMBER = 1
AUDIO_LOOKAHEAD = 1.0  # seconds of audio muxed ahead of the current video time


class FrameWriter:
    """Context manager that encodes frames; see the module docstring for timing, audio and atomicity."""

    def __init__(
        self,
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
    ) -> None:
        self.kind, self.codec, self.target = validate_output(path, codec)
        #: seconds of the first frame on the source's timeline, recorded in a video's container metadata
        #: (``SOURCE_START_TAG``) so that measurements can align a trimmed result with its full source
        self.source_start = source_start
        self.path = self.target
        #: plates (EXR / TIFF / DPX) are written with OpenImageIO, float data and alpha kept
        self.is_plate = is_plate_path(self.target)
        self.colour, self._plate_like, self.needs_extras = output_colour(
            like, self.target, self.is_plate, input_colorspace, output_colorspace)
        if size is None:
            size = size_from(like)
        if size is None:
            raise ValueError("open_writer needs size=(w, h) or like= a reader/MediaInfo")
        self.size = (int(size[0]), int(size[1]))
        if self.kind == "video" and self.codec == "h264" and (self.size[0] % 2 or self.size[1] % 2):
            raise UnsupportedOutputError(
                f"H.264 (yuv420p) needs even dimensions, got {self.size[0]}x{self.size[1]} (see working_size)",
                path=self.target,
            )
        self.time_base, self.rate, self._origin = source_timing(like, fps)
        self.frames_written = 0
        self._numbers: list[int] = []  # source frame numbers written to a sequence
        self.pts_adjusted = 0  # frames whose timestamp was not after the previous one and was moved one tick on
        self._first_ticks: int | None = None
        self._last_ticks: int | None = None
        self._closed = False
        self._tmp: str | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._audio: _AudioCopier | None = None
        if audio_range is None and isinstance(like, FrameReader) and like.trimmed:
            audio_range = (like.start, like.end)
        self._audio_range = audio_range
        try:
            if self.kind == "video":
                self._open_video(crf, preset, audio_from)
            elif self.kind == "image":
                self._tmp = _temp_file(Path(self.target))  # also proves the directory is writable
            elif self.kind == "sequence":
                # A hidden temporary directory inside the sequence directory when it exists, beside it otherwise.
                seq_dir = Path(os.path.dirname(self.target) or ".").resolve()
                where = seq_dir if seq_dir.exists() else seq_dir.parent
                remove_stale_temporaries(where, seq_dir.name)
                with _not_writable(self.target, where):
                    self._tmp = tempfile.mkdtemp(prefix=_temp_prefix(seq_dir.name), dir=where)
                    _publishable(self._tmp, directory=True)
        except BaseException:
            self._abort()
            raise

    # --- set-up ------------------------------------------------------------------------------------------------
    def _open_video(self, crf: int, preset: str, audio_from: str | os.PathLike[str] | None) -> None:
        final = Path(self.target)
        self._tmp = _temp_file(final)
        try:
            # the MP4/MOV muxer keeps custom metadata keys only with use_metadata_tags
            options = {"movflags": "use_metadata_tags"} if final.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
            self._container = out = av.open(self._tmp, "w", options=options)
            if self.source_start is not None:
                out.metadata[SOURCE_START_TAG] = f"{self.source_start:.6f}"
        except (av.error.FFmpegError, OSError) as err:
            raise OutputNotWritableError(f"cannot create the output ({getattr(err, 'strerror', err)})",
                                         path=self.target) from None
        encoder, options, pix_fmt = video_encoder(self.codec, crf, preset)
        stream = out.add_stream(encoder, rate=self.rate, options=options)
        stream.pix_fmt = pix_fmt
        stream.width, stream.height = self.size
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        stream.thread_type = "AUTO"
        self._stream = stream
        if audio_from is not None:
            self._audio = _AudioCopier(os.fspath(audio_from), out)
        try:
            out.start_encoding()
        except av.error.FFmpegError as err:
            reason = getattr(err, "strerror", None) or type(err).__name__
            if self._audio is not None and self._audio.pairs:
                codecs = ", ".join(s.codec_context.name for s in self._audio.input.streams.audio)
                raise UnsupportedOutputError(
                    f"cannot store the source's audio ({codecs}) in {final.suffix} ({reason}); "
                    "write .mkv or leave the audio out",
                    path=self.target,
                ) from None
            raise UnsupportedOutputError(f"cannot write {self.codec} to {final.suffix} ({reason})",
                                         path=self.target) from None

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
            self._start_audio()
        elif self._last_ticks is not None and ticks <= self._last_ticks:
            # Duplicate or backward timestamps (damaged sources): nudge forward by one tick, as FFmpeg does.
            ticks = self._last_ticks + 1
            self.pts_adjusted += 1
        self._last_ticks = ticks
        if number is not None and self.kind == "sequence":
            self._numbers.append(int(number))
        if not self.is_plate and not self.colour.identity:  # display sRGB → the requested space, then as usual
            converted = self.colour.from_display(image)
            image = to_uint16(converted) if image.dtype == np.uint16 or self.codec == "png16" else to_uint8(converted)
        if self.is_plate:
            self._write_plate(image, number, alpha, residual)
        elif self.kind == "video":
            self._encode(image, ticks - self._first_ticks, duration_ticks)
        elif self.kind == "image":
            if self.frames_written:
                raise UnsupportedOutputError(
                    "a single image output takes one frame; use a sequence like dir/%05d.png", path=self.target
                )
            assert self._tmp is not None
            with _not_writable(self.target, Path(self.target).parent):
                write_image(self._tmp, image, bit16=self.codec == "png16", alpha=alpha)
        else:
            assert self._tmp is not None
            with _not_writable(self.target, self._tmp):
                write_image(os.path.join(self._tmp, self._member_name(number)), image, bit16=self.codec == "png16",
                            alpha=alpha)
        self.frames_written += 1

    def _member_name(self, number: int | None) -> str:
        """File name of a sequence member: the source's frame number, else counting from 1."""
        return os.path.basename(format_pattern(
            self.target, number if number is not None else SEQUENCE_FIRST_NUMBER + self.frames_written))

    def _write_plate(self, image: np.ndarray, number: int | None, alpha: np.ndarray | None,
                     residual: np.ndarray | None) -> None:
        """Display sRGB (+ residual) → the output colour space, premultiplied by ``alpha``; written with OIIO."""
        if self.kind == "image" and self.frames_written:
            raise UnsupportedOutputError(
                "a single image output takes one frame; use a sequence like dir/plate.####.exr", path=self.target)
        pixels = self.colour.from_display(image, residual, alpha)
        h, w = pixels.shape[:2]
        spec = output_spec(Path(self.target).suffix, self._plate_like, alpha=alpha is not None, width=w, height=h)
        assert self._tmp is not None
        where = self._tmp if self.kind == "image" else os.path.join(self._tmp, self._member_name(number))
        with _not_writable(self.target, os.path.dirname(where) or "."):
            write_plate(where, pixels, spec, colorspace=None if self.colour.identity else self.colour.colorspace)

    def _ticks(self, pts_ticks: int | None, pts: float | None) -> int:
        if pts_ticks is not None:
            return int(pts_ticks)
        if pts is not None:
            return int(round((pts + self._origin) / self.time_base))
        if self._last_ticks is None:
            return int(round(self._origin / self.time_base))
        return round(self._last_ticks + 1 / (self.rate * self.time_base))

    def _start_audio(self) -> None:
        if self._audio is None or self._first_ticks is None:
            return
        first = float(self._first_ticks * self.time_base)  # raw seconds of the first frame
        lo: float | None = None
        if self._audio_range is not None:
            lo = max(self._audio_range[0] + self._origin, first)
            if self._audio_range[1] is not None:
                self._audio.hi = self._audio_range[1] + self._origin
        elif first > self._origin + 1e-9:
            lo = first
        self._audio.start(lo, first)

    def _encode(self, image: np.ndarray, ticks: int, duration_ticks: int | None) -> None:
        assert self._stream is not None and self._container is not None
        if image.dtype == np.uint16 and self.codec == "prores":
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb48le")
        else:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(to_uint8(image)), format="rgb24")
        frame.pts = ticks
        frame.time_base = self.time_base
        frame.duration = int(duration_ticks or max(1, round(1 / (self.rate * self.time_base))))
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            if self._audio is not None and self._first_ticks is not None:
                limit = (self._first_ticks + ticks) * self.time_base
                ahead = AUDIO_LOOKAHEAD if self._audio.hi is not None or self._audio_range is None else 0.0
                self._audio.mux_until(float(limit) + ahead)
        except av.error.FFmpegError as err:
            raise OutputError(f"encoding failed: {getattr(err, 'strerror', err)}", path=self.target) from None

    # --- finishing ---------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Flush encoders, remux the rest of the audio, and move the result to its final path."""
        if self._closed:
            return
        try:
            if self.frames_written == 0:
                raise OutputError("no frames were written", path=self.target)
            if self.kind == "video":
                self._close_video()
            elif self.kind == "image":
                assert self._tmp is not None
                with _not_writable(self.target, Path(self.target).parent):
                    os.replace(self._tmp, self.target)
            else:
                with _not_writable(self.target, os.path.dirname(self.target) or "."):
                    self._close_sequence()
            self._tmp = None
            self._closed = True
        except BaseException:
            self._abort()
            raise

    def _close_video(self) -> None:
        assert self._stream is not None and self._container is not None
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            if self._audio is not None:
                if self._audio.hi is None and self._audio_range is not None and self._last_ticks is not None:
                    step = 1 / (self.rate * self.time_base)
                    self._audio.hi = float((self._last_ticks + step) * self.time_base)
                self._audio.mux_until(None)
                self._audio.close()
                self._audio = None
            self._container.close()
            self._container = None
        except av.error.FFmpegError as err:
            raise OutputError(f"finalising failed: {getattr(err, 'strerror', err)}", path=self.target) from None
        assert self._tmp is not None
        with _not_writable(self.target, Path(self.target).parent):
            os.replace(self._tmp, self.target)

    def _close_sequence(self) -> None:
        """Move the frames into place (:func:`~videostyle.media.outputs.publish_sequence`)."""
        assert self._tmp is not None
        publish_sequence(self._tmp, self.target, self._numbers)

    def _abort(self) -> None:
        """Discard everything written so far (idempotent)."""
        self._closed = True
        for closer in (self._audio, self._container):
            if closer is not None:
                try:
                    closer.close()
                except Exception:  # best effort while discarding
                    pass
        self._audio = None
        self._container = None
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
    """Open an output for frames of ``size`` = (w, h); the kind follows the extension (see :func:`output_kind`).

    ``input_colorspace`` is the source's (as given to the reader, when ``like`` is not the reader itself) and
    ``output_colorspace`` the result's; None: the defaults of :mod:`videostyle.media.colour`. ``source_start``
    (seconds of the first frame on the source's timeline) is recorded in a video's metadata
    (:func:`~videostyle.media.probe.recorded_source_start` reads it back).
    """
    return FrameWriter(path, like=like, size=size, codec=codec, crf=crf, preset=preset, audio_from=audio_from,
                       audio_range=audio_range, fps=fps, input_colorspace=input_colorspace,
                       output_colorspace=output_colorspace, source_start=source_start)
