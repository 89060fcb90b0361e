"""What a file holds: container, streams, size, timing, rotation (PyAV), plus input validation.

Every failure is raised as a :mod:`videostyle.errors` type whose one-line message names the file and the cause;
PyAV/FFmpeg exceptions never escape this module family.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from .._checks import check_file
from ..errors import (
    InputIsDirectoryError,
    InputNotFoundError,
    NoFramesError,
    NoVideoStreamError,
    TruncatedMediaError,
    UnreadableMediaError,
)
from ._damage import container_damage
from ._paths import frame_number, is_image_path, is_pattern, list_directory_images, list_pattern_images
from .images import read_image_raw
from .plates import PlateSpec, is_plate_path, read_plate_spec

#: Frame rate assumed where a source gives none: image sequences, single images, streams without a rate.
DEFAULT_FPS = 24
SEQUENCE_FPS = DEFAULT_FPS

#: Video frames with more pixels than this (16K × 8K) are refused before the first one is decoded: such a header is
#: damaged or hostile, and decoding it would allocate gigabytes per frame.
MAX_VIDEO_PIXELS = 16384 * 8192


@dataclass(frozen=True)
class VideoInfo:
    """The video stream. ``width``/``height`` are as stored; ``display_*`` after applying ``rotation``.

    ``rotation`` is the clockwise rotation (0/90/180/270) a player applies to show the picture upright (the
    convention of the legacy ``rotate`` tag); the reader applies it to every frame.
    """

    codec: str
    width: int
    height: int
    display_width: int
    display_height: int
    fps: float
    avg_rate: Fraction | None
    time_base: Fraction | None
    frames: int | None
    frames_estimated: bool
    duration: float | None
    rotation: int
    pix_fmt: str | None
    start_time: float = 0.0  # seconds of the stream's first timestamp (the origin of Frame.pts)


@dataclass(frozen=True)
class AudioInfo:
    """One audio stream (index is the stream's index in the container)."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    duration: float | None


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` found. ``kind`` is ``"video"``, ``"sequence"`` or ``"image"``."""

    path: str
    kind: str
    container: str
    duration: float | None
    video: VideoInfo | None
    audio: list[AudioInfo] = field(default_factory=list)
    files: tuple[str, ...] = ()  # image sequence members, in order (empty for videos and single images)
    #: frame number of each member of ``files`` (from its name: ``plate.1001.exr`` → 1001; 1, 2, … when unnamed)
    numbers: tuple[int, ...] = ()
    plate: PlateSpec | None = None  # how the (first) image is stored, for EXR / DPX / TIFF inputs

    @property
    def is_float(self) -> bool:
        """True when the pixels are stored as floats (EXR, float TIFF): scene-linear by default."""
        return self.plate is not None and self.plate.is_float

    @property
    def has_alpha(self) -> bool:
        """True when the (first) image has an alpha channel the reader keeps: a plate's, or a PNG's (straight)."""
        if self.plate is not None:
            return self.plate.has_alpha
        return self.kind != "video" and self.video is not None and self.video.pix_fmt in ("rgba", "rgba64")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (fractions as ``"num/den"`` strings)."""

        def conv(value: Any) -> Any:
            if isinstance(value, Fraction):
                return f"{value.numerator}/{value.denominator}"
            return value

        video = None
        if self.video is not None:
            video = {k: conv(v) for k, v in self.video.__dict__.items()}
        return {
            "path": self.path,
            "kind": self.kind,
            "container": self.container,
            "duration": self.duration,
            "video": video,
            "audio": [dict(a.__dict__) for a in self.audio],
            "files": len(self.files) if self.kind == "sequence" else None,
            "frame_numbers": [self.numbers[0], self.numbers[-1]] if self.numbers else None,
            "plate": dict(self.plate.__dict__) if self.plate is not None else None,
        }

    def describe(self) -> str:
        """A few lines of human-readable text, ending with a newline."""
        lines = [f"{self.path}: {self.kind} ({self.container})"]
        if self.duration is not None:
            lines.append(f"duration: {self.duration:.3f} s")
        v = self.video
        if v is not None:
            count = "unknown" if v.frames is None else (f"~{v.frames}" if v.frames_estimated else str(v.frames))
            rot = f", rotated {v.rotation}° → {v.display_width}x{v.display_height}" if v.rotation else ""
            tb = f", time base {v.time_base}" if v.time_base is not None else ""
            lines.append(
                f"video: {v.codec} {v.width}x{v.height}{rot}, {v.fps:.3f} fps{tb}, {count} frames"
                + (f", {v.pix_fmt}" if v.pix_fmt else "")
            )
        if self.numbers and self.kind == "sequence":
            lines.append(f"frame numbers: {self.numbers[0]}-{self.numbers[-1]}")
        p = self.plate
        if p is not None:
            comp = f", {p.compression}" if p.compression else ""
            named = f", file says {p.colorspace}" if p.colorspace else ""
            lines.append(f"plate: {p.format} {p.sample} ({p.bits}-bit){comp}, "
                         f"{'RGBA' if p.has_alpha else 'RGB'}{named}")
        for a in self.audio:
            dur = f", {a.duration:.3f} s" if a.duration is not None else ""
            lines.append(f"audio #{a.index}: {a.codec} {a.sample_rate} Hz, {a.channels} ch{dur}")
        if not self.audio and self.kind == "video":
            lines.append("audio: none")
        return "\n".join(lines) + "\n"


def working_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """``(w, h)`` with the aspect ratio of ``width×height``, both even, the long side ``long_side`` (±1)."""
    if width <= 0 or height <= 0 or long_side <= 0:
        raise ValueError(f"invalid sizes: {width}x{height}, long side {long_side}")

    def even(x: float) -> int:
        return max(2, 2 * int(math.floor(x / 2.0 + 0.5)))  # half-up, not banker's rounding

    if width >= height:
        return even(long_side), even(long_side * height / width)
    return even(long_side * width / height), even(long_side)


# --- rotation ----------------------------------------------------------------------------------------------------
#: container metadata key under which a written video records the source time (s) of its first frame
SOURCE_START_TAG = "videostyle_source_start"


def recorded_source_start(path: str | os.PathLike[str]) -> float | None:
    """The source time (seconds) of the first frame of a video that videostyle wrote from part of a clip, or
    None (an image sequence, a file from elsewhere, a video that started at the source's start)."""
    info = probe(path)
    if info.kind != "video":
        return None
    container = open_input(path)
    try:
        tags = {k.lower(): v for k, v in container.metadata.items()}
    finally:
        container.close()
    try:
        return float(tags[SOURCE_START_TAG])
    except (KeyError, ValueError):
        return None


def rotation_from_ccw(degrees: float) -> int:
    """FFmpeg's display-matrix angle (counter-clockwise, as ``VideoFrame.rotation``) → clockwise 0/90/180/270."""
    return int(round(-degrees / 90.0)) * 90 % 360


def rotation_from_metadata(metadata: dict[str, str]) -> int:
    """The legacy ``rotate`` stream tag (clockwise degrees) as 0/90/180/270 (0 when absent or invalid)."""
    try:
        return int(round(float(metadata.get("rotate", "0")) / 90.0)) * 90 % 360
    except ValueError:
        return 0


# --- errors ------------------------------------------------------------------------------------------------------
def media_error(path: str | os.PathLike[str], err: BaseException, *, during: str = "opening") -> Exception:
    """Map a PyAV/FFmpeg exception to a one-line :mod:`videostyle.errors` input error."""
    p = Path(path)
    damage = container_damage(p)
    if damage is not None:
        return TruncatedMediaError(damage, path=p)
    if isinstance(err, av.error.EOFError):
        return TruncatedMediaError(f"unexpected end of file while {during} (truncated or damaged)", path=p)
    reason = getattr(err, "strerror", None) or type(err).__name__
    if isinstance(err, av.error.InvalidDataError):
        if during == "opening":
            return UnreadableMediaError("not a media file PyAV/FFmpeg can read (invalid data)", path=p)
        return TruncatedMediaError(f"damaged media data while {during} ({reason})", path=p)
    return UnreadableMediaError(f"cannot read media while {during}: {reason}", path=p)


def check_input_file(path: str | os.PathLike[str]) -> Path:
    """Existence / emptiness checks shared by every input path that must be a file."""
    return check_file(path, missing="no such file or directory",
                      directory="is a directory without images (.png, .jpg, .tif, ...)",
                      empty="the file is empty (0 bytes)")


def open_input(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """``av.open`` for reading with checked inputs and mapped errors."""
    p = check_input_file(path)
    damage = container_damage(p)
    if damage is not None:
        raise TruncatedMediaError(damage, path=p)
    try:
        container = av.open(os.fspath(p), "r")
    except av.error.FFmpegError as err:
        raise media_error(p, err) from None
    except (OSError, ValueError) as err:
        raise UnreadableMediaError(f"cannot open: {err}", path=p) from None
    return container


# --- probing -----------------------------------------------------------------------------------------------------
def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Inspect a video file, an image sequence (printf pattern or directory) or a single image."""
    spath = os.fspath(path)
    if is_pattern(spath) and not os.path.exists(spath):
        return _probe_sequence(spath, [p for _, p in list_pattern_images(spath)])
    p = Path(spath)
    if not p.exists():
        raise InputNotFoundError("no such file or directory", path=p)
    if p.is_dir():
        return _probe_sequence(spath, list_directory_images(p))
    check_input_file(p)
    if is_image_path(p):
        return _probe_image(p)
    return _probe_video(p)


def _image_video_info(image_path: Path, frames: int) -> tuple[VideoInfo, PlateSpec | None]:
    plate = read_plate_spec(image_path) if is_plate_path(image_path) else None
    if plate is not None:
        w, h = plate.width, plate.height
        pix_fmt = f"{'rgba' if plate.has_alpha else 'rgb'} {plate.sample}"
    else:
        raw = read_image_raw(image_path, alpha=True)
        h, w = raw.shape[:2]
        pix_fmt = {3: ("rgb24", "rgb48"), 4: ("rgba", "rgba64")}[raw.shape[2]][raw.dtype.itemsize - 1]
    return VideoInfo(
        codec=image_path.suffix.lower().lstrip(".").replace("jpeg", "jpg"),
        width=w, height=h, display_width=w, display_height=h,
        fps=float(SEQUENCE_FPS), avg_rate=Fraction(SEQUENCE_FPS), time_base=Fraction(1, SEQUENCE_FPS),
        frames=frames, frames_estimated=False, duration=frames / SEQUENCE_FPS, rotation=0,
        pix_fmt=pix_fmt,
    ), plate


def _probe_sequence(spec: str, files: list[Path]) -> MediaInfo:
    if not files:
        if is_pattern(spec):
            raise InputNotFoundError("no image files match this sequence pattern", path=spec)
        raise InputIsDirectoryError("is a directory without images (.png, .jpg, .tif, ...)", path=spec)
    video, plate = _image_video_info(files[0], len(files))
    return MediaInfo(
        path=spec, kind="sequence", container="image sequence", duration=video.duration, video=video,
        audio=[], files=tuple(os.fspath(f) for f in files), numbers=_frame_numbers(files), plate=plate,
    )


def _frame_numbers(files: list[Path]) -> tuple[int, ...]:
    """The number in each member's name when every member has one and they increase; else 1, 2, …"""
    numbers = [frame_number(f) for f in files]
    if all(n is not None for n in numbers) and all(a < b for a, b in zip(numbers, numbers[1:])):  # type: ignore
        return tuple(numbers)  # type: ignore[arg-type]
    return tuple(range(1, len(files) + 1))


def _probe_image(path: Path) -> MediaInfo:
    video, plate = _image_video_info(path, 1)
    video = VideoInfo(**{**video.__dict__, "duration": None})
    return MediaInfo(path=os.fspath(path), kind="image", container=video.codec, duration=None, video=video,
                     plate=plate)


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _first_frame_rotation(container: av.container.InputContainer, path: Path) -> int | None:
    """Rotation of the first decoded frame (display matrix side data); None when the stream has no frames."""
    stream = container.streams.video[0]
    try:
        for frame in container.decode(stream):
            return rotation_from_ccw(frame.rotation)
    except av.error.FFmpegError as err:
        raise media_error(path, err, during="decoding the first frame") from None
    return None


def _probe_video(path: Path) -> MediaInfo:
    container = open_input(path)
    try:
        fmt = container.format.name
        audio = [
            AudioInfo(
                index=s.index, codec=s.codec_context.name, sample_rate=int(s.codec_context.sample_rate or 0),
                channels=int(s.codec_context.channels or 0), duration=_seconds(s.duration, s.time_base),
            )
            for s in container.streams.audio
        ]
        container_duration = None if container.duration is None else container.duration / 1_000_000
        if not container.streams.video:
            if audio:
                kinds = ", ".join(f"{a.codec} {a.sample_rate} Hz" for a in audio)
                raise NoVideoStreamError(f"has no video stream (audio only: {kinds})", path=path)
            raise NoVideoStreamError("has no video stream", path=path)
        v = container.streams.video[0]
        cc = v.codec_context
        if not cc.width or not cc.height:
            raise UnreadableMediaError("the video stream has no picture size (damaged header)", path=path)
        if cc.width * cc.height > MAX_VIDEO_PIXELS:
            raise UnreadableMediaError(
                f"the video header claims {cc.width}x{cc.height} pixels per frame, more than the "
                f"{MAX_VIDEO_PIXELS / 1e6:.0f} megapixels accepted (16K x 8K); damaged or hostile file", path=path)
        rotation = _first_frame_rotation(container, path)
        if rotation is None:
            raise NoFramesError("the video stream holds no frames", path=path)
        if rotation == 0:
            rotation = rotation_from_metadata(dict(v.metadata))
        info = _video_info(v, container_duration, rotation)
        return MediaInfo(
            path=os.fspath(path), kind="video", container=fmt,
            duration=container_duration if container_duration is not None else info.duration,
            video=info, audio=audio,
        )
    finally:
        container.close()


def _video_info(v: av.video.stream.VideoStream, container_duration: float | None, rotation: int) -> VideoInfo:
    cc = v.codec_context
    avg = v.average_rate or v.guessed_rate or v.base_rate
    avg_rate = Fraction(avg) if avg else None
    time_base = Fraction(v.time_base) if v.time_base else None
    duration = _seconds(v.duration, time_base)
    if duration is None:
        duration = container_duration
    fps = float(avg_rate) if avg_rate else 0.0
    frames: int | None = v.frames or None
    estimated = False
    if frames is None and duration and fps:
        frames, estimated = int(math.floor(duration * fps + 0.5)), True
    if not fps and frames and duration:
        fps = frames / duration
    w, h = int(cc.width), int(cc.height)
    dw, dh = (h, w) if rotation in (90, 270) else (w, h)
    start = _seconds(v.start_time, time_base) or 0.0
    return VideoInfo(
        codec=cc.name, width=w, height=h, display_width=dw, display_height=dh, fps=fps, avg_rate=avg_rate,
        time_base=time_base, frames=frames, frames_estimated=estimated, duration=duration, rotation=rotation,
        pix_fmt=cc.pix_fmt, start_time=start,
    )
