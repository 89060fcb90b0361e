"""The student: a small fully convolutional image-to-image network trained per clip.

Shape (a U-Net in the manner of Texler et al., SIGGRAPH 2020, and Johnson et al.'s transform net): a full-resolution
stem, two stride-2 downsamplings, residual blocks at a quarter of the resolution, and two upsamplings back, each
joined by a skip connection to the encoder's features of that size. Choices that keep the pictures clean:

* upsampling is nearest-neighbour resize followed by a convolution (no transposed convolution, so no checkerboard);
* every convolution pads by reflection (no dark frame around the picture);
* no normalisation layer: instance norm re-estimates statistics per frame, which makes a video breathe; the inputs
  are centred instead and the residual branches start near zero;
* the output is the input plus a learnt paint layer (in logit space, so it stays in [0, 1]); the last layer starts at
  zero, so an untrained network returns the photo and training starts from the content.

Width (channels of the stem; the deepest layer has four times as many) and residual blocks are measured choices:
``benchmarks/fast.md``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3, stride=stride))


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.a = _conv(channels, channels)
        self.b = _conv(channels, channels)
        nn.init.zeros_(self.b[1].weight)  # the block starts as the identity
        nn.init.zeros_(self.b[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.leaky_relu(self.a(x), 0.2))


class _Up(nn.Module):
    """Nearest-neighbour resize to the skip's size, then a convolution over [upsampled, skip]."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv(cin + cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
        return F.leaky_relu(self.conv(torch.cat([x, skip], dim=1)), 0.2)


class StudentNet(nn.Module):
    """RGB in [0, 1] (N×3×H×W, any H and W) → stylised RGB in [0, 1] of the same size."""

    def __init__(self, width: int = 16, blocks: int = 3) -> None:
        super().__init__()
        if width < 1 or blocks < 0:
            raise ValueError(f"width must be >= 1 and blocks >= 0, got {width} and {blocks}")
        self.width, self.blocks = int(width), int(blocks)
        w = self.width
        self.stem = _conv(3, w)
        self.down1 = _conv(w, 2 * w, stride=2)
        self.down2 = _conv(2 * w, 4 * w, stride=2)
        self.body = nn.Sequential(*[_Residual(4 * w) for _ in range(self.blocks)])
        self.up1 = _Up(4 * w, 2 * w, 2 * w)
        self.up2 = _Up(2 * w, w, w)
        self.head = _conv(w, 3)
        nn.init.zeros_(self.head[1].weight)  # untrained, the network returns its input
        nn.init.zeros_(self.head[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x * 2.0 - 1.0
        s0 = F.leaky_relu(self.stem(centred), 0.2)
        s1 = F.leaky_relu(self.down1(s0), 0.2)
        s2 = F.leaky_relu(self.down2(s1), 0.2)
        y = self.up2(self.up1(self.body(s2), s1), s0)
        return torch.sigmoid(torch.logit(x.clamp(1e-3, 1 - 1e-3)) + self.head(y))

    def architecture(self) -> dict[str, int]:
        """What rebuilds this network (saved with its weights)."""
        return {"width": self.width, "blocks": self.blocks}


def multiply_adds_per_pixel(width: int, blocks: int) -> int:
    """Multiply-adds per output pixel of :class:`StudentNet` (convolutions only)."""
    w = width
    full = 3 * w + (w + 2 * w) * w + w * 3  # stem, up2 (upsampled + skip), head
    half = (w * 2 * w + (4 * w + 2 * w) * 2 * w) / 4  # down1 output, up1 (upsampled + skip)
    quarter = (2 * w * 4 * w + blocks * 2 * (4 * w) ** 2) / 16
    return int(9 * (full + half + quarter))
