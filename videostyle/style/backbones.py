"""Feature backbones: VGG feature stacks with named layers (``conv1_1``, ``relu1_1``, ``pool1``, …).

A :class:`Backbone` maps an RGB image batch in [0, 1] to the activations of the named layers it is asked for. It
does its own input preprocessing (torchvision's ImageNet normalisation, or Caffe's BGR 0–255 mean subtraction for
``vgg16-hed``), is built only up to the deepest layer needed, and never keeps gradients for its own parameters.

The module indices of the feature stack follow torchvision's ``vgg16``/``vgg19`` ``features`` exactly, so a
torchvision state_dict loads by key (``features.N.weight``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import torch
from torch import nn

from .._checks import did_you_mean
from ..config import check_model
from ..errors import StyleError

#: convolutions per block of each architecture
_CONVS_PER_BLOCK: dict[str, tuple[int, ...]] = {
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
_WIDTHS = (64, 128, 256, 512, 512)

#: ImageNet statistics used by torchvision models (RGB, [0, 1])
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
#: Caffe mean (BGR, 0–255) used by the HED weights
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a known backbone, else raise :class:`~videostyle.errors.UnknownModelError`."""
    return check_model("model", name)


def vgg_layer_names(arch: str) -> list[str]:
    """The name of every module of a VGG feature stack, in torchvision's order (``conv1_1``, ``relu1_1``, …)."""
    convs = _CONVS_PER_BLOCK["vgg16" if arch == "vgg16-hed" else arch]
    names: list[str] = []
    for b, n in enumerate(convs, start=1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


def min_input_side(arch: str | None, layers: Iterable[str]) -> int:
    """The smallest image side (px) whose features reach the deepest of ``layers``: 2 ** (poolings before it).

    Each 2×2 pooling halves the side (rounding down), so a side below this leaves a layer with no pixels.
    ``arch`` None: vgg19 (vgg16 and vgg16-hed pool at the same depths; the tiny test backbone is VGG16-shaped).
    """
    names = vgg_layer_names(arch or "vgg19")
    deepest = _deepest(names, layers)
    return 2 ** sum(1 for n in names[:deepest] if n.startswith("pool"))


def conv_indices(arch: str) -> list[int]:
    """Indices (in the feature stack) of the convolutions of ``arch``."""
    return [i for i, n in enumerate(vgg_layer_names(arch)) if n.startswith("conv")]


def _deepest(names: Sequence[str], layers: Iterable[str]) -> int:
    wanted = list(layers)
    if not wanted:
        raise StyleError("no feature layers requested")
    unknown = [layer for layer in wanted if layer not in names]
    if unknown:
        raise StyleError(f"unknown layer {unknown[0]!r}{did_you_mean(unknown[0], names)} "
                         f"(layers: {names[0]} … {names[-1]})")
    return max(names.index(layer) for layer in wanted)


def build_vgg_features(
    convs_per_block: Sequence[int],
    widths: Sequence[int],
    *,
    up_to: int | None = None,
    pooling: str = "max",
) -> tuple[nn.Sequential, list[str]]:
    """A VGG feature stack (conv 3×3, ReLU, 2×2 pooling) truncated after module index ``up_to`` (inclusive)."""
    if pooling not in ("max", "avg"):
        raise StyleError(f"invalid pooling {pooling!r}: expected 'max' or 'avg'")
    modules: list[nn.Module] = []
    names: list[str] = []
    in_ch = 3
    for b, (n, width) in enumerate(zip(convs_per_block, widths), start=1):
        for i in range(1, n + 1):
            modules += [nn.Conv2d(in_ch, width, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
            in_ch = width
        modules.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
        names.append(f"pool{b}")
    if up_to is not None:
        modules, names = modules[: up_to + 1], names[: up_to + 1]
    return nn.Sequential(*modules), names


class Backbone(nn.Module):
    """A frozen feature extractor with named layers.

    ``forward(x, layers)`` takes ``x`` as an RGB batch (N×3×H×W) in [0, 1] and returns ``{layer: activation}``
    for each requested layer. Preprocessing is ``"torch"`` (ImageNet mean/std) or ``"caffe"`` (BGR, 0–255, mean
    subtracted).
    """

    def __init__(self, name: str, features: nn.Sequential, layer_names: Sequence[str], preprocessing: str) -> None:
        super().__init__()
        if len(features) != len(layer_names):
            raise StyleError(f"{len(layer_names)} layer names for {len(features)} modules")
        if preprocessing not in ("torch", "caffe"):
            raise StyleError(f"invalid preprocessing {preprocessing!r}: expected 'torch' or 'caffe'")
        self.name = name
        self.features = features
        self.layer_names = list(layer_names)
        self.preprocessing = preprocessing
        if preprocessing == "torch":
            mean = torch.tensor(TORCH_MEAN).view(1, 3, 1, 1)
            scale = 1.0 / torch.tensor(TORCH_STD).view(1, 3, 1, 1)
        else:  # caffe: BGR order, 0-255 range, mean subtracted; the channel swap is done in preprocess()
            mean = torch.tensor(CAFFE_MEAN_BGR[::-1]).view(1, 3, 1, 1) / 255.0
            scale = torch.full((1, 3, 1, 1), 255.0)
        self.register_buffer("_mean", mean, persistent=False)
        self.register_buffer("_scale", scale, persistent=False)
        self.requires_grad_(False)
        self.eval()

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] → the network's input space."""
        y = (x - self._mean.to(x.dtype)) * self._scale.to(x.dtype)
        if self.preprocessing == "caffe":
            y = y.flip(1)  # RGB → BGR
        return y

    def forward(self, x: torch.Tensor, layers: Collection[str]) -> dict[str, torch.Tensor]:  # type: ignore[override]
        wanted = set(layers)
        last = _deepest(self.layer_names, wanted)
        out: dict[str, torch.Tensor] = {}
        h = self.preprocess(x)
        for i in range(last + 1):
            h = self.features[i](h)
            name = self.layer_names[i]
            if name in wanted:
                out[name] = h
        return out

    def truncated(self, layers: Iterable[str]) -> Backbone:
        """A backbone sharing this one's modules, cut after the deepest of ``layers``."""
        last = _deepest(self.layer_names, layers)
        return Backbone(self.name, self.features[: last + 1], self.layer_names[: last + 1], self.preprocessing)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, preprocessing={self.preprocessing!r}, deepest={self.layer_names[-1]!r}"


def vgg_backbone(arch: str, *, layers: Iterable[str] | None = None, pooling: str = "max") -> Backbone:
    """An *uninitialised* VGG backbone of ``arch`` ("vgg19", "vgg16", "vgg16-hed") built up to the deepest layer.

    Load weights into it with :func:`videostyle.style.weights.load_backbone` (which calls this).
    """
    check_model_name(arch)
    names = vgg_layer_names(arch)
    up_to = _deepest(names, layers) if layers is not None else None
    base = "vgg16" if arch == "vgg16-hed" else arch
    features, names = build_vgg_features(_CONVS_PER_BLOCK[base], _WIDTHS, up_to=up_to, pooling=pooling)
    return Backbone(arch, features, names, "caffe" if arch == "vgg16-hed" else "torch")


def tiny_backbone(
    seed: int = 0,
    *,
    widths: Sequence[int] = (8, 12, 16, 16, 16),
    pooling: str = "max",
    dtype: torch.dtype = torch.float32,
) -> Backbone:
    """A small randomly initialised VGG16-shaped backbone (same layer names) for fast unit and integration tests.

    It is *not* a trained network: its features are random projections, good for plumbing, gradients and
    determinism, not for judging stylisation quality.
    """
    gen = torch.Generator().manual_seed(seed)
    features, names = build_vgg_features(_CONVS_PER_BLOCK["vgg16"], widths, pooling=pooling)
    for m in features:
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * 9
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.05)
    bb = Backbone("tiny", features, names, "torch")
    return bb.to(dtype)
