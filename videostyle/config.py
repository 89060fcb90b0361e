"""Frozen configuration dataclasses shared by the CLI, batch manifests and the Python API.

The CLI parses options into these; nothing below the CLI reads ``argparse`` namespaces. Each dataclass validates
its own values in ``__post_init__`` and raises :class:`~videostyle.errors.UsageError` naming the field and value.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

MODELS = ("vgg19", "vgg16", "vgg16-hed")
FLOW_METHODS = ("dis-ultrafast", "dis-fast", "dis-medium", "farneback", "tvl1", "deepflow")
DEVICES = ("auto", "cpu", "cuda", "mps")
COLOR_MODES = ("none", "luminance", "histogram")
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
FILLS = ("content", "blend")
CUT_DETECTORS = ("content", "adaptive", "none")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"invalid {name} {value!r}: expected one of {', '.join(choices)}")


def _check_positive(name: str, value: float | None, *, allow_zero: bool = False, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or (value < 0 if allow_zero else value <= 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise UsageError(f"invalid {name} {value!r}: must be {bound}")


@dataclass(frozen=True)
class StyleConfig:
    """How one frame is stylised (the Gatys optimisation)."""

    model: str | None = None  # None: vgg19, falling back to vgg16-hed offline (with a warning)
    weights: str | None = None  # explicit weights file for the backbone
    pooling: str = "max"  # "max" | "avg"
    content_layers: tuple[str, ...] = ("relu4_2",)
    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    style_layer_weights: tuple[float, ...] | None = None  # one per style layer; None: equal
    content_weight: float = 1.0
    # Losses are normalised (relative Gram / feature distances, see videostyle/style/losses.py), so these weights
    # mean about the same at any resolution and on every backbone; tuned on vgg16-hed at 128-256 px.
    style_weight: float = 5.0e1
    tv_weight: float = 5.0
    style_blend_weights: tuple[float, ...] | None = None  # one per style image; None: equal
    style_scale: float = 1.0
    optimizer: str = "lbfgs"
    learning_rate: float = 1.0  # for L-BFGS; Adam uses its own default when this is left at 1.0
    init: str = "content"
    tolerance: float = 1.0e-4  # relative loss change over `tolerance_window` iterations that stops early
    tolerance_window: int = 50
    # mean pixel change (8-bit levels) over `change_window` iterations under which the image counts as converged
    change_tolerance: float = 1.0
    change_window: int = 10
    lbfgs_history: int = 20  # L-BFGS curvature pairs (Gatys et al. used scipy's default of 10; torch's is 100)
    levels: int = 1  # coarse-to-fine pyramid levels
    color: str = "none"  # colour preservation
    device: str = "auto"
    amp: bool = False  # bf16 autocast on CUDA
    channels_last: bool = False

    def __post_init__(self) -> None:
        if self.model is not None and self.model not in MODELS:
            close = difflib.get_close_matches(str(self.model), MODELS, n=1, cutoff=0.3)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"invalid model {self.model!r}{hint}: expected one of {', '.join(MODELS)}")
        _check_choice("pooling", self.pooling, ("max", "avg"))
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("init", self.init, INITS)
        _check_choice("color", self.color, COLOR_MODES)
        _check_choice("device", self.device.split(":")[0], DEVICES)
        for name in ("content_weight", "style_weight", "tv_weight", "tolerance", "change_tolerance"):
            _check_positive(name, getattr(self, name), allow_zero=True)
        _check_positive("style_scale", self.style_scale)
        _check_positive("learning_rate", self.learning_rate)
        if self.levels < 1:
            raise UsageError(f"invalid levels {self.levels!r}: must be >= 1")
        if self.lbfgs_history < 1:
            raise UsageError(f"invalid lbfgs_history {self.lbfgs_history!r}: must be >= 1")
        if self.tolerance_window < 1:
            raise UsageError(f"invalid tolerance_window {self.tolerance_window!r}: must be >= 1")
        if self.change_window < 1:
            raise UsageError(f"invalid change_window {self.change_window!r}: must be >= 1")
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            raise UsageError(
                f"style_layer_weights has {len(self.style_layer_weights)} values for "
                f"{len(self.style_layers)} style layers"
            )


@dataclass(frozen=True)
class VideoConfig:
    """How a clip is stylised over time (Ruder et al.)."""

    size: int = 384  # long side of the working resolution (even dimensions)
    iterations: int = 150  # budget per warm frame
    first_iterations: int = 500  # budget for the first frame of each shot
    temporal_weight: float = 2.0e2  # 0 = independent per-frame stylisation (the baseline)
    long_term: tuple[int, ...] = (1,)  # frame offsets of the temporal terms (closest-first masks)
    flow: str = "dis-medium"
    fill: str = "content"  # what fills unreliable pixels of the warped init
    cut_detector: str = "content"
    cut_threshold: float | None = None  # detector default when None
    passes: int = 1  # multi-pass bidirectional scheme when > 1 (pass 1 forwards, then alternating directions)
    pass_iterations: int = 50  # budget per frame in passes 2…
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 16:
            raise UsageError(f"invalid size {self.size!r}: must be >= 16")
        _check_positive("iterations", self.iterations, allow_zero=True)
        _check_positive("first_iterations", self.first_iterations, allow_zero=True)
        _check_positive("pass_iterations", self.pass_iterations, allow_zero=True)
        _check_positive("temporal_weight", self.temporal_weight, allow_zero=True)
        _check_choice("flow", self.flow, FLOW_METHODS)
        _check_choice("fill", self.fill, FILLS)
        _check_choice("cut_detector", self.cut_detector, CUT_DETECTORS)
        if not self.long_term or any(k < 1 for k in self.long_term):
            raise UsageError(f"invalid long_term {self.long_term!r}: offsets must be integers >= 1")
        if self.passes < 1:
            raise UsageError(f"invalid passes {self.passes!r}: must be >= 1")


@dataclass(frozen=True)
class EncodeConfig:
    """How the result is written. The container/codec follows the output extension unless ``codec`` is set."""

    codec: str | None = None  # "h264" | "prores" | "ffv1" | "png" | "png16"; None: from the extension
    crf: int = 18
    preset: str = "medium"
    audio: bool = True  # remux the source's audio streams


@dataclass(frozen=True)
class RangeConfig:
    """Which part of the input is processed."""

    start: float | None = None  # seconds
    duration: float | None = None  # seconds
    max_frames: int | None = None

    def __post_init__(self) -> None:
        _check_positive("start", self.start, allow_zero=True, allow_none=True)
        _check_positive("duration", self.duration, allow_none=True)
        _check_positive("max_frames", self.max_frames, allow_none=True)


@dataclass(frozen=True)
class StylizeConfig:
    """One stylisation job: inputs, outputs and every setting."""

    input: str
    output: str
    styles: tuple[str, ...]
    style: StyleConfig = field(default_factory=StyleConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    range: RangeConfig = field(default_factory=RangeConfig)
    work_dir: str | None = None  # frame store; default: beside the output
    report: str | None = None
    preview: str | None = None
    force: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if not self.styles:
            raise UsageError("at least one --style image is required")
        if (
            self.style.style_blend_weights is not None
            and len(self.style.style_blend_weights) != len(self.styles)
        ):
            raise UsageError(
                f"{len(self.style.style_blend_weights)} style blend weights given for {len(self.styles)} styles"
            )

    def default_work_dir(self) -> Path:
        out = Path(self.output)
        return out.with_name(out.name + ".videostyle-work")


def to_dict(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(obj), default=str))


def config_hash(payload: Any) -> str:
    """A stable hash of JSON-serialisable settings (used by the frame store to refuse mixing runs)."""
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
