"""Mattes (``--mask``): what restricts the stylisation, read frame by frame alongside the input (no torch here).

A matte is an image sequence, a video or a single image (one matte for every frame). Each frame becomes an H×W
``float32`` map in [0, 1] at the working size: the matte's first channel (red, or the value of a grey or
one-channel file) as stored, with no colour conversion (a matte is data, not a picture); white = stylise.

Alignment with the input: the matte is read over the same selection as the input (``--frames`` for numbered
sequences, ``--start``/``--duration``/``--max-frames``) and its frames pair with the input's in order, so the
selection must hold as many matte frames as input frames, and the matte must have the input's aspect ratio (any
resolution: it is resized) (:func:`check_matte`, in the pre-flight).

:func:`feather` turns a matte into the composite's alpha (a soft edge *inside* the matte, so a pixel the matte
leaves out is the source exactly) and :func:`composite` lays the stylised frame over the source with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from ..errors import InputError, MatteError
from .probe import MediaInfo, probe
from .reader import Frame, FrameReader, resize_image, upright


class MatteReader(FrameReader):
    """A :class:`FrameReader` whose frames' ``image`` is the matte: H×W float32 in [0, 1], as stored."""

    def _finish(self, image: np.ndarray, index: int, pts: float, ticks: int | None, duration: int | None = None,
                number: int | None = None) -> Frame:
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
        channel = np.asarray(image[..., 0] if image.ndim == 3 else image, dtype=np.float32) / scale
        rotation = self.info.video.rotation if self.info.video else 0
        matte = np.clip(resize_image(upright(channel, rotation), self.size), 0.0, 1.0)
        return Frame(index=index, pts=pts, image=np.ascontiguousarray(matte, dtype=np.float32), pts_ticks=ticks,
                     time_base=self.time_base, duration_ticks=duration, number=number)


class Mattes:
    """The matte of each input frame, by index (read forward; a single image serves every frame)."""

    def __init__(self, path: str, *, size: tuple[int, int], start: float | None = None,
                 duration: float | None = None, max_frames: int | None = None,
                 frames: tuple[int, int] | None = None) -> None:
        self.path = path
        self.info = _probe(path)
        still = self.info.kind == "image"
        self._reader = _open(path, self.info, size=size, start=None if still else start,
                             duration=None if still else duration, max_frames=None if still else max_frames,
                             frames=None if still else frames)
        self._still: np.ndarray | None = None
        if still:
            self._still = next(self._reader).image
            self._reader.close()
        self._frames: Iterator[Frame] = iter(self._reader)
        self._last: Frame | None = None

    def at(self, index: int) -> np.ndarray:
        """The matte of the input frame ``index`` (indices asked in increasing order)."""
        if self._still is not None:
            return self._still
        while self._last is None or self._last.index < index:
            try:
                self._last = next(self._frames)
            except StopIteration:
                raise MatteError(f"--mask {self.path}: no matte for input frame {index} (the matte has fewer "
                                 "frames than the input)") from None
            except InputError as err:
                raise MatteError(f"--mask {self.path}: {err}") from None
        return self._last.image

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> Mattes:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _probe(path: str) -> MediaInfo:
    try:
        return probe(path)
    except InputError as err:
        raise MatteError(f"--mask {path}: {_reason(err, path)}") from None


def _open(path: str, info: MediaInfo, **kwargs) -> MatteReader:  # noqa: ANN003 - FrameReader's range and size
    if kwargs.get("frames") is not None and info.kind != "sequence":
        raise MatteError(f"--mask {path}: --frames selects plate numbers, so the matte must be an image sequence "
                         f"numbered like the plates (or a single image), not a {info.kind}")
    try:
        return MatteReader(path, **kwargs)
    except InputError as err:
        raise MatteError(f"--mask {path}: {_reason(err, path)}") from None


def _reason(err: InputError, path: str) -> str:
    text = str(err)
    return text[len(path) + 2:] if text.startswith(path + ": ") else text


def selected_count(info: MediaInfo, *, start: float | None = None, duration: float | None = None,
                   max_frames: int | None = None, frames: tuple[int, int] | None = None) -> int | None:
    """How many frames a selection of ``info`` holds, from the probe alone (None: only decoding can tell)."""
    if info.kind == "image":
        return 1
    if info.kind == "sequence":
        fps = info.video.fps if info.video is not None and info.video.fps else 24.0
        begin, end = float(start or 0.0), None if duration is None else float(start or 0.0) + float(duration)
        count = sum(1 for position, number in enumerate(info.numbers or range(len(info.files)))
                    if position / fps >= begin - 1e-6 and (end is None or position / fps < end - 1e-6)
                    and (frames is None or frames[0] <= number <= frames[1]))
    elif start or duration is not None or info.video is None or info.video.frames is None:
        return None
    else:
        count = info.video.frames
    return count if max_frames is None else min(count, max_frames)


def check_matte(path: str, input_info: MediaInfo, *, start: float | None = None, duration: float | None = None,
                max_frames: int | None = None, frames: tuple[int, int] | None = None,
                input_path: str | None = None) -> MediaInfo:
    """Refuse a matte that is missing, unreadable or whose selection holds another number of frames than the
    input's (one line, :class:`~videostyle.errors.MatteError`); returns its probe. Decodes only what the probe
    cannot count (a video trimmed by time)."""
    selection = {"start": start, "duration": duration, "max_frames": max_frames}
    with Mattes(path, size=(16, 16), frames=frames, **selection) as mattes:  # opens: the first frame decodes
        info = mattes.info
    _check_aspect(path, info, input_info)
    if info.kind == "image":
        return info
    want = selected_count(input_info, frames=frames, **selection)
    if want is None:
        want = _decoded_count(FrameReader(input_path or input_info.path, size=(16, 16), **selection))
    have = selected_count(info, frames=frames, **selection)
    if have is None:
        have = _decoded_count(_open(path, info, size=(16, 16), **selection))
    if have != want:
        where = f" numbered {frames[0]}-{frames[1]}" if frames is not None else ""
        raise MatteError(f"--mask {path}: {have} matte frames{where} for {want} input frames; the matte must have "
                         "one frame per input frame over the selected range (or be a single image)")
    return info


#: how far a matte's aspect ratio may differ from the input's (a proxy matte at another resolution is fine)
ASPECT_TOLERANCE = 0.02


def _check_aspect(path: str, info: MediaInfo, input_info: MediaInfo) -> None:
    m, v = info.video, input_info.video
    if m is None or v is None:
        return
    ratio, want = m.display_width / m.display_height, v.display_width / v.display_height
    if abs(ratio / want - 1.0) > ASPECT_TOLERANCE:
        raise MatteError(f"--mask {path}: the matte is {m.display_width}x{m.display_height} and the input "
                         f"{v.display_width}x{v.display_height}; a matte must have the input's aspect ratio")


def _decoded_count(reader: FrameReader) -> int:
    with reader:
        return sum(1 for _ in reader)


def feather(matte: np.ndarray, radius: float) -> np.ndarray:
    """The composite's alpha of a matte (H×W in [0, 1]): a linear ramp ``radius`` px wide *inside* the matte's
    edge (a distance transform of where it is > 0), times the matte. Pixels the matte leaves out (0) stay 0."""
    m = np.clip(np.asarray(matte, dtype=np.float32), 0.0, 1.0)
    if radius <= 0:
        return m
    inside = (m > 0).astype(np.uint8)
    if inside.all():
        return m
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    return m * np.clip(distance / float(radius), 0.0, 1.0)


def composite(stylised: np.ndarray, source: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha · stylised + (1 − alpha) · source`` of two uint8 H×W×3 images (alpha H×W in [0, 1])."""
    a = np.asarray(alpha, dtype=np.float32)[..., None]
    out = a * stylised.astype(np.float32) + (1.0 - a) * source.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)

