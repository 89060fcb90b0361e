"""Plate outputs (videostyle/media/writer/plate.py): one plate or numbered plates written with OpenImageIO; the
colour, alpha and storage round trips with the reader are in test_media_plates.py."""

from __future__ import annotations

import os

import numpy as np
import pytest

from plate_files import read
from videostyle.errors import UnsupportedOutputError
from videostyle.media import open_writer

H, W = 24, 32


def _picture(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def test_a_single_plate_takes_one_frame_and_names_the_plate_sequence_instead(tmp_path):
    out = tmp_path / "still.exr"
    with open_writer(out, size=(W, H)) as writer:
        writer.write(_picture(0))
        with pytest.raises(UnsupportedOutputError, match=r"dir/plate\.####\.exr"):
            writer.write(_picture(1))
    pixels, spec = read(out)
    assert (spec.width, spec.height, spec.nchannels) == (W, H, 3)
    assert os.listdir(tmp_path) == ["still.exr"]


def test_plates_are_named_by_the_numbers_written_and_keep_the_alpha(tmp_path):
    alpha = np.linspace(0.0, 1.0, H * W, dtype=np.float32).reshape(H, W)
    with open_writer(tmp_path / "out.####.exr", size=(W, H)) as writer:
        for n in (1001, 1002, 1003):
            writer.write(_picture(n), number=n, alpha=alpha)
    assert sorted(os.listdir(tmp_path)) == ["out.1001.exr", "out.1002.exr", "out.1003.exr"]
    pixels, spec = read(tmp_path / "out.1002.exr")
    assert list(spec.channelnames) == ["R", "G", "B", "A"]
    np.testing.assert_allclose(pixels[..., 3], alpha, atol=1e-3)  # half float
    assert np.all(pixels[..., :3] <= pixels[..., 3:] + 1e-3)  # premultiplied: colour no brighter than alpha
