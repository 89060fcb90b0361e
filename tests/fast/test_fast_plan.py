"""The scan before painting: keyframes at shot starts, every N frames and where new content appears; bounded pairs."""

from __future__ import annotations

import numpy as np

import synthetic
from videostyle import media
from videostyle.fast.plan import pair_indices, scan


def _frames(images: np.ndarray) -> list[media.Frame]:
    return [media.Frame(index=i, pts=i / 24, image=im) for i, im in enumerate(images)]


def _scan(images: np.ndarray, **kw):
    stored = []
    options = dict(total=len(images), flow="dis-medium", cut_detector="none", cut_threshold=None, fps=24.0,
                   keyframe_every=100, keyframe_change=0.5, pairs=4, seed=0)
    options.update(kw)
    plan = scan(_frames(images), on_keyframe=lambda k: stored.append((k.index, k.frame.image.copy())), **options)
    return plan, stored


def test_pairs_spread_evenly():
    assert pair_indices(240, 4) == {1, 80, 160, 239}
    assert pair_indices(3, 10) == {1, 2}
    assert pair_indices(1, 4) == set()


def test_keyframes_every_n_frames_and_their_images_handed_over():
    scene = synthetic.moving_scene(frames=12, size=(96, 64), occluder=False, wobble=0.0)
    plan, stored = _scan(scene.frames, keyframe_every=5)
    assert [k.index for k in plan.keyframes] == [0, 5, 10]
    assert [k.reason for k in plan.keyframes] == ["shot", "every", "every"]
    assert [k.since for k in plan.keyframes] == [None, 0, 5]
    assert [i for i, _ in stored] == [0, 5, 10]
    np.testing.assert_array_equal(stored[1][1], scene.frames[5])
    assert plan.keyframes[1].frame.image.size == 0  # not kept in memory once handed over


def test_new_content_brings_a_keyframe():
    """A slow camera; at frame 6 a large subject appears that no earlier frame shows: the flow cannot carry half
    of the frame from the last keyframe, so frame 6 is a keyframe before ``keyframe_every`` runs out."""
    scene = synthetic.moving_scene(frames=10, size=(96, 64), occluder=False, wobble=0.0, velocity=(0.5, 0.0))
    frames = scene.frames.copy()
    subject = synthetic.moving_scene(frames=1, size=(96, 64), photo_name="chelsea", occluder=False).frames[0]
    frames[6:, :, :70] = subject[:, :70]
    plan, _ = _scan(frames, keyframe_change=0.5)
    assert [(k.index, k.reason) for k in plan.keyframes] == [(0, "shot"), (6, "change")]
    plan, _ = _scan(frames, keyframe_change=1.0)  # 1: the content rule is off
    assert [k.index for k in plan.keyframes] == [0]


def test_cuts_start_shots_and_keyframes():
    scene = synthetic.moving_scene(frames=12, size=(96, 64), cut_at=7)
    plan, _ = _scan(scene.frames, cut_detector="content")
    assert plan.shots == [0, 7]
    # each shot's camera moved far enough for new content at its end: the last frame closes it (see below)
    assert [(k.index, k.since, k.reason) for k in plan.keyframes] == [
        (0, None, "shot"), (6, 0, "close"), (7, None, "shot"), (11, 7, "close")]
    assert all(p.index != 7 for p in plan.pairs)  # no pair across the cut


def test_pairs_are_bounded_and_hold_their_flow():
    scene = synthetic.moving_scene(frames=20, size=(96, 64), occluder=False, wobble=0.0, velocity=(2.0, 0.0))
    plan, _ = _scan(scene.frames, pairs=3)
    assert [p.index for p in plan.pairs] == sorted(pair_indices(20, 3))
    pair = plan.pairs[1]
    np.testing.assert_array_equal(pair.frame, scene.frames[pair.index])
    np.testing.assert_array_equal(pair.prev, scene.frames[pair.index - 1])
    inside = pair.mask > 0.5
    # the camera moves 2 px right a frame: frame t samples t-1 two pixels further on (within the flow's accuracy)
    assert abs(float(np.median(pair.flow[..., 0][inside])) - 2.0) < 0.3


def test_unknown_length_samples_a_seeded_reservoir():
    scene = synthetic.moving_scene(frames=16, size=(64, 48), occluder=False)
    a, _ = _scan(scene.frames, total=None, pairs=3, seed=5)
    b, _ = _scan(scene.frames, total=None, pairs=3, seed=5)
    assert len(a.pairs) == 3
    assert [p.index for p in a.pairs] == [p.index for p in b.pairs]
    assert [p.index for p in a.pairs] == sorted(p.index for p in a.pairs)


def test_a_subject_entering_in_a_shots_last_stretch_closes_it_with_a_keyframe():
    """The render carries strokes from both ends of a stretch; a subject that enters after a shot's last keyframe
    would otherwise get the network's own picture. The shot's last frame becomes a keyframe where more than
    ``student_close_share`` of it is new since that keyframe; a still shot's does not."""
    still = np.repeat(synthetic.moving_scene(frames=1, size=(96, 64), occluder=False).frames, 8, axis=0)
    plan, _ = _scan(still)
    assert [(k.index, k.reason) for k in plan.keyframes] == [(0, "shot")]
    entering = still.copy()
    subject = synthetic.moving_scene(frames=1, size=(96, 64), photo_name="chelsea", occluder=False).frames[0]
    for t in range(3, 8):  # slides in from the right, 6 px a frame: a third of the frame by the end
        entering[t, 20:50, 96 - 6 * (t - 2):] = subject[20:50, :6 * (t - 2)]
    plan, stored = _scan(entering)
    assert [(k.index, k.since, k.reason) for k in plan.keyframes] == [(0, None, "shot"), (7, 0, "close")]
    np.testing.assert_array_equal(stored[1][1], entering[7])
    plan, _ = _scan(entering, keyframe_change=1.0)  # the content rules off
    assert [k.index for k in plan.keyframes] == [0]
