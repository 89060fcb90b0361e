"""Mattes (``--mask``): what restricts the stylisation, read frame by frame alongside the input (no torch here).

A matte is an image sequence, a video or a single image (one matte for every frame). Each frame becomes an H×W
``float32`` map in [0, 1] at the working size, as stored, with no colour conversion (a matte is data, not a
picture); white = stylise. Which channel: the alpha channel when the file has one (an RGBA PNG, TIFF or EXR),
else the first channel (red, or the value of a grey or one-channel file); a video's first channel.

Pairing with the input (:meth:`Mattes.at`), never silently by position in the selection:

* a numbered matte sequence with a numbered input sequence pairs by frame number (plate 1001 ↔ matte 1001),
  whatever ``--frames`` or ``--start`` select;
* a matte sequence with a video (or with unnumbered files) pairs by the input frame's index in the *whole* input:
  the matte's k-th member (sorted) is the input's frame k, found from the frame's time and the input's frame rate,
  so ``--start`` picks the matching members; its numbering must have no gap;
* a video matte pairs by time: it is read over the input's selection (``--start``/``--duration``/
  ``--max-frames``) and its frames follow the input's in order.

The matte must have the input's aspect ratio (any resolution: it is resized). :func:`check_matte`, in the
pre-flight, refuses a matte that is missing, has no member for a frame the input needs, has a gap, a damaged or
differently sized member (headers only), or is empty (0 everywhere), before any work.

:func:`feather` turns a matte into the composite's alpha (a soft edge *inside* the matte, so a pixel the matte
leaves out is the source exactly) and :func:`composite` lays the stylised frame over the source with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import cv2
import numpy as np

from ..errors import InputError, MatteError
from ._paths import frame_number
from .plates import read_plate, read_plate_spec
from .probe import MediaInfo, probe
from .reader import Frame, FrameReader, resize_image, upright


class MatteReader(FrameReader):
    """A :class:`FrameReader` of a video matte whose frames' ``image`` is the matte: H×W float32 in [0, 1], the
    first channel as stored."""

    def _finish(self, image: np.ndarray, index: int, pts: float, ticks: int | None, duration: int | None = None,
                number: int | None = None) -> Frame:
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
        channel = np.asarray(image[..., 0] if image.ndim == 3 else image, dtype=np.float32) / scale
        rotation = self.info.video.rotation if self.info.video else 0
        matte = np.clip(resize_image(upright(channel, rotation), self.size), 0.0, 1.0)
        return Frame(index=index, pts=pts, image=np.ascontiguousarray(matte, dtype=np.float32), pts_ticks=ticks,
                     time_base=self.time_base, duration_ticks=duration, number=number)


def read_matte_image(path: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """One matte image as H×W float32 in [0, 1] (at ``size`` = (w, h) when given): its alpha channel when it has
    one, else its first channel, as stored (OpenImageIO). Raises the input errors of :mod:`videostyle.errors`."""
    pixels = read_plate(path)[0]
    channel = pixels[..., 3] if pixels.shape[2] == 4 else pixels[..., 0]
    if size is not None:
        channel = resize_image(np.ascontiguousarray(channel), size)
    return np.ascontiguousarray(np.clip(channel, 0.0, 1.0), dtype=np.float32)


def numbered(info: MediaInfo) -> bool:
    """True for an image sequence whose members carry frame numbers in their names (``plate.1001.exr``)."""
    return info.kind == "sequence" and all(frame_number(f) == n for f, n in zip(info.files, info.numbers))


def _fps(info: MediaInfo) -> float:
    from .probe import DEFAULT_FPS

    return float(info.video.fps) if info.video is not None and info.video.fps else float(DEFAULT_FPS)


def pairing(info: MediaInfo, input_info: MediaInfo | None) -> str:
    """How a matte pairs with the input: ``"still"``, ``"number"`` (both numbered sequences), ``"position"`` (a
    matte sequence, by the input frame's index in the whole input) or ``"time"`` (a video matte)."""
    if info.kind == "image":
        return "still"
    if info.kind != "sequence":
        return "time"
    if input_info is not None and numbered(info) and numbered(input_info):
        return "number"
    return "position"


class Mattes:
    """The matte of each input frame (:meth:`at`); a single image serves every frame.

    ``input_info``: the input's probe (how the matte pairs with it, and its frame rate); without it a sequence
    matte's members are taken in order over the selection.
    """

    def __init__(self, path: str, *, size: tuple[int, int], start: float | None = None,
                 duration: float | None = None, max_frames: int | None = None,
                 frames: tuple[int, int] | None = None, input_info: MediaInfo | None = None) -> None:
        self.path = path
        self.size = size
        self.info = _probe(path)
        self.mode = pairing(self.info, input_info)
        self._input_fps = _fps(input_info) if input_info is not None else None
        self._reader: MatteReader | None = None
        self._still: np.ndarray | None = None
        self._cache: tuple[str, np.ndarray] | None = None
        if frames is not None and self.info.kind == "video":
            raise MatteError(f"--mask {path}: --frames selects plate numbers, so the matte must be an image sequence "
                             "numbered like the plates (or a single image), not a video")
        if self.mode == "still":
            self._still = self._read(self.info.path, during_run=False)
        elif self.mode == "time":
            try:
                self._reader = MatteReader(path, size=size, start=start, duration=duration, max_frames=max_frames)
            except InputError as err:
                raise MatteError(f"--mask {path}: {_reason(err, path)}") from None
            self._frames: Iterator[Frame] = iter(self._reader)
            self._last: Frame | None = None
        else:
            self._by_number = dict(zip(self.info.numbers, self.info.files))
            self._in_order = [f for f, n in zip(self.info.files, self.info.numbers)
                              if frames is None or frames[0] <= n <= frames[1]]

    def member(self, index: int, *, number: int | None = None, pts: float | None = None) -> str | None:
        """The file of a sequence matte for the input frame ``index`` (its ``number`` and ``pts`` in seconds, as
        the input's reader gave them); None when the matte has none."""
        if self.mode == "number" and number is not None:
            return self._by_number.get(number)
        if self.mode == "position" and pts is not None and self._input_fps is not None:
            position = int(round(float(pts) * self._input_fps))
            return self.info.files[position] if 0 <= position < len(self.info.files) else None
        return self._in_order[index] if 0 <= index < len(self._in_order) else None  # no input given: in order

    def at(self, index: int, *, number: int | None = None, pts: float | None = None) -> np.ndarray:
        """The matte of the input frame ``index`` (with its ``number`` and ``pts``; a video matte's frames are
        asked in increasing order)."""
        if self._still is not None:
            return self._still
        if self._reader is None:
            file = self.member(index, number=number, pts=pts)
            if file is None:
                which = f"frame {number}" if self.mode == "number" and number is not None else \
                    f"member for input frame {index}"
                raise MatteError(f"--mask {self.path}: the matte has no {which}{_KEPT}")
            if self._cache is None or self._cache[0] != file:
                self._cache = (file, self._read(file))
            return self._cache[1]
        while self._last is None or self._last.index < index:
            try:
                self._last = next(self._frames)
            except StopIteration:
                raise MatteError(f"--mask {self.path}: no matte for input frame {index} (the matte has fewer "
                                 f"frames than the input){_KEPT}") from None
            except InputError as err:
                raise MatteError(f"--mask {self.path}: {_reason(err, self.path)}{_KEPT}") from None
        return self._last.image

    def _read(self, file: str, *, during_run: bool = True) -> np.ndarray:
        try:
            return read_matte_image(file, self.size)
        except InputError as err:
            raise MatteError(f"--mask {self.path}: {err}{_KEPT if during_run else ''}") from None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def __enter__(self) -> Mattes:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


#: what a matte error found during a run adds: the finished frames stay, but a changed matte changes the settings
_KEPT = ("; the frames finished so far are kept in the frame store, but a rerun reuses them only if the matte is "
         "unchanged (a replaced or added matte file makes it a new job: rerun with --force)")


def _probe(path: str) -> MediaInfo:
    try:
        return probe(path)
    except InputError as err:
        raise MatteError(f"--mask {path}: {_reason(err, path)}") from None


def _reason(err: InputError, path: str) -> str:
    text = str(err)
    return text[len(path) + 2:] if text.startswith(path + ": ") else text


def selected_members(info: MediaInfo, *, start: float | None = None, duration: float | None = None,
                     max_frames: int | None = None, frames: tuple[int, int] | None = None) -> list[tuple[int, int]]:
    """``(position, number)`` of the members of an image sequence that a selection keeps (from the probe)."""
    fps = _fps(info)
    begin, end = float(start or 0.0), None if duration is None else float(start or 0.0) + float(duration)
    kept = [(position, number) for position, number in enumerate(info.numbers or range(len(info.files)))
            if position / fps >= begin - 1e-6 and (end is None or position / fps < end - 1e-6)
            and (frames is None or frames[0] <= number <= frames[1])]
    return kept if max_frames is None else kept[:max_frames]


def selected_count(info: MediaInfo, *, start: float | None = None, duration: float | None = None,
                   max_frames: int | None = None, frames: tuple[int, int] | None = None) -> int | None:
    """How many frames a selection of ``info`` holds, from the probe alone (None: only decoding can tell)."""
    if info.kind == "image":
        return 1
    if info.kind == "sequence":
        return len(selected_members(info, start=start, duration=duration, max_frames=max_frames, frames=frames))
    if start or duration is not None or info.video is None or info.video.frames is None:
        return None
    count = info.video.frames
    return count if max_frames is None else min(count, max_frames)


def check_matte(path: str, input_info: MediaInfo, *, start: float | None = None, duration: float | None = None,
                max_frames: int | None = None, frames: tuple[int, int] | None = None,
                input_path: str | None = None) -> MediaInfo:
    """Refuse a matte that cannot serve the input's selection (one line, :class:`~videostyle.errors.MatteError`):
    missing or unreadable; another aspect ratio; a sequence without a member for a frame the input needs (by
    number, or by index for a video), with a gap in its numbering (paired by index), or with a damaged or
    differently sized member (headers only); a video matte with another number of frames over the selection; or
    empty (0 everywhere). Returns its probe. Decodes only what the probe cannot tell (a video trimmed by time;
    the emptiness check reads the first, middle and last frames, and the rest only when those are empty)."""
    selection = {"start": start, "duration": duration, "max_frames": max_frames}
    info = _probe(path)
    if frames is not None and info.kind == "video":
        raise MatteError(f"--mask {path}: --frames selects plate numbers, so the matte must be an image sequence "
                         "numbered like the plates (or a single image), not a video")
    _check_aspect(path, info, input_info)
    mode = pairing(info, input_info)
    if mode == "still":
        _check_headers(path, [info.path])
        _check_not_empty(path, [info.path])
        return info
    if mode == "time":
        want = selected_count(input_info, frames=frames, **selection)
        if want is None:
            want = _decoded_count(FrameReader(input_path or input_info.path, size=(16, 16), **selection))
        have = selected_count(info, frames=frames, **selection)
        if have is None:
            have = _decoded_count(_open_video(path, size=(16, 16), **selection))
        if have != want:
            raise MatteError(f"--mask {path}: {have} matte frames for {want} input frames; a video matte must have "
                             "one frame per input frame over the selected range")
        _check_not_empty(path, None, video=_open_video(path, size=(16, 16), **selection))
        return info
    needed = _needed_members(path, info, input_info, mode, frames=frames, input_path=input_path, **selection)
    _check_headers(path, needed)
    _check_not_empty(path, needed)
    return info


def _needed_members(path: str, info: MediaInfo, input_info: MediaInfo, mode: str, *, frames: tuple[int, int] | None,
                    input_path: str | None, **selection: float | int | None) -> list[str]:
    """The matte files the input's selection pairs with (refusing a missing one, or a gap in the numbering)."""
    if mode == "number":
        by_number = dict(zip(info.numbers, info.files))
        wanted = [n for _p, n in selected_members(input_info, frames=frames, **selection)]
        for n in wanted:
            if n not in by_number:
                raise MatteError(f"--mask {path}: the matte has no frame {n} (input frame {n} needs one; the "
                                 f"matte has {_ranges(info.numbers)}); a matte sequence pairs with numbered plates "
                                 "by frame number")
        return [by_number[n] for n in wanted]
    if numbered(info):
        for a, b in zip(info.numbers, info.numbers[1:]):
            if b != a + 1:
                raise MatteError(f"--mask {path}: the matte's numbering has a gap ({b} after {a}); a matte sequence "
                                 "pairs with the input by frame index, so it needs one file per frame")
    if input_info.kind == "sequence":
        positions = [p for p, _n in selected_members(input_info, frames=frames, **selection)]
    elif input_info.kind == "image":
        positions = [0]
    elif not selection.get("start") and selection.get("duration") is None and input_info.video is not None \
            and input_info.video.frames is not None:
        positions = list(range(selected_count(input_info, max_frames=selection.get("max_frames")) or 0))
    else:  # trimmed by time: the kept frames' times tell their indices
        fps = _fps(input_info)
        with FrameReader(input_path or input_info.path, size=(16, 16), **selection) as reader:
            positions = [int(round(f.pts * fps)) for f in reader]
    files = info.files
    beyond = [p for p in positions if p >= len(files)]
    if beyond:
        raise MatteError(f"--mask {path}: {len(files)} matte frames, but the input's selection needs frame index "
                         f"{beyond[0]} (counted from 0 in the whole input); a matte sequence must cover every "
                         "selected frame")
    return [files[p] for p in positions]


def _ranges(numbers: tuple[int, ...]) -> str:
    return f"{numbers[0]}-{numbers[-1]}" if numbers else "none"


def _check_headers(path: str, files: list[str]) -> None:
    """Every file's header is readable and gives the same size (no pixels decoded)."""
    size = None
    for file in dict.fromkeys(files):
        try:
            spec = read_plate_spec(file)
        except InputError as err:
            raise MatteError(f"--mask {path}: {err}") from None
        if size is None:
            size = (spec.width, spec.height, file)
        elif (spec.width, spec.height) != size[:2]:
            raise MatteError(f"--mask {path}: {os.path.basename(file)} is {spec.width}x{spec.height} but "
                             f"{os.path.basename(size[2])} is {size[0]}x{size[1]}; every matte frame must have one "
                             "size")


def _check_not_empty(path: str, files: list[str] | None, *, video: FrameReader | None = None) -> None:
    """Refuse a matte that is 0 everywhere over the selection: the first, middle and last frames are read, the
    others only when those are all 0."""
    if video is not None:
        with video:
            if any(float(frame.image.max()) > 0 for frame in video):
                return
    else:
        files = list(dict.fromkeys(files or []))
        first = [files[i] for i in dict.fromkeys((0, len(files) // 2, len(files) - 1))] if files else []
        for file in first + [f for f in files if f not in first]:
            try:
                if float(read_matte_image(file).max()) > 0:
                    return
            except InputError as err:
                raise MatteError(f"--mask {path}: {err}") from None
    raise MatteError(f"--mask {path}: the matte is empty (0 everywhere over the selected frames), so nothing would "
                     "be stylised; white = stylise (the alpha channel when the file has one, else the first channel)")


def _open_video(path: str, **kwargs) -> MatteReader:  # noqa: ANN003 - FrameReader's range and size
    try:
        return MatteReader(path, **kwargs)
    except InputError as err:
        raise MatteError(f"--mask {path}: {_reason(err, path)}") from None


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

