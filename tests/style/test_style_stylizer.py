"""The Stylizer API the video engine relies on, exercised with a tiny random backbone at 32-64 px."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videostyle.config import StyleConfig
from videostyle.errors import StyleError
from videostyle.style import StyleResult, Stylizer, resolve_device, tiny_backbone
from videostyle.style.color import rgb_to_ycbcr


def _pattern(h: int, w: int, seed: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(seed)
    f = rng.uniform(0.1, 0.6, size=(3, 2))
    img = np.stack([0.5 + 0.45 * np.sin(xx * f[c, 0] + yy * f[c, 1] + 2 * c) for c in range(3)], axis=-1)
    return (img * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def style() -> np.ndarray:
    return _pattern(48, 64, 1)


@pytest.fixture(scope="module")
def content() -> np.ndarray:
    c = _pattern(40, 48, 2)
    c[10:30, 12:36] = (230, 60, 40)  # a flat red block
    return c


def _st(style, **kw) -> Stylizer:
    return Stylizer([style], StyleConfig(**kw), device="cpu", backbone=tiny_backbone(0))


def test_run_returns_the_documented_result(style, content) -> None:
    st = _st(style)
    assert st.backbone_name == "tiny"
    res = st.run(content, iterations=8, seed=0)
    assert isinstance(res, StyleResult)
    assert res.image.dtype == np.uint8 and res.image.shape == content.shape
    assert res.iterations == 8 and res.stopped_early is False and res.seconds > 0
    assert set(res.loss) == {"total", "content", "style", "tv", "temporal"}
    assert res.loss["total"] == pytest.approx(res.loss["content"] + res.loss["style"] + res.loss["tv"], rel=1e-5)
    assert res.loss["temporal"] == 0.0
    # the optimisation lowers the loss from the content init
    assert res.history[-1] < res.history[0] and res.loss["total"] == min(res.history)
    assert not np.array_equal(res.image, content)


def test_same_inputs_and_seed_give_identical_output(style, content) -> None:
    st = _st(style, init="noise")
    a = st.run(content, iterations=5, seed=3)
    b = _st(style, init="noise").run(content, iterations=5, seed=3)
    c = st.run(content, iterations=5, seed=4)
    assert np.array_equal(a.image, b.image) and a.loss == b.loss
    assert not np.array_equal(a.image, c.image)  # the noise init follows the seed


def test_init_uint8_and_float_are_equivalent(style, content) -> None:
    st = _st(style)
    init = _pattern(40, 48, 9)
    a = st.run(content, init=init, iterations=3, seed=0)
    b = st.run(content, init=init.astype(np.float32) / 255.0, iterations=3, seed=0)
    assert np.array_equal(a.image, b.image)
    zero = st.run(content, init=init, iterations=0)
    assert zero.iterations == 0 and np.array_equal(zero.image, init)


def test_temporal_term_pulls_masked_pixels_to_the_target(style, content) -> None:
    st = _st(style)
    target = np.zeros(content.shape, np.float32)
    target[..., 2] = 1.0  # pure blue
    mask = np.zeros(content.shape[:2], np.float32)
    mask[:, :24] = 1.0  # left half only
    free = st.run(content, iterations=20, seed=0)
    tied = st.run(content, iterations=20, seed=0, temporal=[(target, mask, 1e4)])
    err_left = np.abs(tied.image[:, :24].astype(float) / 255 - target[:, :24]).mean()
    assert err_left < 0.1
    assert tied.loss["temporal"] > 0
    # outside the mask the temporal term does not hold the image to the target
    assert np.abs(tied.image[:, 30:].astype(float) / 255 - target[:, 30:]).mean() > 0.3
    # a zero mask or a zero weight is the same as no temporal term
    none = st.run(content, iterations=20, seed=0, temporal=[(target, np.zeros_like(mask), 1e4)])
    zero_w = st.run(content, iterations=20, seed=0, temporal=[(target, mask, 0.0)])
    assert np.array_equal(none.image, free.image) and np.array_equal(zero_w.image, free.image)


def test_style_targets_are_cached_per_size(style, content, monkeypatch) -> None:
    st = _st(style)
    calls = []
    orig = st.targets.prepared_style
    monkeypatch.setattr(st.targets, "prepared_style", lambda i, c: calls.append(c.shape) or orig(i, c))
    st.run(content, iterations=1)
    st.run(content[::-1].copy(), iterations=1)  # another frame, same size: no recomputation
    assert calls == [content.shape]
    small = content[:32, :40].copy()
    st.run(small, iterations=1)
    assert calls == [content.shape, small.shape]
    # style scale is relative to the content's long side
    assert max(st.style_size((40, 48))) == 48 and max(st.style_size((32, 40))) == 40


def test_style_scale_and_blend_weights_change_the_result(style, content) -> None:
    base = _st(style).run(content, iterations=5, seed=0).image
    scaled = _st(style, style_scale=0.5).run(content, iterations=5, seed=0).image
    other = _pattern(48, 64, 7)
    st = Stylizer([style, other], StyleConfig(style_blend_weights=(1.0, 0.0)), device="cpu", backbone=tiny_backbone(0))
    only_first = st.run(content, iterations=5, seed=0).image
    assert not np.array_equal(base, scaled)
    assert np.array_equal(base, only_first)  # weight 0 for the second style: the same targets as the first alone
    with pytest.raises(StyleError, match="blend weights"):
        Stylizer([style, other], StyleConfig(style_blend_weights=(1.0,)), device="cpu", backbone=tiny_backbone(0))


def test_tolerance_stops_early(style, content) -> None:
    st = _st(style, tolerance=0.5, tolerance_window=3)
    res = st.run(content, iterations=200, seed=0)
    assert res.stopped_early and res.iterations < 200
    full = _st(style, tolerance=0.0, change_tolerance=0.0).run(content, iterations=12, seed=0)
    assert not full.stopped_early and full.iterations == 12


def test_an_image_that_stopped_changing_stops_early(style, content) -> None:
    # Started from a converged result, the image barely moves: the pixel-change test ends the run after one
    # window, while the loss test alone (relative 1e-4 over 50) would run the whole budget.
    done = _st(style, change_tolerance=0.0).run(content, iterations=60, seed=0)
    warm = _st(style, change_tolerance=1.0, change_window=5).run(content, init=done.image, iterations=60, seed=0)
    assert warm.stopped_early and warm.iterations == 5
    cold = _st(style, change_tolerance=1.0, change_window=5).run(content, iterations=60, seed=0)
    assert cold.iterations > warm.iterations
    loss_only = _st(style, change_tolerance=0.0).run(content, init=done.image, iterations=60, seed=0)
    assert loss_only.iterations == 60 and not loss_only.stopped_early


def test_adam_and_levels(style, content) -> None:
    res = _st(style, optimizer="adam").run(content, iterations=6, seed=0)
    assert res.iterations == 6 and res.history[-1] < res.history[0]
    res = _st(style, levels=2).run(content, iterations=4, seed=0)
    assert res.iterations == 8 and res.image.shape == content.shape


def test_luminance_mode_keeps_the_content_chroma_exactly(style, content) -> None:
    res = _st(style, color="luminance").run(content, iterations=10, seed=0)
    a, b = rgb_to_ycbcr(res.image / 255.0), rgb_to_ycbcr(content / 255.0)
    assert np.abs(a[..., 1:] - b[..., 1:]).mean() < 0.01
    assert np.abs(a[..., 0] - b[..., 0]).mean() > 0.01  # the luminance did change


def test_histogram_mode_uses_content_colours_for_the_style(style, content) -> None:
    st = _st(style, color="histogram")
    st.run(content, iterations=1)
    prepared = st.targets.prepared_style(0, content / 255.0)
    assert np.allclose(prepared.reshape(-1, 3).mean(0), (content / 255.0).reshape(-1, 3).mean(0), atol=0.03)


def test_bad_arguments_raise_style_errors(style, content) -> None:
    st = _st(style)
    with pytest.raises(StyleError, match=r"expected shape \(H, W, 3\)"):
        st.run(content[..., 0])
    with pytest.raises(StyleError, match="init"):
        st.run(content, init=content[:10])
    with pytest.raises(StyleError, match="mask"):
        st.run(content, temporal=[(content / 255.0, np.ones((3, 3), np.float32), 1.0)])
    with pytest.raises(StyleError, match="weight"):
        st.run(content, temporal=[(content / 255.0, np.ones(content.shape[:2], np.float32), -1.0)])
    with pytest.raises(StyleError, match="at least one style"):
        Stylizer([], StyleConfig(), backbone=tiny_backbone(0))
    with pytest.raises(StyleError, match="relu9_1"):
        Stylizer([style], StyleConfig(style_layers=("relu9_1",)), backbone=tiny_backbone(0))


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type in ("cpu", "cuda", "mps")
    assert resolve_device(torch.device("cpu")).type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(StyleError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(StyleError, match="invalid device"):
        resolve_device("tpu")
