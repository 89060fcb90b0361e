"""Loss terms: gradients against finite differences (float64, tiny backbone) and the normalisation properties."""

from __future__ import annotations

import pytest
import torch

from videostyle.style import tiny_backbone
from videostyle.style.losses import (
    blend_grams,
    content_loss,
    gram_loss,
    gram_matrix,
    masked_pixel_loss,
    style_loss,
    tv_loss,
)

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@pytest.fixture(scope="module")
def bb64() -> torch.nn.Module:
    return tiny_backbone(3, widths=(3, 4, 4, 4, 4), dtype=torch.float64)


def _img(seed: int, h: int = 16, w: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, h, w, generator=g, dtype=torch.float64)


def test_content_loss_gradient_matches_finite_differences(bb64) -> None:
    target = bb64(_img(1), ["relu4_2"])["relu4_2"].detach()
    x = _img(2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: content_loss(bb64(t, ["relu4_2"])["relu4_2"], target), (x,))


def test_style_loss_gradient_matches_finite_differences(bb64) -> None:
    feats = bb64(_img(3), STYLE_LAYERS)
    targets = {k: gram_matrix(v).detach() for k, v in feats.items()}
    weights = dict(zip(STYLE_LAYERS, (1.0, 2.0, 0.5, 1.0, 1.0)))
    x = _img(4).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: style_loss(bb64(t, STYLE_LAYERS), targets, weights), (x,))


def test_gram_backward_matches_finite_differences_on_raw_features() -> None:
    f = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gram_matrix, (f,))
    a = torch.randn(1, 3, 3, dtype=torch.float64)
    a = a @ a.transpose(1, 2)
    assert torch.autograd.gradcheck(lambda t: gram_loss(t, a), (f[:1].detach().clone().requires_grad_(True),))


def test_tv_and_masked_temporal_gradients_match_finite_differences() -> None:
    x = _img(5, 6, 7).requires_grad_(True)
    target = _img(6, 6, 7)
    mask = torch.rand(1, 1, 6, 7, dtype=torch.float64)
    assert torch.autograd.gradcheck(tv_loss, (x,))
    assert torch.autograd.gradcheck(lambda t: masked_pixel_loss(t, target, mask), (x,))


def test_masked_temporal_is_ruders_mean_over_pixels_of_channel_sums() -> None:
    x, target = _img(7, 5, 4), _img(8, 5, 4)
    mask = (torch.rand(1, 1, 5, 4, dtype=torch.float64) > 0.5).double()
    expected = (mask * (x - target) ** 2).sum() / (5 * 4)
    assert torch.isclose(masked_pixel_loss(x, target, mask), expected)
    assert masked_pixel_loss(x, target, torch.zeros_like(mask)) == 0


def test_gram_is_resolution_independent_for_a_tiled_texture() -> None:
    tile = torch.rand(1, 8, 6, 6)
    big = tile.repeat(1, 1, 4, 4)
    assert torch.allclose(gram_matrix(tile), gram_matrix(big), rtol=1e-5, atol=1e-6)


def test_style_loss_is_zero_at_target_and_scale_invariant() -> None:
    feats = {"a": torch.rand(1, 4, 8, 8), "b": torch.rand(1, 6, 4, 4)}
    targets = {k: gram_matrix(v) for k, v in feats.items()}
    assert float(style_loss(feats, targets)) == pytest.approx(0.0, abs=1e-10)
    other = {k: torch.rand_like(v) for k, v in feats.items()}
    l1 = style_loss(other, targets)
    # scaling every activation by s scales Grams by s²: the relative loss of scaled features vs scaled targets
    # is unchanged, so a style weight means the same whatever the backbone's activation scale
    l2 = style_loss({k: 10 * v for k, v in other.items()}, {k: 100 * v for k, v in targets.items()})
    assert float(l1) == pytest.approx(float(l2), rel=1e-4)
    assert float(l1) > 0.01


def test_content_loss_relative_and_blend_weights() -> None:
    p = torch.rand(1, 4, 5, 5) + 0.5
    assert float(content_loss(p, p)) == 0.0
    assert float(content_loss(torch.zeros_like(p), p)) == pytest.approx(1.0)
    g1, g2 = {"a": torch.ones(1, 2, 2)}, {"a": 3 * torch.ones(1, 2, 2)}
    assert torch.allclose(blend_grams([g1, g2], [1.0, 3.0])["a"], torch.full((1, 2, 2), 2.5))
    with pytest.raises(ValueError):
        blend_grams([g1, g2], [0.0, 0.0])


def test_guided_gram_is_the_statistics_of_the_region_alone():
    """Gatys et al. (CVPR 2017): the guided Gram of a region equals the plain Gram of that region cut out, and the
    guided style loss ignores what lies outside the region."""
    from videostyle.style.losses import guided_style_loss, layer_guides

    torch.manual_seed(0)
    f = torch.rand(1, 4, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :, :4] = 1.0
    [(m, weight)] = layer_guides(mask, {"a": (8, 8)}, min_positions=1).values()
    assert weight == 32.0
    target = gram_matrix(f[..., :, :4])
    loss = guided_style_loss({"a": f}, {"a": target}, {"a": (m, weight)})
    assert float(loss) == pytest.approx(0.0, abs=1e-10)
    g = f.clone()
    g[..., :, 4:] = 5.0  # outside the region: no effect
    assert float(guided_style_loss({"a": g}, {"a": target}, {"a": (m, weight)})) == pytest.approx(0.0, abs=1e-10)
    g[..., :, :2] = 0.0  # inside: a loss
    assert float(guided_style_loss({"a": g}, {"a": target}, {"a": (m, weight)})) > 0.1
    assert layer_guides(torch.zeros(1, 1, 8, 8), {"a": (4, 4)}) == {}  # an empty region guides nothing
    assert layer_guides(mask, {"a": (8, 8)}) == {}  # 32 positions: too few to hold a style (default 64)
