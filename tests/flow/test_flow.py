"""Tests of videostyle.flow: accuracy against synthetic ground truth, warping, masks, prefetching, bad input."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from skimage import data

from videostyle.errors import FlowError
from videostyle._prefetch import Prefetcher
from videostyle.flow import (
    FlowEstimator,
    closest_first,
    compute_flow,
    configure_threads,
    consistency_mask,
    contrib_available,
    inpaint,
    warp,
)
from videostyle.flow.synthetic import SyntheticPair, endpoint_error, interior, psnr, synthetic_pair

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


@pytest.fixture(autouse=True, scope="module")
def _restore_opencv_threads():
    previous = cv2.getNumThreads()
    yield
    cv2.setNumThreads(previous)


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def translation(texture) -> SyntheticPair:
    return synthetic_pair(texture, translate=(3.5, -2.0), rotate_deg=0.0, zoom=1.0, occluder=None)


@pytest.fixture(scope="module")
def full(texture) -> SyntheticPair:
    """Translation (3.5, −2) + 2° rotation + 2 % zoom, with an opaque box moving by (12, 4) across it."""
    return synthetic_pair(texture, translate=(3.5, -2.0), rotate_deg=2.0, zoom=1.02)


@pytest.fixture(scope="module")
def full_medium(full) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return FlowEstimator("dis-medium").pair(full.frame_t, full.frame_prev)


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


def test_warped_previous_frame_reproduces_current(full, full_medium):
    flow_bwd, _, mask = full_medium
    reliable = (mask > 0.5) & interior(mask.shape, BORDER)
    value = psnr(warp(full.frame_prev, flow_bwd), full.frame_t, reliable)
    print(f"dis-medium: PSNR of warped t-1 vs t on reliable pixels {value:.1f} dB")
    assert value >= 30


def test_mask_against_true_occlusion(full, full_medium):
    _, _, mask = full_medium
    unreliable_disoccluded = float(np.mean(mask[full.disoccluded] < 0.5))
    reliable_visible = float(np.mean(mask[full.visible] > 0.5))
    print(f"dis-medium mask: {unreliable_disoccluded:.1%} of disoccluded unreliable, {reliable_visible:.1%} visible reliable")
    assert unreliable_disoccluded >= 0.80
    assert reliable_visible >= 0.90


def test_mask_marks_frame_exits_as_unreliable(full, full_medium):
    """Pixels of frame t whose point lies outside frame t−1 (the zoom and motion bring content in) are 0."""
    _, _, mask = full_medium
    outside = ~full.visible & ~full.disoccluded
    assert outside.sum() > 100
    assert np.mean(mask[outside] < 0.5) > 0.95


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


# --- warp -------------------------------------------------------------------------------------------------------
def _image(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.random(shape) * 200).astype(dtype)


@pytest.mark.parametrize(
    "shape, dtype",
    [((20, 30, 3), np.uint8), ((20, 30, 5), np.float32), ((20, 30), np.float32), ((20, 30, 1), np.uint16)],
)
def test_warp_zero_flow_is_identity(shape, dtype):
    image = _image(shape, dtype)
    out = warp(image, np.zeros((20, 30, 2), np.float32))
    assert out.dtype == image.dtype and out.shape == image.shape
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_warp_integer_translation_shifts_exactly(dtype):
    image = _image((20, 30, 3), dtype)
    flow = np.broadcast_to(np.float32([3, -2]), (20, 30, 2)).copy()
    out = warp(image, flow)
    # out(y, x) = image(y − 2, x + 3)
    np.testing.assert_array_equal(out[2:, :-3], image[:-2, 3:])
    # replicate border: samples beyond the right/top edge take the edge pixel
    np.testing.assert_array_equal(out[5, -3:], np.repeat(image[3, -1:], 3, axis=0))
    np.testing.assert_array_equal(out[0, :-3], image[0, 3:])


def test_warp_constant_border_is_zero_outside():
    image = np.full((10, 12), 7.0, np.float32)
    out = warp(image, np.full((10, 12, 2), (4.0, 0.0), np.float32), border="constant")
    np.testing.assert_array_equal(out[:, :8], 7.0)
    np.testing.assert_array_equal(out[:, 8:], 0.0)


def test_warp_is_bilinear_between_pixels():
    ramp = np.tile(np.arange(16, dtype=np.float32) * 10, (8, 1))
    out = warp(ramp, np.full((8, 16, 2), (0.5, 0.0), np.float32))
    np.testing.assert_allclose(out[:, :-1], ramp[:, :-1] + 5.0, atol=10 / 32)


def test_warp_flow_field_by_flow_field():
    """Warping a flow (2 channels, float32) — what consistency_mask does with the forward flow."""
    flow = np.zeros((12, 14, 2), np.float32)
    flow[..., 0] = np.arange(14)[None, :]
    out = warp(flow, np.full((12, 14, 2), (1.0, 0.0), np.float32))
    np.testing.assert_array_equal(out[:, :-1, 0], flow[:, 1:, 0])


# --- consistency mask -------------------------------------------------------------------------------------------
def _uniform(h: int, w: int, dx: float, dy: float) -> np.ndarray:
    return np.broadcast_to(np.float32([dx, dy]), (h, w, 2)).copy()


def test_consistent_flows_are_reliable_except_out_of_frame():
    mask = consistency_mask(_uniform(20, 30, -5, 0), _uniform(20, 30, 5, 0))
    assert mask.dtype == np.float32 and mask.shape == (20, 30)
    np.testing.assert_array_equal(mask[:, :5], 0.0)  # x − 5 < 0: sampled outside frame t−1
    np.testing.assert_array_equal(mask[:, 5:], 1.0)


def test_inconsistent_flows_are_occluded():
    fwd = _uniform(20, 30, 5, 0)
    fwd[:, 10:15] = 0.0  # frame t−1 columns 10..14 do not go where the backward flow says
    mask = consistency_mask(_uniform(20, 30, -5, 0), fwd)
    np.testing.assert_array_equal(mask[:, 15:20], 0.0)  # these sample fwd at columns 10..14
    np.testing.assert_array_equal(mask[:, 20:], 1.0)


def test_small_disagreement_is_tolerated():
    mask = consistency_mask(_uniform(20, 30, -5, 0), _uniform(20, 30, 5.6, 0))
    np.testing.assert_array_equal(mask[:, 6:], 1.0)  # |w̃+ŵ|² = 0.36 < 0.01·(31.4+25)+0.5


def test_motion_boundary_is_unreliable():
    bwd = _uniform(20, 30, 0, 0)
    bwd[:, 15:] = (0.0, 3.0)  # a step in the flow between columns 14 and 15
    fwd = -bwd  # consistent, so only the motion-boundary test can fire
    fwd[:, 15:] = (0.0, -3.0)
    mask = consistency_mask(bwd, fwd)
    np.testing.assert_array_equal(mask[:17, 14:16], 0.0)
    np.testing.assert_array_equal(mask[:, :13], 1.0)
    np.testing.assert_array_equal(mask[:17, 17:], 1.0)


# --- closest-first ----------------------------------------------------------------------------------------------
def test_closest_first_partitions_pixels_to_the_nearest_visible_frame():
    near = np.zeros((4, 4), np.float32)
    near[:, :2] = 1  # t−1 sees the left half
    middle = np.ones((4, 4), np.float32)
    middle[0] = 0  # t−2 sees all but the top row
    far = np.ones((4, 4), np.float32)  # t−4 sees everything
    m1, m2, m3 = closest_first([near, middle, far])
    np.testing.assert_array_equal(m1, near)
    expected2 = np.zeros((4, 4), np.float32)
    expected2[1:, 2:] = 1
    np.testing.assert_array_equal(m2, expected2)
    expected3 = np.zeros((4, 4), np.float32)
    expected3[0, 2:] = 1
    np.testing.assert_array_equal(m3, expected3)
    np.testing.assert_array_equal(m1 + m2 + m3, 1.0)  # every pixel held exactly once


def test_closest_first_with_soft_masks():
    a = np.full((2, 2), 0.5, np.float32)
    b = np.full((2, 2), 2.0, np.float32)  # clipped to 1
    out = closest_first([a, b])
    np.testing.assert_allclose(out[0], 0.5)
    np.testing.assert_allclose(out[1], 0.5)
    assert closest_first([]) == []
    assert all(m.dtype == np.float32 for m in closest_first([np.ones((2, 2), bool)]))


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


def test_warp_rejects_bad_arguments():
    image = np.zeros((10, 12, 3), np.uint8)
    with pytest.raises(FlowError, match=r"expected shape \(H, W, 2\), got \(10, 12\)"):
        warp(image, np.zeros((10, 12), np.float32))
    with pytest.raises(FlowError, match=r"image and flow differ in size: \(10, 12, 3\) vs \(10, 13, 2\)"):
        warp(image, np.zeros((10, 13, 2), np.float32))
    with pytest.raises(FlowError, match="expected dtype one of .*, got int32"):
        warp(image.astype(np.int32), np.zeros((10, 12, 2), np.float32))
    with pytest.raises(FlowError, match="flow: expected dtype float32, got int64"):
        warp(image, np.zeros((10, 12, 2), np.int64))
    with pytest.raises(FlowError, match="invalid border 'wrap'"):
        warp(image, np.zeros((10, 12, 2), np.float32), border="wrap")


def test_mask_functions_reject_bad_arguments():
    flow = np.zeros((10, 12, 2), np.float32)
    with pytest.raises(FlowError, match=r"\(10, 12, 2\) vs \(10, 11, 2\)"):
        consistency_mask(flow, np.zeros((10, 11, 2), np.float32))
    with pytest.raises(FlowError, match=r"masks differ in shape: \[\(4, 4\), \(4, 5\)\]"):
        closest_first([np.ones((4, 4)), np.ones((4, 5))])
    with pytest.raises(FlowError, match=r"masks\[0\]: expected shape \(H, W\), got \(4, 4, 1\)"):
        closest_first([np.ones((4, 4, 1))])


def test_cubic_warp_keeps_texture_along_a_chain_of_subpixel_warps():
    # Ten half-pixel shifts: bilinear sampling blurs every time (the engine chains warps of stylised frames),
    # bicubic keeps far more of the fine texture.
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (64, 64)).astype(np.float32), (0, 0), 0.8)
    shift = np.zeros((64, 64, 2), np.float32)
    shift[..., 0] = 0.5
    detail = {}
    for mode in ("linear", "cubic"):
        image = texture.copy()
        for _ in range(10):
            image = warp(image, shift, interpolation=mode)
        detail[mode] = float(np.abs(cv2.Laplacian(image[8:-8, 8:-8], cv2.CV_32F)).mean())
    original = float(np.abs(cv2.Laplacian(texture[8:-8, 8:-8], cv2.CV_32F)).mean())
    assert detail["cubic"] > 1.5 * detail["linear"]
    assert detail["cubic"] > 0.5 * original
    with pytest.raises(FlowError, match="interpolation"):
        warp(texture, shift, interpolation="nearest-ish")


def test_inpaint_float_keeps_signed_values_and_the_reliable_pixels():
    """Float input is inpainted per channel in float32 (a paint layer is signed): the reliable pixels are returned
    unchanged and the hole is filled between its neighbours' values, never beyond them."""
    layer = np.zeros((24, 24, 3), np.float32)
    layer[:, :12] = -0.3
    layer[:, 12:] = 0.4
    reliable = np.ones((24, 24), np.float32)
    reliable[6:18, 9:15] = 0.0
    out = inpaint(layer, reliable)
    assert out.dtype == np.float32
    assert np.array_equal(out[reliable > 0.5], layer[reliable > 0.5])
    hole = out[reliable < 0.5]
    assert hole.min() >= -0.3 - 1e-4 and hole.max() <= 0.4 + 1e-4
    assert out[12, 9, 0] < 0 < out[12, 14, 0]  # each side of the hole takes its neighbours' sign


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
