"""Reader: frames, timestamps, trimming, resizing, rotation, image sequences and images, streaming memory."""

from __future__ import annotations

import gc
from fractions import Fraction

import numpy as np
import pytest

from synthetic import moving_scene, write_clip
from videostyle.media import open_reader, write_image

SIZE = (64, 48)


@pytest.fixture(scope="module")
def scene():
    return moving_scene(48, SIZE, cut_at=24)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, scene):
    return write_clip(tmp_path_factory.mktemp("reader") / "clip.mkv", scene.frames, audio=False)


def test_frames_are_rgb_uint8_with_index_and_pts(clip, scene):
    with open_reader(clip) as reader:
        assert reader.size == SIZE and reader.fps == 24.0 and reader.time_base == Fraction(1, 1000)
        frames = list(reader)
    assert len(frames) == 48
    assert [f.index for f in frames] == list(range(48))
    assert np.allclose([f.pts for f in frames], np.arange(48) / 24, atol=1e-3)
    assert [f.pts_ticks for f in frames] == [round(i * 1000 / 24) for i in range(48)]
    for f, truth in zip(frames, scene.frames, strict=True):
        assert f.image.dtype == np.uint8 and f.image.shape == (48, 64, 3) and f.image.flags.c_contiguous
        assert np.abs(f.image.astype(float) - truth).mean() < 6  # RGB order and content right (yuv420p only)


def test_trim_by_start_and_duration(clip, scene):
    with open_reader(clip, start=1.0, duration=0.5) as reader:
        assert reader.start_pts == pytest.approx(1.0)
        frames = list(reader)
    assert [f.index for f in frames] == list(range(12))
    assert np.allclose([f.pts for f in frames], 1.0 + np.arange(12) / 24, atol=1e-3)
    assert np.abs(frames[0].image.astype(float) - scene.frames[24]).mean() < 6


def test_trim_start_between_frames_and_max_frames(clip):
    with open_reader(clip, start=0.51, max_frames=3) as reader:
        frames = list(reader)
    # 0.51 s falls between frames 12 (0.5) and 13 (0.5417): the first kept frame is 13
    assert [round(f.pts * 24) for f in frames] == [13, 14, 15]
    assert [f.index for f in frames] == [0, 1, 2]


def test_resize_to_working_size(clip):
    with open_reader(clip, size=(32, 24), max_frames=2) as reader:
        assert reader.size == (32, 24)
        assert next(reader).image.shape == (24, 32, 3)


@pytest.mark.parametrize(("rotation", "corner"), [(90, "top_right"), (180, "bottom_right"), (270, "bottom_left")])
def test_rotated_clip_decodes_upright(tmp_path, rotation, corner):
    stored = np.full((48, 64, 3), 40, np.uint8)
    stored[:10, :10] = (255, 255, 255)  # marker in the stored top-left corner
    path = write_clip(tmp_path / "rot.mp4", [stored] * 3, rotation=rotation, audio=False)
    with open_reader(path) as reader:
        image = next(reader).image
        expected_shape = (64, 48, 3) if rotation in (90, 270) else (48, 64, 3)
        assert image.shape == expected_shape and reader.size == (expected_shape[1], expected_shape[0])
    corners = {
        "top_left": image[:8, :8], "top_right": image[:8, -8:],
        "bottom_left": image[-8:, :8], "bottom_right": image[-8:, -8:],
    }
    assert corners.pop(corner).mean() > 200
    assert all(c.mean() < 80 for c in corners.values())


def test_image_sequence_pattern_and_directory_natural_order(tmp_path):
    images = [np.full((8, 10, 3), 20 * i, np.uint8) for i in range(12)]
    (tmp_path / "pat").mkdir()
    (tmp_path / "dir").mkdir()
    for i, image in enumerate(images):
        write_image(tmp_path / "pat" / f"{i + 1:04d}.png", image)
        write_image(tmp_path / "dir" / f"f{i}.png", image)  # f10 must come after f9
    (tmp_path / "dir" / "notes.txt").write_text("ignored")
    for spec in (tmp_path / "pat" / "%04d.png", tmp_path / "dir"):
        with open_reader(spec) as reader:
            frames = list(reader)
        assert [int(f.image[0, 0, 0]) for f in frames] == [20 * i for i in range(12)]
        assert np.allclose([f.pts for f in frames], np.arange(12) / 24)
    with open_reader(tmp_path / "dir", start=0.25, duration=0.125) as reader:
        assert [int(f.image[0, 0, 0]) // 20 for f in reader] == [6, 7, 8]


def test_single_image_and_gray_16bit(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "g.png"), (np.arange(60, dtype=np.uint16).reshape(6, 10) * 1000))
    with open_reader(tmp_path / "g.png") as reader:
        frames = list(reader)
    assert len(frames) == 1 and frames[0].index == 0 and frames[0].pts == 0.0
    image = frames[0].image
    assert image.dtype == np.uint8 and image.shape == (6, 10, 3)
    assert image[0, 1, 0] == round(1000 / 257) and np.all(image[..., 0] == image[..., 2])


def _rss() -> int:
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss


def test_streaming_memory_is_constant(tmp_path):
    """Decoding 300 frames at 320×240 grows RSS by far less than holding them (69 MB) would."""
    frames = moving_scene(16, (320, 240), occluder=False).frames
    path = write_clip(tmp_path / "long.mp4", (frames[i % 16] for i in range(300)), audio=False)
    with open_reader(path) as reader:
        for _ in range(20):
            next(reader)  # warm up decoder threads and buffers
        before = _rss()
        count = 20 + sum(1 for _ in reader)
        grown = _rss() - before
    assert count == 300
    assert grown < 50 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB"


@pytest.mark.parametrize("start", [0.04, 1.0, 1.3])
def test_trim_seeks_to_a_key_frame_and_decodes_forward_exactly(tmp_path_factory, start):
    path = tmp_path_factory.getbasetemp() / "gop7.mp4"
    if not path.exists():
        write_clip(path, moving_scene(60, SIZE).frames, gop=7, preset="medium", audio=False)  # B-frames too
    with open_reader(path) as reader:
        full = list(reader)
    with open_reader(path, start=start, duration=0.5) as reader:
        trimmed = list(reader)
    first = int(np.ceil(start * 24 - 1e-6))
    assert [round(f.pts * 24) for f in trimmed] == list(range(first, first + 12))
    for frame in trimmed:
        assert np.array_equal(frame.image, full[round(frame.pts * 24)].image)
