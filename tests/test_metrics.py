"""Warping error (Lai et al.): zero for a perfectly stable clip, high for flicker, exact on a hand-made pair."""

from __future__ import annotations

import numpy as np
import pytest

from videostyle.media import synthetic
from videostyle.metrics import pair_warping_error, warping_errors


@pytest.fixture(scope="module")
def scene():
    return synthetic.moving_scene(frames=6, size=(96, 64), occluder=False)


def test_stylised_equal_to_input_matches_the_input_floor(scene):
    frames = list(scene.frames)
    result, floor = warping_errors(frames, frames, offsets=(1, 2))
    assert result.mean(1) == pytest.approx(floor.mean(1))
    assert result.mean(2) == pytest.approx(floor.mean(2))
    assert floor.mean(1) < 0.01  # the input itself moves consistently with its own flow


def test_identical_static_frames_give_zero(scene):
    frames = [scene.frames[0]] * 4
    result, floor = warping_errors(frames, frames)
    assert result.mean(1) == pytest.approx(0.0, abs=1e-9)
    assert floor.mean(1) == pytest.approx(0.0, abs=1e-9)


def test_independent_noise_per_frame_is_high(scene):
    rng = np.random.default_rng(0)
    noisy = [rng.integers(0, 256, f.shape, dtype=np.uint8) for f in scene.frames]
    result, floor = warping_errors(list(scene.frames), noisy)
    assert result.mean(1) > 0.3  # ~ 3 channels × 2·var(U[0,1]) = 0.5
    assert result.mean(1) > 50 * floor.mean(1)


def test_hand_computed_pair():
    prev = np.zeros((16, 16, 3), np.float32)
    cur = np.zeros((16, 16, 3), np.float32)
    cur[:8] = 0.5                      # top half differs by 0.5 in each channel
    flow = np.zeros((16, 16, 2), np.float32)
    mask = np.zeros((16, 16), np.float32)
    mask[:, :4] = 1.0                  # 64 reliable pixels, 32 of them in the top half
    expected = (32 * 3 * 0.25) / 64
    assert pair_warping_error(cur, prev, flow, mask) == pytest.approx(expected, abs=1e-6)


def test_pairs_across_a_cut_are_skipped():
    scene = synthetic.moving_scene(frames=6, size=(96, 64), cut_at=3, occluder=False)
    frames = list(scene.frames)
    result, _floor = warping_errors(frames, frames, shot_starts=[0, 3])
    per_frame = result.per_frame[1]
    assert np.isnan(per_frame[0]) and np.isnan(per_frame[3])
    assert not np.isnan(per_frame[4])


def test_metrics_cli_json_and_bad_input(tmp_path):
    import json
    import subprocess
    import sys

    scene = synthetic.moving_scene(frames=6, size=(96, 64), occluder=False)
    clip = synthetic.write_clip(tmp_path / "a.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    done = subprocess.run([sys.executable, "-m", "videostyle", "metrics", str(clip), str(clip), "--json",
                           "--offsets", "1", "--plot", str(tmp_path / "we.png")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["warping_error"]["1"]["mean"] == pytest.approx(report["input_warping_error"]["1"]["mean"])
    assert (tmp_path / "we.png").stat().st_size > 1000
    bad = subprocess.run([sys.executable, "-m", "videostyle", "metrics", str(clip), str(tmp_path / "nope.mp4")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "nope.mp4" in bad.stderr and "Traceback" not in bad.stderr
