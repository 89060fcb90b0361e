"""The targets cache of a :class:`~videostyle.style.Stylizer`: each style's Gram matrices per content size (and per
content colour statistics with colour preservation), and the content features of the last few contents (a warm
frame and the crops around its new content)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..config import StyleConfig
from . import color as colour
from .images import resize01, to_tensor
from .losses import blend_grams, gram_matrix

#: sizes (and colour statistics) whose style Grams are kept
_STYLE_CACHE_SIZE = 8
#: contents whose features are kept
_CONTENT_CACHE_SIZE = 4

Features = Callable[[torch.Tensor, Sequence[str]], dict[str, torch.Tensor]]


def style_working_size(style_hw: tuple[int, int], content_hw: tuple[int, int], style_scale: float) -> tuple[int, int]:
    """(w, h) a style image of (h, w) ``style_hw`` is used at for a content of (h, w): long side = style_scale × the
    content's (at least 8 px)."""
    h, w = content_hw
    sh, sw = style_hw
    long_side = max(8, round(style_scale * max(h, w)))
    scale = long_side / max(sh, sw)
    return max(1, round(sw * scale)), max(1, round(sh * scale))


class Targets:
    """Style Gram targets and content feature targets, computed with ``features`` (the backbone, float32 out) and
    cached.

    Args:
        styles: the style images, float32 H×W×3 in [0, 1].
        config: the style settings (``style_scale``, ``color``, the layers).
        blend_weights: the default blend of the styles.
        features: ``features(x, layers) -> {layer: tensor}``.
        device, dtype: where and in what the backbone's inputs live.
    """

    def __init__(self, styles: Sequence[np.ndarray], config: StyleConfig, blend_weights: Sequence[float],
                 features: Features, device: torch.device, dtype: torch.dtype) -> None:
        self.styles = list(styles)
        self.config = config
        self.blend_weights = tuple(blend_weights)
        self.style_layers = tuple(config.style_layers)
        self.content_layers = tuple(config.content_layers)
        self._features = features
        self.device, self.dtype = device, dtype
        self._style_cache: OrderedDict[tuple, list[dict[str, torch.Tensor]]] = OrderedDict()
        self._style_stats: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._style_serial = 0
        self._content_cache: OrderedDict[tuple, dict[str, torch.Tensor]] = OrderedDict()

    def clear(self) -> None:
        """Forget every cached target (benchmarks time a cold start this way)."""
        self._style_cache.clear()
        self._style_stats.clear()
        self._content_cache.clear()

    def style_size(self, content_hw: tuple[int, int], style_index: int = 0) -> tuple[int, int]:
        """(w, h) of style image ``style_index`` for a content of (h, w): long side = style_scale × content's."""
        return style_working_size(self.styles[style_index].shape[:2], content_hw, self.config.style_scale)

    def prepared_style(self, i: int, content01: np.ndarray) -> np.ndarray:
        """Style image ``i`` as the backbone sees it for this content: resized, colour-matched per ``color``."""
        style = resize01(self.styles[i], self.style_size(content01.shape[:2], i))
        mode = self.config.color
        if mode == "histogram":
            return colour.match_color(style, content01)
        if mode == "luminance":
            return colour.gray3(colour.match_luminance(colour.luminance(style), colour.luminance(content01)))
        return style

    def style(self, content01: np.ndarray, blend_weights: Sequence[float] | None = None) -> dict[str, torch.Tensor]:
        """Blended Gram targets for a content of this size: each style's Grams are cached per size (and per colour
        stats when needed) and blended with ``blend_weights`` (default: the config's; a style schedule's frame)."""
        grams = self._style_grams(content01)
        return blend_grams(grams, self.blend_weights if blend_weights is None else tuple(blend_weights))

    def _style_grams(self, content01: np.ndarray) -> list[dict[str, torch.Tensor]]:
        h, w = content01.shape[:2]
        key: tuple = (h, w)
        stats = None
        if self.config.color != "none":
            stats = colour.color_stats(content01)
            for k in self._style_cache:
                if k[:2] == (h, w) and colour.stats_close(self._style_stats[k], stats):
                    self._style_cache.move_to_end(k)
                    return self._style_cache[k]
            self._style_serial += 1
            key = (h, w, self._style_serial)
            self._style_stats[key] = stats
        elif key in self._style_cache:
            self._style_cache.move_to_end(key)
            return self._style_cache[key]
        grams = []
        with torch.no_grad():
            for i in range(len(self.styles)):
                s = to_tensor(self.prepared_style(i, content01), self.device, self.dtype)
                feats = self._features(s, self.style_layers)
                grams.append({k: gram_matrix(feats[k].float()) for k in self.style_layers})
        self._style_cache[key] = grams
        while len(self._style_cache) > _STYLE_CACHE_SIZE:
            old_key, _ = self._style_cache.popitem(last=False)
            self._style_stats.pop(old_key, None)
        return grams

    def content(self, content01: np.ndarray) -> dict[str, torch.Tensor]:
        """Content feature targets of ``content01`` (as the optimiser sees it), cached for the last few contents."""
        key = (content01.shape, hashlib.blake2b(content01.tobytes(), digest_size=16).digest())
        if key in self._content_cache:
            self._content_cache.move_to_end(key)
            return self._content_cache[key]
        with torch.no_grad():
            feats = self._features(to_tensor(content01, self.device, self.dtype), self.content_layers)
        targets = {k: v.detach().float() for k, v in feats.items()}
        self._content_cache[key] = targets
        while len(self._content_cache) > _CONTENT_CACHE_SIZE:
            self._content_cache.popitem(last=False)
        return targets
