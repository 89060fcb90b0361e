"""Keyframe strokes carried along the flow (fast/carry.py): they move with the content they paint, from both ends
of a segment; new content that no keyframe saw gets the student's own picture, not another thing's strokes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from videostyle.fast.carry import Chain, carry_segment, detail_of
from videostyle.flow import FlowEstimator

H, W, SPEED, N = 64, 96, 2, 8  # a camera panning right by 2 px a frame, 8 frames between keyframes


@pytest.fixture(scope="module")
def world() -> tuple[np.ndarray, np.ndarray]:
    """A photo wider than the frame, and a stroke pattern painted on it (fixed to the scene)."""
    photo = cv2.resize(data.astronaut(), (W + SPEED * N + 32, H + 16), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    strokes = cv2.GaussianBlur(rng.normal(0, 40, photo.shape).astype(np.float32), (0, 0), 1.5) * 3
    return photo, strokes


def _view(image: np.ndarray, t: int) -> np.ndarray:
    return image[8:8 + H, 16 + SPEED * t:16 + SPEED * t + W]


def _painted(photo: np.ndarray, strokes: np.ndarray, t: int) -> np.ndarray:
    return np.clip(_view(photo, t).astype(np.float32) + _view(strokes, t), 0, 255).astype(np.uint8)


def _flows(frames: list[np.ndarray]) -> list:
    estimator = FlowEstimator("dis-medium")
    return [estimator.pair(frames[t], frames[t - 1]) for t in range(1, len(frames))]


def test_strokes_move_with_the_scene_and_the_ends_are_the_keyframes(world):
    photo, strokes = world
    frames = [_view(photo, t) for t in range(N + 1)]  # the student: the identity (its own picture = the photo)
    first, last = _painted(photo, strokes, 0), _painted(photo, strokes, N)
    out = carry_segment(frames, _flows(frames), detail_of(first, frames[0]), detail_of(last, frames[N]))
    assert len(out) == N + 1
    np.testing.assert_array_equal(out[0], first)
    np.testing.assert_array_equal(out[N], last)
    inner = (slice(6, H - 6), slice(6, W - 6))
    for t in (2, N // 2, N - 2):
        carried = out[t].astype(np.float32) - frames[t]
        attached = np.clip(_view(photo, t).astype(np.float32) + _view(strokes, t), 0, 255) - frames[t]
        stuck = np.clip(_view(photo, t).astype(np.float32) + _view(strokes, 0), 0, 255) - frames[t]  # shower door
        err = np.abs(carried - attached)[inner].mean()
        assert err < 0.25 * np.abs(attached[inner]).mean(), (t, err)
        assert err < 0.35 * np.abs(carried - stuck)[inner].mean(), (t, err)
    # the same strokes at both ends: mixing them midway neither fades nor sharpens them
    mid = (out[N // 2].astype(np.float32) - frames[N // 2])[inner]
    ratio = _strokes(mid) / _strokes(_view(strokes, N // 2)[inner])
    assert 0.85 < ratio < 1.1, ratio


def _strokes(detail: np.ndarray) -> float:
    """The strokes' contrast: the standard deviation above a 2 px blur."""
    detail = np.ascontiguousarray(detail, np.float32)
    return float((detail - cv2.GaussianBlur(detail, (0, 0), 2.0)).std())


def test_independent_strokes_at_the_two_ends_keep_their_contrast_midway(world):
    photo, strokes = world
    other = np.ascontiguousarray(strokes[::-1, ::-1])  # a second painting's strokes, unrelated to the first's
    frames = [_view(photo, t) for t in range(N + 1)]
    first = _painted(photo, strokes, 0)
    last = np.clip(_view(photo, N).astype(np.float32) + _view(other, N), 0, 255).astype(np.uint8)
    out = carry_segment(frames, _flows(frames), detail_of(first, frames[0]), detail_of(last, frames[N]))
    inner = (slice(6, H - 6), slice(6, W - 6))
    alone = _strokes((first.astype(np.float32) - frames[0])[inner])
    for t in (N // 2 - 1, N // 2, N // 2 + 1):  # a plain mean would fade them to about 0.7 midway
        ratio = _strokes((out[t].astype(np.float32) - frames[t])[inner]) / alone
        assert 0.85 < ratio < 1.15, (t, ratio)


def test_where_strokes_are_carried_the_students_own_shimmer_does_not_show(world):
    photo, strokes = world
    frames = [_view(photo, t) for t in range(N + 1)]
    rng = np.random.default_rng(1)  # the student: the photo with fine texture of its own that changes every frame
    students = [np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8) for f in frames]
    first, last = _painted(photo, strokes, 0), _painted(photo, strokes, N)
    out = carry_segment(students, _flows(frames), detail_of(first, students[0]), detail_of(last, students[N]))
    inner = (slice(6, H - 6), slice(6, W - 6))
    for t in (N // 2, N // 2 + 1):
        shimmer = np.abs(students[t].astype(float) - frames[t])[inner].mean()
        left = np.abs(out[t].astype(float) - _painted(photo, strokes, t))[inner].mean()
        assert left < 0.4 * shimmer, (t, left, shimmer)


def test_new_content_gets_the_students_picture_not_strokes(world):
    photo, strokes = world
    background = _view(photo, 0)
    square = cv2.resize(data.chelsea(), (24, 24), interpolation=cv2.INTER_AREA)
    frames = []
    for t in range(6):  # a static shot; a square pops in at frame 3 and stays
        frame = background.copy()
        if t >= 3:
            frame[20:44, 36:60] = square
        frames.append(frame)
    first = _painted(photo, strokes, 0)
    out = carry_segment(frames, _flows(frames), detail_of(first, frames[0]), None)  # the shot ends: no next key
    for t in (3, 5):
        np.testing.assert_array_equal(out[t][26:38, 42:54], frames[t][26:38, 42:54])  # unseen: the student's
        away = (slice(4, 14), slice(4, 30))
        assert np.abs(out[t][away].astype(float) - first[away]).mean() < 2.0  # seen: the keyframe's strokes
    assert np.abs(out[2].astype(float) - first).mean() < 1.0


def test_a_chain_composes_flows_and_multiplies_reliabilities():
    shift = np.zeros((H, W, 2), np.float32)
    shift[..., 0] = 1.5
    half = np.ones((H, W), np.float32)
    half[:, :10] = 0.0
    chain = Chain.start((H, W)).step(shift, half).step(shift, np.ones((H, W), np.float32))
    np.testing.assert_allclose(chain.flow[:, :W - 4, 0], 3.0, atol=1e-4)
    assert chain.mask[:, :8].max() == 0.0 and chain.mask[:, 12:W - 4].min() == 1.0  # the hole travelled


def test_a_segment_needs_one_flow_per_frame_pair():
    frame = np.zeros((H, W, 3), np.uint8)
    with pytest.raises(ValueError, match="needs 2 flows"):
        carry_segment([frame] * 3, [], detail_of(frame, frame), None)
