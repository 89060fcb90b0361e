"""Video outputs (videostyle/media/writer/video.py): round trips per codec, VFR, trimming with audio in sync,
fractional rates, what a container cannot hold."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from media_fixtures import AAC_FRAME, CLIP_FRAMES as FRAMES, CLIP_SIZE as SIZE
from media_fixtures import assert_only, copy_clip, inspect_video
from synthetic import moving_scene, write_clip
from videostyle.errors import UnsupportedOutputError
from videostyle.media import open_reader, open_writer


@pytest.mark.parametrize(("ext", "codec"), [(".mp4", "h264"), (".mov", "prores"), (".mkv", "ffv1")])
def test_round_trip_keeps_frames_timing_and_audio(tmp_path, sources, ext, codec):
    src = sources[ext]
    out = tmp_path / f"out{ext}"
    copy_clip(src, out)
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
    assert_only(tmp_path, {out.name})


def test_round_trip_pixels_are_close(tmp_path, sources, scene):
    out = tmp_path / "out.mkv"  # FFV1 is lossless: only the source's own yuv420p rounding remains
    copy_clip(sources[".mkv"], out)
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
    copy_clip(src, out)
    a, b = inspect_video(src), inspect_video(out)
    assert b.time_base == a.time_base
    assert b.pts == a.pts
    seconds = np.array(b.pts) * float(b.time_base)
    assert np.allclose(seconds, times, atol=float(b.time_base))
    assert len(set(np.round(np.diff(seconds), 4))) > 3  # still irregular


def test_trim_gives_the_right_frames_and_matching_audio(tmp_path, sources, scene):
    src = sources[".mp4"]
    out = tmp_path / "trim.mp4"
    copy_clip(src, out, start=1.0, duration=0.5)
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


def test_fractional_source_rate_kept(tmp_path):
    src = write_clip(tmp_path / "ntsc.mp4", moving_scene(10, SIZE).frames, fps=Fraction(30000, 1001), audio=False)
    out = tmp_path / "out.mp4"
    copy_clip(src, out)
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
    copy_clip(sources[".mp4"], out, max_frames=30)  # reader is trimmed: audio follows its range automatically
    b = inspect_video(out)
    assert len(b.pts) == 30
    assert abs(b.audio[0][2] - 30 / 24) <= AAC_FRAME + 1e-9


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_trimmed_audio_stays_in_sync_with_the_video(tmp_path, ext):
    """White noise makes the lag unambiguous: output audio at time t must be source audio at 1.0 + t."""
    import av

    noise = (np.random.default_rng(0).standard_normal(96000) * 0.2).astype(np.float32)
    src = write_clip(tmp_path / f"noise{ext}", moving_scene(48, SIZE).frames, audio_samples=noise)
    out = tmp_path / f"cut{ext}"
    copy_clip(src, out, start=1.0, duration=0.5)

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


def test_odd_size_h264_is_refused(tmp_path):
    with pytest.raises(UnsupportedOutputError, match="even dimensions"):
        open_writer(tmp_path / "x.mp4", size=(63, 48))
    assert list(tmp_path.iterdir()) == []
