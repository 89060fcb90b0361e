"""The loss of one optimisation, as terms that hold their targets (after pystiche's ``loss`` modules): the content
term (the content's features), the whole-frame style term (the blended Gram targets; a matte's regional term is
:class:`~videostyle.style.regions.RegionalStyle`), Ruder's temporal terms (warped previous results and their
masks) and total variation, weighted and summed by :class:`Objective`. The formulas are in
:mod:`~videostyle.style.losses`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from .losses import content_loss, masked_pixel_loss, style_loss, tv_loss

#: features of an image: ``{layer: N×C×H×W}``
Features = Mapping[str, torch.Tensor]


class ContentLoss:
    """Mean over ``layers`` of the relative feature distance to ``targets`` (the content's features)."""

    def __init__(self, targets: Mapping[str, torch.Tensor], layers: Sequence[str]) -> None:
        self.targets, self.layers = targets, tuple(layers)
        self.norms = {k: v.pow(2).mean() for k, v in targets.items()}

    def __call__(self, feats: Features, zero: torch.Tensor) -> torch.Tensor:
        return sum((content_loss(feats[k], self.targets[k], self.norms[k]) for k in self.layers), zero) / max(
            1, len(self.layers))


class StyleLoss:
    """Relative Gram distance to ``targets`` (blended Gram matrices), weighted over the layers; 0 without targets."""

    def __init__(self, targets: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float]) -> None:
        self.targets, self.layer_weights = targets, layer_weights
        self.norms = {k: v.pow(2).sum() for k, v in targets.items()}

    def __call__(self, feats: Features, zero: torch.Tensor) -> torch.Tensor:
        return style_loss(feats, self.targets, self.layer_weights, self.norms) if self.targets else zero


class TemporalLoss:
    """Ruder's masked pixel terms: Σ weight × (1/D) Σ mask · (x − target)² over ``terms`` = [(target N×3×H×W,
    mask N×1×H×W, weight), ...]."""

    def __init__(self, terms: Sequence[tuple[torch.Tensor, torch.Tensor, float]]) -> None:
        self.terms = list(terms)

    def __call__(self, x: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
        return sum((wt * masked_pixel_loss(x, tt, mm) for tt, mm, wt in self.terms), zero)


class Objective:
    """``loss(x) -> (total, terms)`` for :func:`~videostyle.style.optimize.optimize`: the backbone's ``features`` of
    ``x`` at ``layers``, the content, style and temporal terms and total variation with the weights
    ``(content, style, tv)``; ``terms`` are the weighted parts (detached), which sum to ``total``."""

    def __init__(self, features: Callable[[torch.Tensor, Sequence[str]], Features], layers: Sequence[str], *,
                 content: ContentLoss, style: Callable[[Features, torch.Tensor], torch.Tensor],
                 temporal: TemporalLoss, weights: tuple[float, float, float]) -> None:
        self.features, self.layers = features, tuple(layers)
        self.content, self.style, self.temporal = content, style, temporal
        self.weights = weights

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cw, sw, tvw = self.weights
        feats = self.features(x, self.layers)
        zero = x.new_zeros(())
        c = self.content(feats, zero)
        s = self.style(feats, zero)
        tv = tv_loss(x) if tvw > 0 else zero
        tmp = self.temporal(x, zero)
        parts = {"content": cw * c, "style": sw * s, "tv": tvw * tv, "temporal": tmp}
        total = parts["content"] + parts["style"] + parts["tv"] + parts["temporal"]
        return total, {k: v.detach() for k, v in parts.items()}
