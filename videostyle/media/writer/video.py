"""Video files: H.264 (.mp4), ProRes 422 HQ (.mov) or FFV1 (.mkv) encoded with PyAV, the source's audio remuxed
alongside (:mod:`..audio`)."""

from __future__ import annotations

import os
from pathlib import Path

import av
import av.error
import numpy as np

from ..._fs import not_writable, temp_file
from ...errors import OutputError, OutputNotWritableError, UnsupportedOutputError
from ..audio import AudioCopier
from ..images import to_uint8
from ..outputs import video_encoder
from ..probe import SOURCE_START_TAG
from .base import FrameWriter

AUDIO_LOOKAHEAD = 1.0  # seconds of audio muxed ahead of the current video time


class VideoWriter(FrameWriter):
    """A video file, frames encoded as they come and the source's audio interleaved (``audio_from``).

    ``source_start``: seconds of the first frame on the source's timeline, recorded in the container's metadata
    (``SOURCE_START_TAG``) so that measurements can align a trimmed result with its full source.
    """

    kind = "video"
    _container: av.container.OutputContainer | None = None
    _stream: av.video.stream.VideoStream | None = None
    _audio: AudioCopier | None = None

    def _open(self, *, crf: int, preset: str, audio_from: str | os.PathLike[str] | None,
              audio_range: tuple[float, float | None] | None, source_start: float | None) -> None:
        if self.codec == "h264" and (self.size[0] % 2 or self.size[1] % 2):
            raise UnsupportedOutputError(
                f"H.264 (yuv420p) needs even dimensions, got {self.size[0]}x{self.size[1]} (see working_size)",
                path=self.target,
            )
        self.source_start = source_start
        self._audio_range = audio_range
        final = Path(self.target)
        self._tmp = temp_file(final)
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
            self._audio = AudioCopier(os.fspath(audio_from), out)
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

    def _put(self, image: np.ndarray, ticks: int, duration_ticks: int | None, number: int | None,
             alpha: np.ndarray | None, residual: np.ndarray | None) -> None:
        if self.frames_written == 0:
            self._start_audio()
        self._encode(image, ticks, duration_ticks)

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

    def _finish(self) -> None:
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
        with not_writable(self.target, Path(self.target).parent):
            os.replace(self._tmp, self.target)

    def _release(self) -> None:
        for closer in (self._audio, self._container):
            if closer is not None:
                try:
                    closer.close()
                except Exception:  # best effort while discarding
                    pass
        self._audio = None
        self._container = None
