"""Warping error (Lai et al.): zero for a perfectly stable clip, high for flicker, exact on a hand-made pair and, with
Lai's occlusion-only mask, on a moving edge against the formula written out here."""

from __future__ import annotations

import numpy as np
import pytest

import synthetic
from videostyle.metrics import pair_warping_error, warping_errors


@pytest.fixture(scope="module")
def scene():
    return synthetic.moving_scene(frames=6, size=(96, 64), occluder=False)


def test_stylised_equal_to_input_matches_the_input_floor(scene):
    frames = list(scene.frames)
    errors = warping_errors(frames, frames, offsets=(1, 2))
    result, floor = errors["warping_error"], errors["input_warping_error"]
    assert result.mean(1) == pytest.approx(floor.mean(1))
    assert result.mean(2) == pytest.approx(floor.mean(2))
    assert floor.mean(1) < 0.01  # the input itself moves consistently with its own flow


def test_identical_static_frames_give_zero(scene):
    frames = [scene.frames[0]] * 4
    for error in warping_errors(frames, frames).values():
        assert error.mean(1) == pytest.approx(0.0, abs=1e-9)


def test_independent_noise_per_frame_is_high(scene):
    rng = np.random.default_rng(0)
    noisy = [rng.integers(0, 256, f.shape, dtype=np.uint8) for f in scene.frames]
    errors = warping_errors(list(scene.frames), noisy)
    result, floor = errors["warping_error"], errors["input_warping_error"]
    assert result.mean(1) > 0.1  # ~ 2·var(U[0,1]) = 1/6 in each channel
    assert result.mean(1) > 50 * floor.mean(1)


def test_hand_computed_pair():
    prev = np.zeros((16, 16, 3), np.float32)
    cur = np.zeros((16, 16, 3), np.float32)
    cur[:8] = (0.5, 0.0, 0.2)          # top half differs by 0.5, 0 and 0.2 in the three channels
    flow = np.zeros((16, 16, 2), np.float32)
    mask = np.zeros((16, 16), np.float32)
    mask[:, :4] = 1.0                  # 64 reliable pixels, 32 of them in the top half
    expected = 32 * (0.25 + 0.0 + 0.04) / 3 / 64  # the mean over channels and reliable pixels
    assert pair_warping_error(cur, prev, flow, mask) == pytest.approx(expected, abs=1e-6)


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    import cv2

    noise = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 1.5)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (40 + 175 * noise).astype(np.uint8)


def _lai_by_hand(out_t: np.ndarray, out_prev: np.ndarray, bwd: np.ndarray, fwd: np.ndarray) -> float:
    """Lai et al.'s E_warp of one pair written out: the non-occlusion mask of the forward-backward check (Sundaram
    et al.'s thresholds) of pixels sampled inside the frame; the squared difference averaged over them and RGB."""
    import cv2

    h, w = bwd.shape[:2]
    map_x = (np.arange(w, dtype=np.float32)[None, :] + bwd[..., 0]).astype(np.float32)
    map_y = (np.arange(h, dtype=np.float32)[:, None] + bwd[..., 1]).astype(np.float32)
    fwd_at = cv2.remap(fwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    occluded = ((fwd_at + bwd) ** 2).sum(-1) > 0.01 * ((fwd_at ** 2).sum(-1) + (bwd ** 2).sum(-1)) + 0.5
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    m = (inside & ~occluded).astype(np.float64)
    warped = cv2.remap(out_prev, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) / 255.0
    return float((((out_t / 255.0 - warped) ** 2) * m[..., None]).sum() / (3 * m.sum()))


def test_a_moving_edge_is_measured_with_lais_occlusion_only_mask():
    """A textured block moves 3 px a frame over a still background; the 'stylisation' flickers only in a band along
    the block's edge, where a temporal chain errs. Lai's mask keeps the band's pixels the flow can carry, the
    boundary-masked variant drops them: the reported figure is Lai's, computed by hand."""
    from videostyle import flow as flowlib

    rng = np.random.default_rng(7)
    h, w, side, step = 64, 96, 24, 3
    background, block = _texture(rng, h, w), _texture(rng, side, side)
    frames, outputs = [], []
    for t in range(4):
        x0, y0 = 20 + step * t, 20
        frame = background.copy()
        frame[y0:y0 + side, x0:x0 + side] = block
        edge = np.zeros((h, w), bool)
        edge[y0 - 2:y0 + side + 2, x0 - 2:x0 + side + 2] = True
        edge[y0 + 2:y0 + side - 2, x0 + 2:x0 + side - 2] = False
        flicker = rng.normal(0, 40, frame.shape) * edge[..., None]
        frames.append(frame)
        outputs.append(np.clip(frame + flicker, 0, 255).astype(np.uint8))

    errors = warping_errors(frames, outputs)
    est = flowlib.FlowEstimator("dis-medium")
    by_hand, kept, dropped = [], 0, 0
    for t in range(1, 4):
        bwd, fwd, boundary_mask = est.pair(frames[t], frames[t - 1])
        by_hand.append(_lai_by_hand(outputs[t], outputs[t - 1], bwd, fwd))
        occlusion_only = flowlib.consistency_mask(bwd, fwd, boundaries=False)
        kept += int(occlusion_only.sum())
        dropped += int((occlusion_only > boundary_mask).sum())
    assert dropped > 0.02 * kept  # the two masks differ along the edge
    assert errors["warping_error"].mean(1) == pytest.approx(np.mean(by_hand), rel=1e-6)
    assert errors["warping_error_boundary_masked"].mean(1) < 0.7 * errors["warping_error"].mean(1)


def test_pairs_across_a_cut_are_skipped():
    scene = synthetic.moving_scene(frames=6, size=(96, 64), cut_at=3, occluder=False)
    frames = list(scene.frames)
    per_frame = warping_errors(frames, frames, shot_starts=[0, 3])["warping_error"].per_frame[1]
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


# --- moving-content stylisation ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def entering():
    """A slow camera over a photo while a textured subject (a photo crop) enters from the left."""
    return synthetic.moving_scene(frames=8, size=(128, 96), photo_name="coffee", velocity=(0.4, 0.1), wobble=0.2,
                                  occluder_size=(40, 48), occluder_velocity=(9.0, 0.3), occluder_start=(-0.3, 0.3),
                                  subject="chelsea")


def _truth(scene, t):
    x0, y0, x1, y1 = scene.occluder_boxes[t]
    box = np.zeros(scene.frames.shape[1:3], bool)
    box[y0:y1, x0:x1] = True
    return box


def _painted(frame: np.ndarray) -> np.ndarray:
    """Every pixel moved by exactly 60 levels: a 'stylisation' of uniform strength."""
    f = frame.astype(np.int16)
    return np.where(f < 128, f + 60, f - 60).astype(np.uint8)


def test_moving_region_finds_the_entering_subject(entering):
    from videostyle import flow as flowlib
    from videostyle.metrics import moving_region

    est = flowlib.FlowEstimator("dis-medium")
    for t in range(2, 8):
        bwd, _fwd, mask = est.pair(entering.frames[t], entering.frames[t - 1])
        region, truth = moving_region(bwd, mask), _truth(entering, t)
        inter = (region & truth).sum()
        assert inter / truth.sum() > 0.7          # most of the subject is found
        assert region.sum() < 4 * truth.sum()     # not the whole frame: the subject, what it uncovers, a halo
        assert not region[4:-4, 100:120].any()    # the background ahead of it (off the frame edges) is static


def test_moving_stylization_scores_uniform_one_and_unpainted_subject_low(entering):
    from videostyle.metrics import MovingStylization

    frames = list(entering.frames)
    uniform = [_painted(f) for f in frames]
    cutout = [np.where(_truth(entering, t)[..., None], f, _painted(f)) for t, f in enumerate(frames)]
    scores = {}
    for name, outs in (("uniform", uniform), ("cutout", cutout)):
        moving = MovingStylization()
        warping_errors(frames, outs, moving=moving)
        scores[name] = moving.to_dict()
    assert scores["uniform"]["ratio"] == pytest.approx(1.0, abs=0.01)
    assert scores["cutout"]["ratio"] < 0.6  # the subject is ~half the moving region (plus what it uncovers)
    assert scores["uniform"]["per_frame"][0] is None  # no pair for the first frame
    assert 0.05 < scores["uniform"]["moving_share"] < 0.5


# --- alignment of a partial result with its full source --------------------------------------------------------

def _copy_range(src_path, out_path, *, start=None, max_frames=None):
    """A 'stylised' clip that is the source's own frames over a range, written as the engine writes results."""
    from videostyle import media

    with media.open_reader(src_path, start=start, max_frames=max_frames) as reader:
        frames = list(reader)
    with media.open_writer(out_path, like=reader.info, size=reader.size, codec="ffv1",
                           source_start=frames[0].pts) as writer:
        for f in frames:
            writer.write(f.image, pts_ticks=f.pts_ticks)
    return len(frames)


def test_metrics_align_a_trimmed_result_by_its_timestamps(tmp_path):
    from videostyle.metrics import measure_clips

    scene = synthetic.moving_scene(frames=24, size=(96, 64), occluder=False)
    clip = synthetic.write_clip(tmp_path / "src.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    n = _copy_range(clip, tmp_path / "part.mkv", start=0.5)  # frames 12…23
    m = measure_clips(str(clip), str(tmp_path / "part.mkv"), offsets=(1,), detect_cuts=False)
    assert m["frames"] == n == 12 and m["source_start"] == pytest.approx(0.5)
    # the same frames at the same times: the result's warping error is the input's own
    assert m["warping_error"]["1"]["mean"] == pytest.approx(m["input_warping_error"]["1"]["mean"], rel=1e-6)
    # and each is paired with itself (lossless copies): no difference anywhere, where frames 0… would differ
    assert m["moving_stylization"]["static_mean"] == pytest.approx(0.0, abs=1e-9)
    assert np.abs(scene.frames[0].astype(int) - scene.frames[12]).mean() > 5

    n = _copy_range(clip, tmp_path / "head.mkv", max_frames=5)  # --max-frames: shorter, from the start
    m = measure_clips(str(clip), str(tmp_path / "head.mkv"), offsets=(1,), detect_cuts=False)
    assert m["frames"] == 5 and m["moving_stylization"]["static_mean"] == pytest.approx(0.0, abs=1e-9)


def test_metrics_align_a_frame_folder_from_the_first_frame(tmp_path):
    from videostyle import media
    from videostyle.metrics import measure_clips

    scene = synthetic.moving_scene(frames=8, size=(96, 64), occluder=False)
    clip = synthetic.write_clip(tmp_path / "src.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    folder = tmp_path / "frames"
    folder.mkdir()
    with media.open_reader(clip, max_frames=6) as reader:
        for frame in reader:
            media.write_image(folder / f"{frame.index + 1:04d}.png", frame.image)
    m = measure_clips(str(clip), str(folder / "%04d.png"), offsets=(1,), detect_cuts=False)
    assert m["frames"] == 6 and m["source_start"] == 0.0
    assert m["moving_stylization"]["static_mean"] == pytest.approx(0.0, abs=1e-9)
