"""Synthetic media: the ground truth of moving_scene is true; clips carry what they claim; the style image is bold."""

from __future__ import annotations

import cv2
import numpy as np
from media_fixtures import inspect_video

from synthetic import brush_painting, moving_scene, write_clip
from videostyle.media import probe


def _warp(image: np.ndarray, flow: tuple[float, float]) -> np.ndarray:
    h, w = image.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = grid_x + np.float32(flow[0]), grid_y + np.float32(flow[1])
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def test_offsets_are_the_backward_flow_outside_the_occluder():
    scene = moving_scene(12, (96, 64), cut_at=8)
    assert scene.frames.shape == (12, 64, 96, 3) and scene.frames.dtype == np.uint8
    for t in (1, 5, 10):  # not across the cut at 8
        delta = scene.offsets[t] - scene.offsets[t - 1]
        assert 0.5 < np.hypot(*delta) < 5  # really moving, sub-pixel amounts
        predicted = _warp(scene.frames[t - 1].astype(np.float32), tuple(delta))
        valid = np.zeros((64, 96), bool)
        valid[6:-6, 6:-6] = True
        for box in (scene.occluder_boxes[t], scene.occluder_boxes[t - 1]):
            x0, y0, x1, y1 = box
            valid[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2] = False
        err = np.abs(predicted - scene.frames[t])[valid].mean()
        wrong = np.abs(_warp(scene.frames[t - 1].astype(np.float32), tuple(-delta)) - scene.frames[t])[valid].mean()
        assert err < 4 and wrong > 2 * err


def test_occluder_is_drawn_where_the_boxes_say_and_the_cut_changes_content():
    scene = moving_scene(10, (96, 64), cut_at=5)
    x0, y0, x1, y1 = scene.occluder_boxes[3]
    patch = scene.frames[3, y0:y1, x0:x1].reshape(-1, 3)
    assert np.mean(np.all(patch == [230, 30, 40], axis=1)) > 0.3  # the red checker squares
    def compensated_error(t: int) -> float:  # frame t predicted from t-1 with the true motion
        predicted = _warp(scene.frames[t - 1].astype(np.float32), tuple(scene.offsets[t] - scene.offsets[t - 1]))
        return float(np.abs(predicted - scene.frames[t])[8:-8, 8:40].mean())  # left part: clear of the occluder

    assert compensated_error(6) < 5 and compensated_error(5) > 25


def test_write_clip_rotation_and_audio_flags(tmp_path):
    frames = moving_scene(6, (64, 48)).frames
    info = probe(write_clip(tmp_path / "r.mov", frames, rotation=270, audio=True))
    assert info.video.rotation == 270 and info.audio[0].codec == "aac"
    report = inspect_video(write_clip(tmp_path / "f.mkv", frames))
    assert report.codec == "ffv1" and report.audio[0][:2] == ("flac", 48000)
    assert abs(report.audio[0][2] - 6 / 24) < 1024 / 48000


def test_brush_painting_is_deterministic_colourful_and_not_flat():
    a, b = brush_painting((128, 96), seed=3), brush_painting((128, 96), seed=3)
    assert a.shape == (96, 128, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, brush_painting((128, 96), seed=4))
    r, g, bl = (a[..., i].astype(float) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - bl
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert colourfulness > 60  # "extremely colourful" on the Hasler-Suesstrunk scale; photos are ~20-50
    edges = cv2.Canny(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), 50, 150)
    assert edges.mean() / 255 > 0.08  # dense strokes
