"""Flow estimation (videostyle/flow/_estimate.py) against synthetic ground truth, its threads and backends, bad input."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from videostyle.errors import FlowError
from videostyle._prefetch import Prefetcher
from videostyle.flow import (
    FlowEstimator,
    compute_flow,
    configure_threads,
    consistency_mask,
    contrib_available,
    warp,
)
from synthetic.flow import endpoint_error, interior, psnr

BACKENDS = ["dis-ultrafast", "dis-fast", "dis-medium", "farneback"] + (
    ["tvl1", "deepflow"] if contrib_available() else []
)
BORDER = 8  # pixels near the frame edge left out of accuracy measures

# Loose per-backend bounds (pixels) on the synthetic scenes, so a regression in any backend fails; the issue's
# own bound is the 0.5 px of DIS-medium on the pure translation. Measured values are in benchmarks/flow.md.
MAX_EPE = {
    "translation": {"dis-ultrafast": 0.5, "dis-fast": 0.3, "dis-medium": 0.5, "farneback": 0.7},
    "full": {"dis-ultrafast": 1.6, "dis-fast": 1.2, "dis-medium": 0.5, "farneback": 2.0},
}


# --- the synthetic scene itself ---------------------------------------------------------------------------------
def test_synthetic_ground_truth_explains_frame_t(full):
    """The true backward flow warps frame t−1 onto frame t wherever the point is visible (checks the fixture)."""
    valid = full.visible & interior(full.visible.shape, BORDER)
    assert psnr(warp(full.frame_prev, full.flow_bwd), full.frame_t, valid) > 38
    assert full.disoccluded.sum() > 500 and not (full.disoccluded & full.visible).any()


# --- accuracy ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", BACKENDS)
def test_endpoint_error_against_ground_truth(method, translation, full):
    errors = {}
    for name, scene in (("translation", translation), ("full", full)):
        flow = compute_flow(scene.frame_t, scene.frame_prev, method)
        valid = scene.visible & interior(flow.shape, BORDER)
        errors[name] = endpoint_error(flow, scene.flow_bwd, valid)
    print(f"{method}: EPE translation {errors['translation']:.3f} px, full scene {errors['full']:.3f} px")
    for name, value in errors.items():
        assert value < MAX_EPE[name].get(method, 2.0), (method, name, value)


def test_dis_medium_translation_under_half_pixel(translation):
    flow = compute_flow(translation.frame_t, translation.frame_prev, "dis-medium")
    valid = translation.visible & interior(flow.shape, BORDER)
    assert endpoint_error(flow, translation.flow_bwd, valid) < 0.5


def test_flow_direction(translation):
    """Backward flow t→t−1 points where frame t's content was; forward flow is its opposite."""
    bwd = compute_flow(translation.frame_t, translation.frame_prev)
    fwd = compute_flow(translation.frame_prev, translation.frame_t)
    inner = interior(bwd.shape, BORDER)
    np.testing.assert_allclose(np.median(bwd[inner], axis=0), (-3.5, 2.0), atol=0.1)
    np.testing.assert_allclose(np.median(fwd[inner], axis=0), (3.5, -2.0), atol=0.1)
    assert bwd.dtype == np.float32 and bwd.shape == translation.frame_t.shape[:2] + (2,)


def test_pair_matches_compute_flow(full, full_medium):
    flow_bwd, flow_fwd, mask = full_medium
    np.testing.assert_array_equal(flow_bwd, compute_flow(full.frame_t, full.frame_prev, "dis-medium"))
    np.testing.assert_array_equal(flow_fwd, compute_flow(full.frame_prev, full.frame_t, "dis-medium"))
    np.testing.assert_array_equal(mask, consistency_mask(flow_bwd, flow_fwd))
    assert mask.dtype == np.float32 and set(np.unique(mask)) <= {0.0, 1.0}


def test_threads_get_their_own_backend_objects(full):
    expected = compute_flow(full.frame_t, full.frame_prev, "dis-medium")
    results: list[np.ndarray] = []

    def run() -> None:
        for _ in range(3):
            results.append(compute_flow(full.frame_t, full.frame_prev, "dis-medium"))

    workers = [threading.Thread(target=run) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 9
    for flow in results:
        np.testing.assert_allclose(flow, expected, atol=1e-4)


def test_estimator_sets_opencv_threads():
    FlowEstimator("dis-fast", threads=1)
    assert cv2.getNumThreads() == 1
    FlowEstimator("dis-fast", threads=None)
    assert cv2.getNumThreads() == 1
    assert configure_threads(2) == 1 and cv2.getNumThreads() == 2


# --- prefetcher -------------------------------------------------------------------------------------------------
def test_prefetcher_with_flow_estimator(full):
    estimator = FlowEstimator("dis-ultrafast")
    pairs = [(full.frame_t, full.frame_prev)] * 3
    with Prefetcher(pairs, lambda p: estimator.pair(*p), depth=2) as results:
        outputs = list(results)
    assert len(outputs) == 3 and all(o[0].shape == (192, 256, 2) for o in outputs)


# --- bad input --------------------------------------------------------------------------------------------------
def _frame(h: int = 32, w: int = 48) -> np.ndarray:
    return np.zeros((h, w, 3), np.uint8)


@pytest.mark.parametrize(
    "src, dst, expected",
    [
        (_frame(32, 48), _frame(40, 48), r"\(32, 48, 3\) vs \(40, 48, 3\)"),
        (_frame().astype(np.float32), _frame(), r"expected dtype uint8, got float32"),
        (np.zeros((32, 48), np.uint8), _frame(), r"expected shape \(H, W, 3\), got \(32, 48\)"),
        (_frame(), np.zeros((32, 48, 4), np.uint8), r"dst: expected shape \(H, W, 3\), got \(32, 48, 4\)"),
        ([[1, 2]], _frame(), r"expected a numpy array .* got list"),
        (_frame(8, 100), _frame(8, 100), r"at least 16x16 pixels, got shape \(8, 100, 3\)"),
    ],
)
def test_compute_flow_rejects_bad_frames(src, dst, expected):
    with pytest.raises(FlowError, match=expected):
        compute_flow(src, dst)
    with pytest.raises(FlowError, match=expected.replace("dst", "frame_prev")):
        FlowEstimator("dis-fast").pair(src, dst)


def test_unknown_method():
    with pytest.raises(FlowError, match="unknown flow method 'raft'.*dis-medium"):
        compute_flow(_frame(), _frame(), "raft")
    with pytest.raises(FlowError, match="unknown flow method"):
        FlowEstimator("raft")


@pytest.mark.skipif(contrib_available(), reason="opencv-contrib is installed here")
@pytest.mark.parametrize("method", ["tvl1", "deepflow"])
def test_contrib_methods_say_what_is_missing(method):
    with pytest.raises(FlowError, match="needs opencv-contrib"):
        compute_flow(_frame(), _frame(), method)


def test_opencv_failure_becomes_flow_error():
    with pytest.raises(FlowError, match=r"dis-fast flow failed on frames of shape \(16, 1000\)"):
        compute_flow(_frame(16, 1000), _frame(16, 1000), "dis-fast")


def test_small_frames_are_measured_upscaled():
    """The bundled sample at 96×54: the cat's face enters at 1.2 px a frame. At its own size DIS measures 0.9 inside
    the face — consistently both ways, so the reliability mask passes it and a carried painting slides off the face
    — upscaled to ``EngineTuning.min_flow_side`` it measures the motion."""
    import json
    from pathlib import Path

    from videostyle import media
    from videostyle.flow._estimate import _flow_gray, to_gray
    from videostyle.tuning import TUNING

    root = Path(__file__).resolve().parents[2] / "sample_media"
    with media.open_reader(root / "sample.mp4", size=(96, 54), max_frames=13) as reader:
        frames = [f.image for f in reader]
    truth = json.loads((root / "sample_truth.json").read_text())
    boxes = np.array(truth["occluder_boxes"]) * 96 / truth["size"][0]
    x0, y0, x1, y1 = boxes[12].astype(int)
    inside = (slice(y0 + 2, y1 - 2), slice(x0 + 2, min(x1, 96)))
    step = boxes[11][0] - boxes[12][0]  # the face's motion per frame, in pixels (about 1.2)
    assert max(frames[0].shape[:2]) < TUNING.min_flow_side
    measured = float(np.median(compute_flow(frames[12], frames[11])[inside][..., 0]))
    native = float(np.median(_flow_gray(to_gray(frames[12]), to_gray(frames[11]), "dis-medium")[inside][..., 0]))
    assert abs(measured - step) < 0.1, (measured, step)
    assert abs(native - step) > 2 * abs(measured - step), (native, measured, step)
