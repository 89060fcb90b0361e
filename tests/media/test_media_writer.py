"""Writers (videostyle/media/writer/: open_writer, base.py): the writer of each output kind, the timestamps they
share, atomic output, path checks. Each kind's own behaviour: test_media_writer_{video,image,sequence,plate}.py."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from media_fixtures import CLIP_SIZE as SIZE
from media_fixtures import assert_only, inspect_video
from synthetic import moving_scene
from videostyle.errors import OutputError, OutputNotWritableError, UnsupportedOutputError
from videostyle.media import open_writer, probe, validate_output
from videostyle.media.writer import (
    FrameWriter, ImageWriter, PlateSequenceWriter, PlateWriter, SequenceWriter, VideoWriter,
)


@pytest.mark.parametrize(("name", "cls", "kind"), [
    ("out.mp4", VideoWriter, "video"), ("out.mov", VideoWriter, "video"), ("out.mkv", VideoWriter, "video"),
    ("still.png", ImageWriter, "image"), ("still.jpg", ImageWriter, "image"), ("still.tif", PlateWriter, "image"),
    ("still.exr", PlateWriter, "image"), ("seq/%05d.png", SequenceWriter, "sequence"),
    ("seq/", SequenceWriter, "sequence"), ("plate.####.exr", PlateSequenceWriter, "sequence"),
    ("plate.%04d.dpx", PlateSequenceWriter, "sequence"),
])
def test_open_writer_gives_the_writer_of_the_output_kind(tmp_path, scene, name, cls, kind):
    (tmp_path / "seq").mkdir()
    with open_writer(str(tmp_path / name), size=SIZE) as writer:
        assert type(writer) is cls and isinstance(writer, FrameWriter)
        assert writer.kind == kind and writer.is_plate == (cls in (PlateWriter, PlateSequenceWriter))
        writer.write(scene.frames[0])
    assert probe(writer.target).video.frames == 1  # each kind writes a readable output


def test_writer_spaces_frames_at_fps_without_pts(tmp_path):
    out = tmp_path / "plain.mp4"
    with open_writer(out, size=SIZE, fps=12) as writer:
        for image in moving_scene(6, SIZE).frames:
            writer.write(image)
    b = inspect_video(out)
    assert np.allclose(np.array(b.pts) * float(b.time_base), np.arange(6) / 12, atol=1e-4)
    assert b.audio == []


def test_duplicate_timestamps_are_nudged_not_fatal(tmp_path, scene):
    out = tmp_path / "dup.mkv"
    with open_writer(out, size=SIZE, fps=24) as writer:
        for i, ticks in enumerate([0, 1, 1, 3]):  # ticks in 1/24 s (the default time base at 24 fps)
            writer.write(scene.frames[i], pts_ticks=ticks)
        assert writer.pts_adjusted == 1
    assert np.allclose(np.array(inspect_video(out).pts) / 1000, [0, 1 / 24, 2 / 24, 3 / 24], atol=1e-3)


@pytest.mark.parametrize("ext", [".mp4", ".png", "/%05d.png"])
def test_exception_leaves_no_output(tmp_path, scene, ext):
    out = Path(str(tmp_path / "result") + ext)
    with pytest.raises(RuntimeError):
        with open_writer(out, size=SIZE, audio_from=None) as writer:
            writer.write(scene.frames[0])
            raise RuntimeError("stage failed")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_output_untouched_on_failure(tmp_path, scene, sources):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(RuntimeError):
        with open_writer(out, size=SIZE, audio_from=sources[".mp4"]) as writer:
            for image in scene.frames[:10]:
                writer.write(image)
            raise RuntimeError("boom")
    assert out.read_bytes() == b"previous result"
    assert_only(tmp_path, {"keep.mp4"})


def test_no_frames_written_is_an_error_and_leaves_nothing(tmp_path):
    out = tmp_path / "empty.mp4"
    with pytest.raises(OutputError, match="no frames"):
        with open_writer(out, size=SIZE):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("out.avi", UnsupportedOutputError, "unsupported output extension"),
        ("out.gif", UnsupportedOutputError, "unsupported output extension"),
        ("shots/%05d.jpg", UnsupportedOutputError, "PNG"),
        ("missing_dir/out.mp4", OutputNotWritableError, "does not exist"),
    ],
)
def test_bad_output_paths(tmp_path, name, error, words):
    target = tmp_path / name
    with pytest.raises(error, match=words) as info:
        open_writer(target, size=SIZE)
    message = str(info.value)
    assert "\n" not in message and str(target) in message
    assert list(tmp_path.iterdir()) == []


def test_codec_not_allowed_in_container(tmp_path):
    with pytest.raises(UnsupportedOutputError, match="ffv1 cannot be written to .mp4"):
        validate_output(tmp_path / "x.mp4", "ffv1")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_unwritable_output_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputNotWritableError, match="not writable"):
            open_writer(locked / "out.mp4", size=SIZE)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_unwritable_output_directory_via_file_parent(tmp_path):
    # Works as root too: the "directory" is a regular file.
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(OutputNotWritableError) as info:
        open_writer(blocker / "out.mp4", size=SIZE)
    assert str(blocker) in str(info.value)
    assert_only(tmp_path, {"not_a_dir"})


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux procfs (no one can create files there)")
@pytest.mark.parametrize("name", ["x.mp4", "x.png", "seq/%05d.png"])
def test_directory_refusing_files_fails_at_open(name):
    with pytest.raises(OutputNotWritableError, match="cannot write in") as info:
        open_writer(os.path.join("/proc", name), size=SIZE)
    assert "\n" not in str(info.value) and "/proc" in str(info.value)
