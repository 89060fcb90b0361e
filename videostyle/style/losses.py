"""Loss terms of the Gatys optimisation and Ruder's temporal term, one function per concept.

Normalisation (chosen so that a weight means about the same at any resolution, on any backbone and for every layer):

* Gram matrices are averaged over positions, ``G = F Fᵀ / (H·W)``, so they do not grow with the image size.
* The style loss of a layer is *relative*: ``‖G − A‖²_F / ‖A‖²_F`` with ``A`` the (blended) target Gram. Layers
  with large activations (deep layers, Caffe-scaled inputs) therefore do not drown the others, and the loss of the
  content image itself is O(1) for every layer. Layer losses are combined with weights that sum to 1.
* The content loss is relative too: ``mean((F − P)²) / mean(P²)``.
* Total variation is the mean squared difference of neighbouring pixels (RGB in [0, 1]).
* The masked pixel (temporal) term is Ruder et al.'s ``(1/D) Σ c·(x − ω)²`` with D the number of pixels,
  summed over channels, pixel values in [0, 1].
* The guided style term (Gatys et al., CVPR 2017) compares the Gram matrices of a region alone (features weighted
  by its mask) with the style's: a matte's region (``--mask``) or a region style is held to its own style
  (:mod:`~videostyle.style.regions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from ..config import check_blend_weights
from ..tuning import TUNING

_EPS = 1e-12


class _Gram(torch.autograd.Function):
    """``G = F Fᵀ / n`` with a one-matmul backward, ``dF = (dG + dGᵀ) F / n`` (autograd's bmm backward needs two)."""

    @staticmethod
    def forward(ctx, f: torch.Tensor, n: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(f)
        ctx.n = n
        return torch.bmm(f, f.transpose(1, 2)) / n

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (f,) = ctx.saved_tensors
        return torch.bmm(grad + grad.transpose(1, 2), f) / ctx.n, None


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices of ``features`` (N×C×H×W) averaged over positions: N×C×C."""
    n, c, h, w = features.shape
    return _Gram.apply(features.reshape(n, c, h * w), float(h * w))


def content_loss(features: torch.Tensor, target: torch.Tensor, target_sq_mean: torch.Tensor | None = None) -> torch.Tensor:
    """Relative squared feature distance ``mean((F − P)²) / mean(P²)``.

    ``target_sq_mean`` (``mean(P²)``) may be passed precomputed, since the target is fixed during an optimisation.
    """
    den = target.pow(2).mean() if target_sq_mean is None else target_sq_mean
    return F.mse_loss(features, target, reduction="mean") / den.clamp_min(_EPS)


def gram_loss(features: torch.Tensor, target_gram: torch.Tensor, target_sq_norm: torch.Tensor | None = None) -> torch.Tensor:
    """Relative Gram distance of one layer: ``‖G(F) − A‖² / ‖A‖²`` (features of one image, N = 1 or a batch
    sharing the target). ``target_sq_norm`` (``‖A‖²``) may be passed precomputed."""
    g = gram_matrix(features)
    den = target_gram.pow(2).sum() if target_sq_norm is None else target_sq_norm
    return F.mse_loss(g, target_gram.expand_as(g), reduction="sum") / (g.shape[0] * den.clamp_min(_EPS))


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float] | None = None,
    target_sq_norms: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Weighted sum of :func:`gram_loss` over the layers of ``target_grams`` (weights normalised to sum 1)."""
    layers = list(target_grams)
    weights = {k: 1.0 for k in layers} if layer_weights is None else dict(layer_weights)
    total = sum(weights[k] for k in layers)
    if total <= 0:
        raise ValueError("style layer weights must sum to a positive value")
    loss = features[layers[0]].new_zeros(())
    for k in layers:
        if weights[k]:
            den = None if target_sq_norms is None else target_sq_norms[k]
            loss = loss + (weights[k] / total) * gram_loss(features[k], target_grams[k], den)
    return loss


def guided_grams(features: Mapping[str, torch.Tensor], guides: Mapping[str, tuple[torch.Tensor, float]]
                 ) -> dict[str, torch.Tensor]:
    """Guided Gram matrices (Gatys et al., CVPR 2017): ``(F·m)(F·m)ᵀ / Σm²`` per layer, the statistics of the
    region ``m`` alone. ``guides`` maps a layer to its mask at that layer's size (N×1×H×W) and ``Σm²``."""
    out = {}
    for k, (mask, weight) in guides.items():
        f = features[k] * mask
        n, c, h, w = f.shape
        out[k] = _Gram.apply(f.reshape(n, c, h * w), weight)
    return out


def layer_guides(mask: torch.Tensor, sizes: Mapping[str, tuple[int, int]],
                 min_positions: float = TUNING.min_guided_positions) -> dict[str, tuple[torch.Tensor, float]]:
    """An image-size mask (N×1×H×W in [0, 1]) averaged down to each layer's (h, w), with its ``Σm²``; layers
    where the region covers fewer than ``min_positions`` positions are left out (a strip a few pixels wide cannot
    hold a deep layer's structures: :attr:`EngineTuning.min_guided_positions <videostyle.tuning.EngineTuning>`)."""
    guides = {}
    for k, hw in sizes.items():
        m = F.adaptive_avg_pool2d(mask, hw)
        weight = float(m.pow(2).sum())
        if weight >= max(min_positions, _EPS):
            guides[k] = (m, weight)
    return guides


def guided_style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    guides: Mapping[str, tuple[torch.Tensor, float]],
    layer_weights: Mapping[str, float] | None = None,
    target_sq_norms: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """:func:`style_loss` of the guided region alone: its guided Grams against the style's (relative, per layer,
    weights normalised over the layers the region reaches)."""
    grams = guided_grams(features, guides)
    layers = [k for k in target_grams if k in grams]
    weights = {k: 1.0 for k in layers} if layer_weights is None else dict(layer_weights)
    total = sum(weights[k] for k in layers)
    loss = next(iter(features.values())).new_zeros(())
    if total <= 0:
        return loss
    for k in layers:
        a = target_grams[k]
        den = a.pow(2).sum() if target_sq_norms is None else target_sq_norms[k]
        loss = loss + (weights[k] / total) * F.mse_loss(grams[k], a.expand_as(grams[k]), reduction="sum") / (
            grams[k].shape[0] * den.clamp_min(_EPS))
    return loss


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of horizontally and vertically neighbouring pixels."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def masked_pixel_loss(image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ruder's temporal term ``(1/D) Σ_pixels mask · Σ_channels (x − ω)²`` for N×C×H×W images and N×1×H×W masks."""
    d = image.shape[-1] * image.shape[-2]
    return (mask * (image - target).pow(2)).sum(dim=(1, 2, 3)).mean() / d


def blend_grams(grams: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Blend the Gram targets of several styles with ``weights`` (normalised to sum 1)."""
    check_blend_weights(weights, len(grams))
    total = float(sum(weights))
    return {k: sum((w / total) * g[k] for g, w in zip(grams, weights)) for k in grams[0]}  # type: ignore[misc]
