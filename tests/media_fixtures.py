"""Media only the tests need: awkward inputs (an audio-only file, a video stream without frames), a full
demux/decode of a written file, and the writer tests' clip settings and copy. The generators the sample script
and benchmarks share are in :mod:`synthetic.media`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from synthetic.media import _DEFAULT_AUDIO, _add_audio, _encode_audio, tone
from videostyle.media import open_reader, open_writer

#: the writer tests' clips: 2 s at 24 fps (tests/media/conftest.py generates them)
CLIP_FRAMES, CLIP_SIZE = 48, (64, 48)
AAC_FRAME = 1024 / 48000  # one AAC audio frame at 48 kHz, in seconds


def copy_clip(src: Path, dst: Path, **reader_kw) -> None:
    """Read ``src`` and write every frame to ``dst`` like it, with its audio and timing."""
    with open_reader(src, **reader_kw) as reader, open_writer(dst, like=reader, audio_from=src) as writer:
        for frame in reader:
            writer.write(frame.image, pts_ticks=frame.pts_ticks, duration_ticks=frame.duration_ticks)


def assert_only(directory: Path, keep: set[str]) -> None:
    """``directory`` holds exactly ``keep`` (no temporary outputs left behind)."""
    assert sorted(p.name for p in directory.iterdir()) == sorted(keep)


def write_audio_only(path: str | os.PathLike[str], seconds: float = 1.0, *, sample_rate: int = 48000) -> Path:
    """A file with one audio stream and no video (AAC in mp4/m4a/mov, FLAC in mkv/flac)."""
    p = Path(path)
    container = av.open(os.fspath(p), "w")
    try:
        stream = _add_audio(container, _DEFAULT_AUDIO.get(p.suffix.lower(), "aac"), sample_rate)
        _encode_audio(container, stream, tone(seconds, sample_rate), sample_rate)
    finally:
        container.close()
    return p


def write_zero_frame_video(path: str | os.PathLike[str], size: tuple[int, int] = (64, 48)) -> Path:
    """A Matroska file whose FFV1 video stream has no frames (an audio stream keeps the file well-formed)."""
    p = Path(path)
    container = av.open(os.fspath(p), "w", format="matroska")
    try:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        audio = _add_audio(container, "flac", 48000)
        container.start_encoding()
        _encode_audio(container, audio, tone(0.5), 48000)
    finally:
        container.close()
    return p


@dataclass(frozen=True)
class StreamReport:
    """What :func:`inspect_video` measured by demuxing and decoding a whole file (for tests)."""

    pts: list[int]
    time_base: Fraction
    avg_rate: Fraction | None
    width: int
    height: int
    codec: str
    audio: list[tuple[str, int, float]]  # (codec, sample rate, decoded seconds) per audio stream


def inspect_video(path: str | os.PathLike[str]) -> StreamReport:
    """Decode every video frame (pts in order) and every audio stream (decoded duration) of a file."""
    with av.open(os.fspath(path)) as container:
        v = container.streams.video[0]
        pts = [int(f.pts) for f in container.decode(v) if f.pts is not None]
        avg = Fraction(v.average_rate) if v.average_rate else None
        cc = v.codec_context
        assert v.time_base is not None
        report = StreamReport(pts=pts, time_base=Fraction(v.time_base), avg_rate=avg, width=cc.width,
                              height=cc.height, codec=cc.name, audio=[])
        n_audio = len(container.streams.audio)
    for i in range(n_audio):
        with av.open(os.fspath(path)) as container:
            stream = container.streams.audio[i]
            samples = sum(frame.samples for frame in container.decode(stream))
            rate = stream.codec_context.sample_rate
            report.audio.append((stream.codec_context.name, rate, samples / rate))
    return report
