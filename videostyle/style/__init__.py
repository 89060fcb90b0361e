"""The style engine: Gatys et al. stylisation of one frame (with Ruder et al.'s masked temporal terms).

Torch tensors stay inside this package; its API takes and returns numpy images (RGB uint8 H×W×3, or float32 in
[0, 1]). See ``docs/architecture.md`` for the contract the video engine relies on.
"""

from __future__ import annotations

from .backbones import Backbone, check_model_name, tiny_backbone, vgg_backbone
from .devices import resolve_device
from .images import load_style_image
from .measures import content_distance, style_distance
from .stylizer import StyleResult, Stylizer
from .weights import WeightsUnavailableError, load_backbone, resolve_weights

__all__ = [
    "Backbone",
    "StyleResult",
    "Stylizer",
    "WeightsUnavailableError",
    "check_model_name",
    "content_distance",
    "load_backbone",
    "load_style_image",
    "resolve_device",
    "resolve_weights",
    "style_distance",
    "tiny_backbone",
    "vgg_backbone",
]
