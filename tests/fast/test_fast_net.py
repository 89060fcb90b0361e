"""The student network: shapes, an untrained network returns its input, no checkerboard or border artefacts, cost."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from videostyle.fast.net import StudentNet, multiply_adds_per_pixel


def _randomised(net: StudentNet, seed: int = 0) -> StudentNet:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    return net


@pytest.mark.parametrize("h,w", [(37, 53), (64, 64), (9, 16)])
def test_any_size_in_same_size_out_in_range(h, w):
    net = _randomised(StudentNet(8, 2))
    with torch.no_grad():
        y = net(torch.rand(2, 3, h, w))
    assert y.shape == (2, 3, h, w)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_untrained_network_returns_its_input():
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        y = StudentNet(8, 2)(x)
    assert float((y - x).abs().max()) < 2e-3  # the logit clamp at 1e-3 is all that differs


def test_flat_input_gives_flat_output_no_checkerboard_no_border():
    """Resize-convolutions and reflection padding: a flat grey frame stays flat everywhere, borders included (a
    transposed convolution leaves a checkerboard on it, zero padding a frame)."""
    net = _randomised(StudentNet(8, 2), seed=3)
    with torch.no_grad():
        y = net(torch.full((1, 3, 48, 80), 0.4))
    assert float(y.std(dim=(2, 3)).max()) < 1e-5
    assert float((y - 0.4).abs().max()) > 1e-3  # the randomised network does change it


def test_multiply_adds_formula_matches_a_flop_count():
    net = StudentNet(16, 3)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.rand(1, 3, 64, 96))
    counted = counter.get_total_flops() / 2 / (64 * 96)
    assert counted == pytest.approx(multiply_adds_per_pixel(16, 3), rel=0.02)


def test_bad_architecture_refused():
    with pytest.raises(ValueError, match="width"):
        StudentNet(0, 2)
