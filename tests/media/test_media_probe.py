"""Probe: stream facts, rotation, sizes, and every bad input mapped to its own one-line error."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from videostyle.errors import (
    EmptyInputError,
    InputIsDirectoryError,
    InputNotFoundError,
    NoFramesError,
    NoVideoStreamError,
    TruncatedMediaError,
    UnreadableMediaError,
    VideostyleError,
)
from videostyle.media import open_reader, probe, working_size
from media_fixtures import write_audio_only, write_zero_frame_video
from synthetic import moving_scene, write_clip

SIZE = (64, 48)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("probe") / "clip.mp4"
    return write_clip(path, moving_scene(24, SIZE).frames)


def test_probe_video_facts(clip):
    info = probe(clip)
    assert info.kind == "video" and "mp4" in info.container
    v = info.video
    assert (v.codec, v.width, v.height, v.display_width, v.display_height) == ("h264", 64, 48, 64, 48)
    assert v.fps == 24.0 and v.avg_rate == 24 and v.time_base == Fraction(1, 24000)
    assert v.frames == 24 and not v.frames_estimated
    assert v.duration == pytest.approx(1.0, abs=1e-3) and v.rotation == 0 and v.pix_fmt == "yuv420p"
    assert [(a.codec, a.sample_rate, a.channels) for a in info.audio] == [("aac", 48000, 1)]
    assert info.duration == pytest.approx(1.0, abs=0.03)


def test_to_dict_is_json_and_describe_is_text(clip):
    data = json.loads(json.dumps(info_dict := probe(clip).to_dict()))
    assert data == info_dict
    assert data["video"]["time_base"] == "1/24000" and data["video"]["frames"] == 24
    assert data["audio"][0]["codec"] == "aac"
    text = probe(clip).describe()
    assert text.endswith("\n") and "h264 64x48" in text and "aac 48000 Hz" in text


def test_matroska_frame_count_is_estimated(tmp_path):
    path = write_clip(tmp_path / "c.mkv", moving_scene(12, SIZE).frames, audio=False)
    v = probe(path).video
    assert v.frames == 12 and v.frames_estimated and v.time_base == Fraction(1, 1000)
    assert probe(path).audio == []


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_flag_is_read(tmp_path, rotation):
    path = write_clip(tmp_path / "r.mp4", moving_scene(4, SIZE).frames, rotation=rotation, audio=False)
    v = probe(path).video
    assert v.rotation == rotation
    assert (v.display_width, v.display_height) == ((48, 64) if rotation in (90, 270) else (64, 48))


@pytest.mark.parametrize(
    ("w", "h", "long_side", "expected"),
    [(1920, 1080, 384, (384, 216)), (1080, 1920, 384, (216, 384)), (640, 480, 160, (160, 120)),
     (321, 241, 100, (100, 76)), (100, 100, 33, (34, 34))],
)
def test_working_size(w, h, long_side, expected):
    got = working_size(w, h, long_side)
    assert got == expected
    assert got[0] % 2 == 0 and got[1] % 2 == 0
    assert abs(max(got) - long_side) <= 1


# --- bad inputs ---------------------------------------------------------------------------------------------------
def _truncated(tmp_path, clip):
    data = clip.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


def _no_moov(tmp_path, clip):
    # A file whose recording was interrupted: ftyp + mdat written, the 'moov' index never was.
    data = clip.read_bytes()
    moov = data.find(b"moov") - 4
    path = tmp_path / "nomoov.mp4"
    path.write_bytes(data[:moov])
    return path


def _directory(tmp_path, clip):
    (tmp_path / "d").mkdir()
    return tmp_path / "d"


def _write(name: str, data: bytes):
    def make(tmp_path, clip):
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    return make


BAD_INPUTS = {
    "missing": (lambda tmp, clip: tmp / "nope.mp4", InputNotFoundError, "no such file"),
    "directory": (_directory, InputIsDirectoryError, "directory"),
    "empty": (_write("e.mp4", b""), EmptyInputError, "empty"),
    "text": (_write("t.mp4", b"not a video\n" * 20), UnreadableMediaError, "not a media file"),
    "truncated": (_truncated, TruncatedMediaError, "truncated"),
    "no_moov": (_no_moov, TruncatedMediaError, "moov"),
    "audio_only": (lambda tmp, clip: write_audio_only(tmp / "a.mp4"), NoVideoStreamError, "no video stream"),
    "zero_frames": (lambda tmp, clip: write_zero_frame_video(tmp / "z.mkv"), NoFramesError, "no frames"),
    "bad_image": (_write("i.png", b"\x89PNG garbage"), UnreadableMediaError, "image"),
    "empty_pattern": (lambda tmp, clip: tmp / "shot" / "%05d.png", InputNotFoundError, "no image files"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_specific_one_line_error(tmp_path, clip, case):
    make, error, words = BAD_INPUTS[case]
    path = make(tmp_path, clip)
    for attempt in (lambda: probe(path), lambda: open_reader(path)):
        with pytest.raises(error) as info:
            attempt()
        message = str(info.value)
        assert isinstance(info.value, VideostyleError)
        assert "\n" not in message and str(path) in message and words in message.lower()
        assert "errno" not in message.lower()


def test_empty_range_is_no_frames(clip):
    with pytest.raises(NoFramesError, match="selected range"):
        open_reader(clip, start=5.0)


def test_sixteen_bit_image_probe(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "deep.png"), np.full((10, 12, 3), 40000, np.uint16))
    info = probe(tmp_path / "deep.png")
    assert info.kind == "image" and info.video.pix_fmt == "rgb48" and (info.video.width, info.video.height) == (12, 10)
