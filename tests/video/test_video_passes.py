"""The multi-pass bidirectional scheme (``--passes``): visiting order, cuts, output from the last pass, resume.

Plumbing with the tiny random backbone on a generated clip with a hard cut. The effect on temporal consistency
with a real backbone is measured in benchmarks/temporal_bench.py (``--passes``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import synthetic
from videostyle import flow, media
from videostyle.config import StylizeConfig, VideoConfig
from videostyle.style.backbones import tiny_backbone
from videostyle.tuning import TUNING
from videostyle.video import open_store, passes, stylize

CUT = 6
FRAMES = 12


@pytest.fixture(scope="module")
def clip(cut_clip) -> Path:
    return cut_clip(FRAMES, CUT, "clip.mkv", codec="ffv1")


@pytest.fixture(scope="module")
def style_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("style") / "style.png"
    cv2.imwrite(str(path), cv2.cvtColor(synthetic.brush_painting((64, 64), seed=3, strokes=200), cv2.COLOR_RGB2BGR))
    return path


def _config(clip: Path, style: Path, out: Path, **video) -> StylizeConfig:
    settings = dict(size=64, iterations=6, first_iterations=12, pass_iterations=6, seed=3)
    settings.update(video)
    return StylizeConfig(input=str(clip), output=str(out), styles=(str(style),), video=VideoConfig(**settings),
                         work_dir=str(out) + ".work", quiet=True)


@pytest.fixture(scope="module")
def three_passes(clip, style_png, tmp_path_factory):
    out = tmp_path_factory.mktemp("p3") / "out.mkv"
    config = _config(clip, style_png, out, passes=3)
    return config, stylize(config, backbone=tiny_backbone(0))


def test_visit_order_alternates_and_never_crosses_a_cut():
    segments = passes.segments_of([0, 3], 5)
    assert segments == [(0, 3), (3, 5)]
    assert passes.direction(1) == 1 and passes.direction(2) == -1 and passes.direction(3) == 1
    assert passes.visit_order(segments, 1) == [(0, None), (1, 0), (2, 1), (3, None), (4, 3)]
    assert passes.visit_order(segments, -1) == [(2, None), (1, 2), (0, 1), (4, None), (3, 4)]


def test_passes_alternate_direction_and_the_output_is_the_last_pass(three_passes):
    config, report = three_passes
    assert [(p["pass"], p["direction"], p["frames"]) for p in report["passes"]] == [
        (1, "forward", FRAMES), (2, "backward", FRAMES), (3, "forward", FRAMES)]
    store = open_store(config)
    with media.open_reader(config.output) as reader:
        written = [f.image for f in reader]
    assert len(written) == FRAMES
    for i, image in enumerate(written):  # FFV1 is lossless: the output holds exactly the frames of pass 3
        np.testing.assert_array_equal(image, store.get(i, 3))
    assert any(not np.array_equal(store.get(i, 3), store.get(i, 1)) for i in range(FRAMES))


def test_each_pass_starts_its_shots_without_a_neighbour(three_passes):
    config, report = three_passes
    by_pass: dict[int, dict[int, dict]] = {}
    for rec in report["per_frame"]:
        by_pass.setdefault(1, {})[rec["index"]] = rec
    store = open_store(config)
    for p in (2, 3):
        by_pass[p] = {i: store.record(i, p) for i in range(FRAMES)}
    # Backward pass: the last frame of each shot has no neighbour; forward passes: the first one.
    assert sorted(i for i, r in by_pass[2].items() if not r["warm"]) == [CUT - 1, FRAMES - 1]
    assert sorted(i for i, r in by_pass[3].items() if not r["warm"]) == [0, CUT]
    for p in (2, 3):
        assert all(r["loss"]["temporal"] > 0 for r in by_pass[p].values() if r["warm"])
        assert all(r["loss"].get("temporal", 0.0) == 0 for r in by_pass[p].values() if not r["warm"])
        assert all(r["iterations"] <= 6 for r in by_pass[p].values())


def test_refinement_starts_from_the_blend_of_warped_neighbour_and_previous_pass(clip, style_png, tmp_path):
    # With no refinement iterations a pass returns its initialisation: δ·c·warp(neighbour) + (1 − δ·c)·previous.
    config = _config(clip, style_png, tmp_path / "blend.mkv", passes=2, pass_iterations=0)
    stylize(config, backbone=tiny_backbone(0))
    store = open_store(config)
    estimator = flow.FlowEstimator(config.video.flow)
    np.testing.assert_array_equal(store.get(FRAMES - 1, 2), store.get(FRAMES - 1, 1))  # no neighbour: unchanged
    changed = 0
    for i in range(FRAMES - 2, CUT - 1, -1):  # the backward pass over the second shot
        towards, _back, mask = estimator.pair(store.get(i, 0), store.get(i + 1, 0))
        warped = flow.warp(store.get(i + 1, 2), towards, interpolation="cubic").astype(np.float32) / 255.0
        c = TUNING.pass_blend * mask[..., None]
        expected = c * warped + (1.0 - c) * store.get(i, 1).astype(np.float32) / 255.0
        got = store.get(i, 2).astype(np.float32) / 255.0
        assert np.abs(got - expected).max() <= 1.0 / 255 + 1e-6
        changed += int(not np.array_equal(store.get(i, 2), store.get(i, 1)))
    assert changed >= FRAMES - CUT - 2


def test_interrupted_pass_resumes_to_identical_frames(clip, style_png, three_passes, tmp_path, monkeypatch):
    reference = open_store(three_passes[0])
    config = _config(clip, style_png, tmp_path / "out.mkv", passes=3)
    original = passes._refine_frame
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > FRAMES + 3:  # pass 2 done, 3 frames into pass 3
            raise RuntimeError("node lost")
        return original(*args, **kwargs)

    monkeypatch.setattr(passes, "_refine_frame", dying)
    with pytest.raises(RuntimeError, match="node lost"):
        stylize(config, backbone=tiny_backbone(0))
    assert not Path(config.output).exists()
    monkeypatch.setattr(passes, "_refine_frame", original)
    report = stylize(config, backbone=tiny_backbone(0))
    assert report["frames_resumed"] == FRAMES
    assert [p["frames_computed"] for p in report["passes"]] == [0, 0, FRAMES - 3]
    store = open_store(config)
    for p in (1, 2, 3):
        for i in range(FRAMES):
            np.testing.assert_array_equal(store.get(i, p), reference.get(i, p))
