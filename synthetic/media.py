"""Synthetic media with known ground truth, for tests across the project and the sample script.

* :func:`moving_scene` renders a real photo (scikit-image's public-domain ``astronaut``, ``coffee``, ``chelsea``…)
  seen by a camera moving along a known sub-pixel path, with an opaque moving cut-out occluder and an optional
  hard cut to another photo. Ground truth: frame ``t`` shows the photo at ``x + offsets[t]`` (outside the
  occluder), so the backward flow of frame ``t`` (``compute_flow(frame_t, frame_{t-1})``) is
  ``offsets[t] - offsets[t-1]`` everywhere except inside ``occluder_boxes[t]``/``[t-1]`` and at the cut.
* :func:`write_clip` encodes RGB frames (with PyAV) to .mp4/.mov/.mkv with optional audio tone, irregular (VFR)
  timestamps and a rotation flag (display matrix).

The awkward inputs only the tests need (an audio-only file, a video stream without frames) and the decoder-side
inspection of written files live in ``tests/media_fixtures.py``.

scikit-image is needed only by :func:`photo` / :func:`moving_scene` (a test extra).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import cv2
import numpy as np

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def photo(name: str = "astronaut") -> np.ndarray:
    """A public-domain RGB uint8 photo from ``skimage.data`` (``astronaut``, ``coffee``, ``chelsea``, ...)."""
    from skimage import data

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}: expected one of {', '.join(PHOTOS)}")
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3]).astype(np.uint8)


@dataclass(frozen=True)
class Scene:
    """Rendered frames (N×H×W×3 uint8) and their ground truth.

    ``offsets[t]`` = camera position (x, y) in pixels: frame t shows the photo at ``x + offsets[t]``.
    ``occluder_boxes[t]`` = (x0, y0, x1, y1) of the opaque occluder in frame t (exclusive end; clipped to the
    frame). ``cut_index`` = first frame of the second shot (None without a cut).
    """

    frames: np.ndarray
    offsets: np.ndarray
    occluder_boxes: np.ndarray
    cut_index: int | None
    fps: float


def camera_path(n: int, velocity: tuple[float, float] = (1.3, 0.6), wobble: float = 1.5) -> np.ndarray:
    """A smooth sub-pixel path: constant velocity plus a slow sine wobble; ``(n, 2)`` float64, starting at 0."""
    t = np.arange(n, dtype=np.float64)
    x = velocity[0] * t + wobble * np.sin(t / 7.0)
    y = velocity[1] * t + wobble * (1.0 - np.cos(t / 9.0))
    return np.stack([x, y], axis=1)


def _fit_photo(image: np.ndarray, size: tuple[int, int], travel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale the photo to cover the frame plus the camera's travel; returns (image, base offset)."""
    w, h = size
    lo, hi = travel.min(axis=0), travel.max(axis=0)
    need_w, need_h = w + (hi[0] - lo[0]) + 8, h + (hi[1] - lo[1]) + 8
    scale = max(need_w / image.shape[1], need_h / image.shape[0])
    scaled = cv2.resize(image, (int(np.ceil(image.shape[1] * scale)), int(np.ceil(image.shape[0] * scale))),
                        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    base = np.array([(scaled.shape[1] - need_w) / 2 + 4 - lo[0], (scaled.shape[0] - need_h) / 2 + 4 - lo[1]])
    return scaled, base


def _render(image: np.ndarray, base: np.ndarray, offset: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    ox, oy = base + offset
    matrix = np.array([[1.0, 0.0, -ox], [0.0, 1.0, -oy]], dtype=np.float64)
    # frame(x) = photo(x + base + offset), bilinear (sub-pixel).
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _occluder_patch(size: tuple[int, int]) -> np.ndarray:
    """An opaque, strongly textured patch (a red/white checker with a dark frame)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    checker = ((xx // 4 + yy // 4) % 2).astype(np.uint8)
    patch = np.where(checker[:, :, None] == 1, np.array([230, 30, 40], np.uint8), np.array([250, 245, 235], np.uint8))
    patch[:2, :], patch[-2:, :], patch[:, :2], patch[:, -2:] = 20, 20, 20, 20
    return patch.astype(np.uint8)


def _subject_patch(name: str, size: tuple[int, int]) -> np.ndarray:
    """The centre of photo ``name``, cropped to the aspect of ``size`` and scaled to it (a textured subject)."""
    w, h = size
    image = photo(name)
    ih, iw = image.shape[:2]
    scale = min(iw / w, ih / h) * 0.8
    cw, ch = int(w * scale), int(h * scale)
    x0, y0 = (iw - cw) // 2, (ih - ch) // 2
    return cv2.resize(image[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_AREA)


def moving_scene(
    frames: int = 48,
    size: tuple[int, int] = (96, 64),
    *,
    photo_name: str = "astronaut",
    cut_at: int | None = None,
    cut_photo: str = "coffee",
    velocity: tuple[float, float] = (1.3, 0.6),
    wobble: float = 1.5,
    occluder: bool = True,
    occluder_size: tuple[int, int] | None = None,
    occluder_velocity: tuple[float, float] = (-2.0, 0.5),
    occluder_start: tuple[float, float] = (0.7, 0.3),
    subject: str | None = None,
    fps: float = 24.0,
) -> Scene:
    """Render a camera moving over a photo, an occluder crossing it, and an optional cut at ``cut_at``.

    The occluder starts at ``occluder_start`` (its top-left corner, as fractions of the frame; negative values
    start it off-frame so that it enters) and moves by ``occluder_velocity`` pixels per frame. It is a red/white
    checker, or with ``subject`` (a photo name, e.g. ``"chelsea"``) the centre of that photo: a textured subject.
    """
    w, h = size
    offsets = camera_path(frames, velocity, wobble)
    shots = [(0, cut_at if cut_at is not None else frames, photo_name)]
    if cut_at is not None:
        shots.append((cut_at, frames, cut_photo))
    out = np.empty((frames, h, w, 3), np.uint8)
    for first, end, name in shots:
        if end <= first:
            continue
        image, base = _fit_photo(photo(name), size, offsets)
        for t in range(first, end):
            out[t] = _render(image, base, offsets[t], size)
    ow, oh = occluder_size or (max(4, w // 4), max(4, h // 3))
    patch = _occluder_patch((ow, oh)) if subject is None else _subject_patch(subject, (ow, oh))
    boxes = np.zeros((frames, 4), np.int64)
    start = np.array([w * occluder_start[0], h * occluder_start[1]])
    for t in range(frames):
        x0, y0 = np.round(start + np.array(occluder_velocity) * t).astype(int)
        x1, y1 = x0 + ow, y0 + oh
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        boxes[t] = (cx0, cy0, max(cx0, cx1), max(cy0, cy1))
        if occluder and cx1 > cx0 and cy1 > cy0:
            out[t, cy0:cy1, cx0:cx1] = patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    if not occluder:
        boxes[:] = 0
    return Scene(frames=out, offsets=offsets, occluder_boxes=boxes, cut_index=cut_at, fps=fps)


PALETTE = (
    (18, 32, 96), (34, 62, 158), (66, 110, 200), (120, 170, 230), (242, 204, 48),
    (232, 128, 28), (200, 52, 36), (246, 236, 200), (24, 118, 122), (12, 16, 40),
)


def brush_painting(size: tuple[int, int] = (320, 320), *, seed: int = 0, strokes: int = 1400) -> np.ndarray:
    """A procedural painting-like RGB uint8 image: bold brush strokes swirling around a few vortices.

    Strong palette (deep blues, yellow, orange, red, cream), thick strokes with dark edges and light cores, canvas
    grain. Clearly not a photo: it makes a stylisation visibly different from its content.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    palette = np.array(PALETTE, np.float32)
    # Background: two-colour gradient with low-frequency noise.
    noise = cv2.resize(rng.random((6, 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    mix = np.clip(0.6 * yy / h + 0.4 * noise, 0, 1)[..., None]
    canvas = (palette[1] * (1 - mix) + palette[0] * mix).astype(np.float32)
    # Swirl field: a few vortices of alternating spin plus a gentle diagonal drift.
    centres = rng.uniform([0.15 * w, 0.15 * h], [0.85 * w, 0.85 * h], size=(4, 2))
    spins = np.array([1, -1, 1, -1], np.float32) * rng.uniform(0.8, 1.2, 4)

    def direction(x: float, y: float) -> tuple[float, float]:
        vx, vy = 0.35, 0.15
        for (cx, cy), spin in zip(centres, spins, strict=True):
            dx, dy = x - cx, y - cy
            r2 = dx * dx + dy * dy + 200.0
            vx += spin * -dy * 900.0 / r2 / np.sqrt(r2)
            vy += spin * dx * 900.0 / r2 / np.sqrt(r2)
        norm = np.hypot(vx, vy) + 1e-6
        return vx / norm, vy / norm

    img = np.ascontiguousarray(canvas.astype(np.uint8)[:, :, ::-1])  # BGR for OpenCV drawing
    for i in range(strokes):
        x, y = rng.uniform(-10, w + 10), rng.uniform(-10, h + 10)
        # Near a vortex: warm colours (yellow/orange/cream); elsewhere: blues and teal.
        near = min(np.hypot(x - cx, y - cy) for cx, cy in centres) < 0.12 * (w + h)
        choice = rng.choice([4, 5, 7, 6]) if near else rng.choice([0, 1, 2, 3, 8, 3, 2])
        colour = np.clip(palette[choice] + rng.normal(0, 14, 3), 0, 255)
        points = []
        for _ in range(int(rng.integers(6, 16))):
            points.append((x, y))
            dx, dy = direction(x, y)
            x, y = x + 4.0 * dx, y + 4.0 * dy
        pts = np.round(np.array(points)).astype(np.int32).reshape(-1, 1, 2)
        thick = int(rng.integers(3, 8)) if i < strokes * 0.7 else int(rng.integers(2, 4))
        dark = tuple(float(c) * 0.55 for c in colour[::-1])
        light = tuple(float(min(255, c * 1.15 + 10)) for c in colour[::-1])
        cv2.polylines(img, [pts], False, dark, thickness=thick + 2, lineType=cv2.LINE_AA)
        cv2.polylines(img, [pts], False, tuple(float(c) for c in colour[::-1]), thickness=thick,
                      lineType=cv2.LINE_AA)
        cv2.polylines(img, [pts], False, light, thickness=max(1, thick // 3), lineType=cv2.LINE_AA)
    grain = rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    weave = 4.0 * np.sin(xx * 1.7)[..., None] * np.sin(yy * 1.7)[..., None]
    out = np.clip(img.astype(np.float32) + grain + weave, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out[:, :, ::-1])


def tone(seconds: float, sample_rate: int = 48000, freq: float = 440.0, chirp_to: float | None = None) -> np.ndarray:
    """A mono float32 sine tone (or a linear chirp to ``chirp_to`` Hz) at amplitude 0.3."""
    n = int(round(seconds * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    if chirp_to is None:
        phase = 2 * np.pi * freq * t
    else:
        phase = 2 * np.pi * (freq * t + (chirp_to - freq) * t * t / (2 * max(seconds, 1e-9)))
    return (0.3 * np.sin(phase)).astype(np.float32)


_DEFAULT_VIDEO = {".mp4": "libx264", ".mov": "libx264", ".mkv": "ffv1"}
_DEFAULT_AUDIO = {".mp4": "aac", ".mov": "aac", ".mkv": "flac", ".m4a": "aac", ".flac": "flac"}
_PIX_FMT = {"libx264": "yuv420p", "prores_ks": "yuv422p10le", "ffv1": "yuv420p", "mpeg4": "yuv420p"}


def _add_audio(container: av.container.OutputContainer, codec: str, sample_rate: int) -> av.audio.stream.AudioStream:
    stream = cast(av.audio.stream.AudioStream, container.add_stream(codec, rate=sample_rate))
    stream.layout = "mono"
    return stream


def _encode_audio(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream,
                  samples: np.ndarray, sample_rate: int) -> None:
    s16 = stream.codec_context.name in ("flac", "pcm_s16le")
    chunk = 1024
    for first in range(0, len(samples), chunk):
        block = samples[first : first + chunk]
        if s16:
            frame = av.AudioFrame.from_ndarray((block * 32767).astype(np.int16)[None, :], format="s16", layout="mono")
        else:
            frame = av.AudioFrame.from_ndarray(block[None, :], format="fltp", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = first
        frame.time_base = Fraction(1, sample_rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def write_clip(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float = 24,
    audio: bool = True,
    vfr_pts: Sequence[float] | None = None,
    rotation: int = 0,
    codec: str | None = None,
    time_base: Fraction | None = None,
    audio_codec: str | None = None,
    sample_rate: int = 48000,
    audio_seconds: float | None = None,
    crf: int = 20,
    preset: str = "ultrafast",
    gop: int | None = None,
    audio_samples: np.ndarray | None = None,
    pix_fmt: str | None = None,
) -> Path:
    """Encode RGB uint8 frames (all the same size, even sides for yuv420p codecs) to a video file.

    ``vfr_pts``: per-frame times in seconds (irregular timestamps); default ``i / fps``. ``rotation``: clockwise
    display rotation flag (0/90/180/270) written as display-matrix side data. ``audio``: a 440 Hz tone as long as
    the video (or ``audio_seconds``), AAC in mp4/mov and FLAC in mkv unless ``audio_codec`` says otherwise;
    ``audio_samples`` (mono float32 in [-1, 1]) replaces the tone. ``pix_fmt``: the stream's pixel format (default:
    the codec's in ``_PIX_FMT``, 4:2:0 for ffv1; ``bgr0`` keeps ffv1 lossless in RGB, as the engine writes it).
    ``time_base`` defaults to 1/(1000·fps) for mp4/mov (1/1000 is forced by Matroska). ``gop``: key frame interval
    (short intervals exercise real seeks when trimming).
    """
    p = Path(path)
    ext = p.suffix.lower()
    codec = codec or _DEFAULT_VIDEO.get(ext, "libx264")
    rate = Fraction(fps).limit_denominator(1001)
    tb = time_base or (Fraction(1, 1000) if ext == ".mkv" else Fraction(1, 1000) / rate)
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError("write_clip needs at least one frame (see write_zero_frame_video)")
    container = av.open(os.fspath(p), "w")
    try:
        stream = cast(av.video.stream.VideoStream, container.add_stream(codec, rate=rate))
        stream.width, stream.height = first.shape[1], first.shape[0]
        stream.pix_fmt = pix_fmt or _PIX_FMT.get(codec, "yuv420p")
        stream.time_base = tb
        stream.codec_context.time_base = tb
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": preset}
        if gop:
            stream.gop_size = gop
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV takes FFmpeg's counter-clockwise angle
        a_stream = _add_audio(container, audio_codec or _DEFAULT_AUDIO.get(ext, "aac"), sample_rate) if audio else None
        count, last_t = 0, 0.0
        for image in _chain(first, it):
            t = vfr_pts[count] if vfr_pts is not None else count / float(rate)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8), format="rgb24")
            frame.pts = int(round(t / tb))
            frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
            count, last_t = count + 1, t
        for packet in stream.encode():
            container.mux(packet)
        if a_stream is not None:
            seconds = audio_seconds if audio_seconds is not None else last_t + 1.0 / float(rate)
            samples = audio_samples if audio_samples is not None else tone(seconds, sample_rate)
            _encode_audio(container, a_stream, samples.astype(np.float32), sample_rate)
    finally:
        container.close()
    return p


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest
