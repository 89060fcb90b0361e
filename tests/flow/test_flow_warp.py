"""Warping, the forward-backward reliability mask, closest-first long-term masks and inpainting
(videostyle/flow/_warp.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from synthetic.flow import interior, psnr
from videostyle.errors import FlowError
from videostyle.flow import closest_first, consistency_mask, inpaint, warp

BORDER = 8  # pixels near the frame edge left out of accuracy measures


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
    occlusion_only = consistency_mask(bwd, fwd, boundaries=False)  # the warping error's mask (Lai et al.)
    np.testing.assert_array_equal(occlusion_only[:17], 1.0)
    np.testing.assert_array_equal(occlusion_only[17:, 15:], 0.0)  # y + 3 > 19: sampled outside frame t−1


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

