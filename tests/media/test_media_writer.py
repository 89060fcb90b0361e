"""Writer: round trips per output codec, VFR, trimming with audio, image outputs, atomic output, path checks."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from videostyle.errors import OutputError, OutputNotWritableError, UnsupportedOutputError
from videostyle.media import open_reader, open_writer, probe, read_image, validate_output
from media_fixtures import inspect_video
from synthetic import moving_scene, write_clip

AAC_FRAME = 1024 / 48000  # one AAC audio frame at 48 kHz, in seconds
FRAMES, SIZE = 48, (64, 48)  # 2 s at 24 fps


@pytest.fixture(scope="module")
def scene():
    return moving_scene(FRAMES, SIZE, cut_at=24)


@pytest.fixture(scope="module")
def sources(tmp_path_factory, scene):
    """One generated clip (with a tone) per container: the round trip of each codec stays in its container."""
    root = tmp_path_factory.mktemp("src")
    return {ext: write_clip(root / f"clip{ext}", scene.frames) for ext in (".mp4", ".mov", ".mkv")}


def _copy(src: Path, dst: Path, **reader_kw) -> None:
    with open_reader(src, **reader_kw) as reader, open_writer(dst, like=reader, audio_from=src) as writer:
        for frame in reader:
            writer.write(frame.image, pts_ticks=frame.pts_ticks, duration_ticks=frame.duration_ticks)


def _no_leftovers(directory: Path, keep: set[str]) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(keep)


@pytest.mark.parametrize(("ext", "codec"), [(".mp4", "h264"), (".mov", "prores"), (".mkv", "ffv1")])
def test_round_trip_keeps_frames_timing_and_audio(tmp_path, sources, ext, codec):
    src = sources[ext]
    out = tmp_path / f"out{ext}"
    _copy(src, out)
    a, b = inspect_video(src), inspect_video(out)
    assert b.codec == {"h264": "h264", "prores": "prores", "ffv1": "ffv1"}[codec]
    assert len(b.pts) == len(a.pts) == FRAMES
    assert b.time_base == a.time_base
    assert b.avg_rate == a.avg_rate == 24
    assert np.max(np.abs(np.array(b.pts) - np.array(a.pts))) <= 1
    assert len(b.audio) == len(a.audio) == 1
    (ca, ra, da), (cb, rb, db) = a.audio[0], b.audio[0]
    assert (cb, rb) == (ca, ra)
    assert abs(db - da) <= AAC_FRAME + 1e-9
    _no_leftovers(tmp_path, {out.name})


def test_round_trip_pixels_are_close(tmp_path, sources, scene):
    out = tmp_path / "out.mkv"  # FFV1 is lossless: only the source's own yuv420p rounding remains
    _copy(sources[".mkv"], out)
    with open_reader(sources[".mkv"]) as ra, open_reader(out) as rb:
        for fa, fb in zip(ra, rb, strict=True):
            assert np.abs(fa.image.astype(int) - fb.image.astype(int)).max() <= 2
    with open_reader(out, max_frames=1) as reader:
        first = next(reader).image
    assert np.abs(first.astype(float) - scene.frames[0]).mean() < 6  # and it is the scene, not garbage


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_vfr_stays_vfr_with_the_same_pts(tmp_path, ext):
    times = [0.0, 0.04, 0.1, 0.12, 0.2, 0.31, 0.33, 0.5, 0.52, 0.6]
    src = write_clip(tmp_path / f"vfr{ext}", moving_scene(len(times), SIZE).frames, vfr_pts=times)
    out = tmp_path / f"out{ext}"
    _copy(src, out)
    a, b = inspect_video(src), inspect_video(out)
    assert b.time_base == a.time_base
    assert b.pts == a.pts
    seconds = np.array(b.pts) * float(b.time_base)
    assert np.allclose(seconds, times, atol=float(b.time_base))
    assert len(set(np.round(np.diff(seconds), 4))) > 3  # still irregular


def test_trim_gives_the_right_frames_and_matching_audio(tmp_path, sources, scene):
    src = sources[".mp4"]
    out = tmp_path / "trim.mp4"
    _copy(src, out, start=1.0, duration=0.5)
    b = inspect_video(out)
    assert len(b.pts) == 12  # frames 24..35 at 24 fps
    assert b.pts[0] == 0  # the output timeline starts at 0 (video and audio shifted together)
    assert np.allclose(np.array(b.pts) * float(b.time_base), np.arange(12) / 24, atol=1e-4)
    assert abs(b.audio[0][2] - 0.5) <= AAC_FRAME + 1e-9
    with open_reader(out) as reader:
        frames = [f.image for f in reader]
    # The first kept frame is source frame 24 (first frame after the cut), not frame 0 or 23.
    err = [np.abs(frames[0].astype(float) - scene.frames[i]).mean() for i in (22, 23, 24, 25)]
    assert int(np.argmin(err)) == 2


def test_writer_spaces_frames_at_fps_without_pts(tmp_path):
    out = tmp_path / "plain.mp4"
    with open_writer(out, size=SIZE, fps=12) as writer:
        for image in moving_scene(6, SIZE).frames:
            writer.write(image)
    b = inspect_video(out)
    assert np.allclose(np.array(b.pts) * float(b.time_base), np.arange(6) / 12, atol=1e-4)
    assert b.audio == []


def test_image_sequence_outputs_8_and_16_bit(tmp_path, sources):
    for codec, dtype in (("png", np.uint8), ("png16", np.uint16)):
        pattern = tmp_path / codec / "%05d.png"
        with open_reader(sources[".mkv"], max_frames=5) as reader, open_writer(pattern, like=reader,
                                                                               codec=codec) as writer:
            frames = [f.image for f in reader]
            for image in frames:
                writer.write(image)
        names = sorted(os.listdir(tmp_path / codec))
        assert names == [f"{i:05d}.png" for i in range(1, 6)]
        import cv2

        raw = cv2.imread(str(tmp_path / codec / names[0]), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == dtype
        info = probe(pattern)
        assert info.kind == "sequence" and info.video.frames == 5
        with open_reader(tmp_path / codec) as reader:
            back = [f.image for f in reader]
        assert all(np.array_equal(x, y) for x, y in zip(frames, back, strict=True))
    _no_leftovers(tmp_path, {"png", "png16"})


def test_uint16_frames_make_16_bit_pngs(tmp_path):
    image = (np.arange(48 * 64 * 3, dtype=np.uint32).reshape(48, 64, 3) * 7 % 65536).astype(np.uint16)
    with open_writer(str(tmp_path / "seq") + os.sep, size=SIZE) as writer:  # a directory-style path
        writer.write(image)
    import cv2

    raw = cv2.imread(str(tmp_path / "seq" / "00001.png"), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and np.array_equal(raw[:, :, ::-1], image)


def test_single_image_output(tmp_path, scene):
    out = tmp_path / "still.png"
    with open_writer(out, size=SIZE) as writer:
        writer.write(scene.frames[3])
        assert not out.exists()  # only renamed into place on close
        with pytest.raises(UnsupportedOutputError, match="one frame"):
            writer.write(scene.frames[4])
    assert np.array_equal(read_image(out), scene.frames[3])
    _no_leftovers(tmp_path, {"still.png"})


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
    _no_leftovers(tmp_path, {"keep.mp4"})


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


def test_odd_size_h264_is_refused(tmp_path):
    with pytest.raises(UnsupportedOutputError, match="even dimensions"):
        open_writer(tmp_path / "x.mp4", size=(63, 48))
    assert list(tmp_path.iterdir()) == []


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
    _no_leftovers(tmp_path, {"not_a_dir"})


def test_fractional_source_rate_kept(tmp_path):
    src = write_clip(tmp_path / "ntsc.mp4", moving_scene(10, SIZE).frames, fps=Fraction(30000, 1001), audio=False)
    out = tmp_path / "out.mp4"
    _copy(src, out)
    a, b = inspect_video(src), inspect_video(out)
    assert b.avg_rate == a.avg_rate == Fraction(30000, 1001)
    assert b.pts == a.pts


def test_audio_the_container_cannot_hold_fails_before_work(tmp_path, sources):
    out = tmp_path / "out.mov"  # FLAC (from the .mkv source) cannot go into QuickTime
    with pytest.raises(UnsupportedOutputError, match=r"audio \(flac\) in \.mov") as info:
        open_writer(out, size=SIZE, audio_from=sources[".mkv"])
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_max_frames_trim_cuts_audio_to_the_video(tmp_path, sources):
    out = tmp_path / "head.mkv"
    _copy(sources[".mp4"], out, max_frames=30)  # reader is trimmed: audio follows its range automatically
    b = inspect_video(out)
    assert len(b.pts) == 30
    assert abs(b.audio[0][2] - 30 / 24) <= AAC_FRAME + 1e-9


def test_rewriting_a_sequence_removes_stale_frames_and_keeps_other_files(tmp_path, scene):
    out_dir = tmp_path / "frames"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("keep me")
    for count in (6, 3):
        with open_writer(out_dir / "%05d.png", size=SIZE) as writer:
            for image in scene.frames[:count]:
                writer.write(image)
    assert sorted(os.listdir(out_dir)) == ["00001.png", "00002.png", "00003.png", "notes.txt"]


def test_duplicate_timestamps_are_nudged_not_fatal(tmp_path, scene):
    out = tmp_path / "dup.mkv"
    with open_writer(out, size=SIZE, fps=24) as writer:
        for i, ticks in enumerate([0, 1, 1, 3]):  # ticks in 1/24 s (the default time base at 24 fps)
            writer.write(scene.frames[i], pts_ticks=ticks)
        assert writer.pts_adjusted == 1
    assert np.allclose(np.array(inspect_video(out).pts) / 1000, [0, 1 / 24, 2 / 24, 3 / 24], atol=1e-3)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux procfs (no one can create files there)")
@pytest.mark.parametrize("name", ["x.mp4", "x.png", "seq/%05d.png"])
def test_directory_refusing_files_fails_at_open(name):
    with pytest.raises(OutputNotWritableError, match="cannot write in") as info:
        open_writer(os.path.join("/proc", name), size=SIZE)
    assert "\n" not in str(info.value) and "/proc" in str(info.value)


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_trimmed_audio_stays_in_sync_with_the_video(tmp_path, ext):
    """White noise makes the lag unambiguous: output audio at time t must be source audio at 1.0 + t."""
    import av

    noise = (np.random.default_rng(0).standard_normal(96000) * 0.2).astype(np.float32)
    src = write_clip(tmp_path / f"noise{ext}", moving_scene(48, SIZE).frames, audio_samples=noise)
    out = tmp_path / f"cut{ext}"
    _copy(src, out, start=1.0, duration=0.5)

    def decoded(path):
        with av.open(str(path)) as container:
            frames = list(container.decode(audio=0))
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]), float(frames[0].pts * frames[0].time_base)

    source, _ = decoded(src)
    result, first_time = decoded(out)
    probe_seg = result[2000:6800].astype(np.float64)
    window = source[40000:62000].astype(np.float64)
    found = (40000 + int(np.argmax(np.correlate(window, probe_seg, "valid"))) - 2000) / 48000
    # result sample 0 plays at first_time on the output clock; it holds source audio from `found` s
    assert found - first_time == pytest.approx(1.0, abs=0.002)  # video frame 0 is source 1.0 s: in sync
    assert first_time < 0.1  # and the audio starts with the video (within one packet)
