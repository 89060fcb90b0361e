"""Cut detection (videostyle/video/shots.py): PySceneDetect fed frame by frame, each frame flagged when it begins
a shot, with bounded look-ahead."""

from __future__ import annotations

import numpy as np
import pytest

import synthetic
from videostyle.errors import UsageError
from videostyle.video.shots import CutDetector, annotate_shots, detect_shots


def test_a_hard_cut_begins_a_shot_and_flashes_do_not_split_one(cut_clip) -> None:
    assert detect_shots(str(cut_clip(16, 9, "cut.mkv", audio=False, codec="ffv1"))) == [0, 9]
    scene = synthetic.moving_scene(frames=16, size=(96, 64))
    frames = list(scene.frames)
    for i in (8, 10):  # two frames whose content differs wholly, closer than the shortest shot
        frames[i] = np.full_like(frames[i], 255 if i == 8 else 0)
    detector = CutDetector("content", fps=24)
    starts = [a.index for a in annotate_shots(frames, lambda f: f, detector) if a.shot_start]
    assert starts[0] == 0 and all(b - a >= 6 for a, b in zip(starts, starts[1:]))


def test_annotate_keeps_order_and_holds_at_most_the_detector_lag() -> None:
    scene = synthetic.moving_scene(frames=16, size=(96, 64), cut_at=8)
    detector = CutDetector("content", fps=24)
    held = []

    def image(frame: np.ndarray) -> np.ndarray:
        held.append(frame)
        return frame

    out = []
    for annotated in annotate_shots(scene.frames, image, detector):
        out.append(annotated)
        assert len(held) - len(out) <= detector.lag
    assert [a.index for a in out] == list(range(16))
    assert [a.index for a in out if a.shot_start] == [0, 8]


def test_no_detector_and_a_bad_one() -> None:
    frames = synthetic.moving_scene(frames=8, size=(64, 48), cut_at=4).frames
    none = CutDetector("none")
    assert [a.index for a in annotate_shots(frames, lambda f: f, none) if a.shot_start] == [0]
    with pytest.raises(UsageError, match="unknown cut detector 'fancy'"):
        CutDetector("fancy")
