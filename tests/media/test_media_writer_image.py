"""Single image outputs (videostyle/media/writer/image.py): one frame, renamed into place on close."""

from __future__ import annotations

import numpy as np
import pytest

from media_fixtures import CLIP_SIZE as SIZE
from media_fixtures import assert_only
from videostyle.errors import UnsupportedOutputError
from videostyle.media import open_writer, read_image


def test_single_image_output(tmp_path, scene):
    out = tmp_path / "still.png"
    with open_writer(out, size=SIZE) as writer:
        writer.write(scene.frames[3])
        assert not out.exists()  # only renamed into place on close
        with pytest.raises(UnsupportedOutputError, match="one frame"):
            writer.write(scene.frames[4])
    assert np.array_equal(read_image(out), scene.frames[3])
    assert_only(tmp_path, {"still.png"})
