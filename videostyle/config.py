"""The option schema: frozen configuration dataclasses shared by the CLI, batch manifests and the Python API.

**To add an option**, add a field to one of the dataclasses below with its default and
``metadata=opt("help text", ...)``: ``minimum=`` / ``above=`` (exclusive) / ``maximum=`` for numbers (always
checked to be finite), ``choices=`` for names, ``check=`` for anything else (``check(key, value)`` raising
:class:`~videostyle.errors.UsageError`), ``flag=`` / ``short=`` / ``metavar=`` for the command line. That is all:
the ``stylize`` command line (:mod:`videostyle.cli` builds its parser from these fields), manifest keys
(``--max-frames`` → ``max_frames``, :meth:`StylizeConfig.from_mapping`) and validation of Python-built configs
(``__post_init__``) all follow from it; ``tests/test_config_schema.py`` checks every field is reachable from each.
``effect=`` says what the option changes: ``"frames"`` (the default: the stylised frames, so it enters the frame
store's hash), ``"output"`` (only what is written from the stored frames), ``"speed"`` or ``"run"``; ``path=True``
marks a file or folder (resolved beside a manifest). ``docs/options.md`` is generated from these fields
(``python scripts/make_options_doc.py``).
Supported types: ``int``, ``float``, ``str``, ``bool``, ``tuple[int | float | str, ...]``, each optionally ``| None``.
Checks that involve several fields go in the class's ``__post_init__`` after ``validate(self)``.
Nothing here knows about argparse or files; the machinery is in :mod:`videostyle._schema`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _schema
from ._checks import check_choice, check_number
from ._parse import parse_frames, parse_style_schedule  # noqa: F401  (part of the config API)
from ._schema import opt, validate
from .errors import BlendWeightsError, UnknownModelError, UsageError

MODELS = ("vgg19", "vgg16", "vgg16-hed")
FLOW_METHODS = ("dis-ultrafast", "dis-fast", "dis-medium", "farneback", "tvl1", "deepflow")
DEFAULT_FLOW = "dis-medium"  # the accurate DIS preset (benchmarks/flow.md); also the flow and metrics APIs' default
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16", "auto")
COLOR_MODES = ("none", "luminance", "histogram")
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
FILLS = ("match", "cold", "content", "paint", "blend", "warped", "inpaint")
CUT_DETECTORS = ("content", "adaptive", "none")
CODECS = ("h264", "prores", "ffv1", "png", "png16")
#: x264's preset names (x264_preset_names in x264.h)
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
DEFAULT_CRF = 18  # H.264: visually near-lossless; also the media writer's default
DEFAULT_PRESET = "medium"

#: ``videostyle batch`` on Ray: seconds to wait for joining a cluster / starting a local instance, task retries
RAY_CONNECT_TIMEOUT = 60.0
RAY_MAX_RETRIES = 3


def check_model(key: str, name: str) -> str:
    """Return ``name`` if it is a known backbone, else raise :class:`UnknownModelError` (with a suggestion)."""
    return check_choice(key, name, MODELS, error=UnknownModelError)


def _check_device(key: str, value: str) -> None:
    check_choice(key, value.split(":")[0], DEVICES)


def _check_frames(key: str, value: str) -> None:
    parse_frames(value)


def _check_style_schedule(key: str, value: Sequence[str]) -> None:
    parse_style_schedule(value)


def check_blend_weights(weights: Sequence[float] | None, styles: int) -> None:
    """Style blend weights: one per style image, none negative, not all zero (None: equal weights).

    The one check of blend weights (config, :class:`~videostyle.style.Stylizer`, ``losses.blend_grams``); raises
    :class:`~videostyle.errors.BlendWeightsError` (a ``UsageError``, ``StyleError`` and ``ValueError``).
    """
    if weights is None:
        return
    key = "style_blend_weights"
    if len(weights) != styles:
        raise BlendWeightsError(f"{len(weights)} style blend weights given for {styles} styles", key=key,
                                value=weights)
    for w in weights:
        check_number(key, w, minimum=0, error=BlendWeightsError)
    if not any(weights):
        raise BlendWeightsError(f"invalid {key} {tuple(weights)!r}: not all 0", key=key, value=weights)


@dataclass(frozen=True)
class StyleConfig:
    """How one frame is stylised (the Gatys optimisation)."""

    model: str | None = field(default=None, metadata=opt(
        "backbone (default vgg19, falling back to vgg16-hed when offline)", check=check_model,
        metavar="{" + ",".join(MODELS) + "}", example="vgg16"))
    weights: str | None = field(default=None, metadata=opt("backbone weights file", metavar="PATH", path=True))
    device: str = field(default="auto", metadata=opt(f"one of {', '.join(DEVICES)} (or cuda:N)",
                                                     check=_check_device, example="cpu"))
    pooling: str = field(default="max", metadata=opt(choices=("max", "avg")))
    content_layers: tuple[str, ...] = field(default=("relu4_2",), metadata=opt(metavar="LAYER[,LAYER...]"))
    style_layers: tuple[str, ...] = field(default=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
                                          metadata=opt(metavar="LAYER[,LAYER...]"))
    style_layer_weights: tuple[float, ...] | None = field(default=None, metadata=opt(
        "one weight per style layer (default: equal)", minimum=0, metavar="W[,W...]",
        example=(1.0, 2.0, 1.0, 1.0, 1.0)))
    content_weight: float = field(default=1.0, metadata=opt(minimum=0))
    # Losses are normalised (relative Gram / feature distances, see videostyle/style/losses.py), so these weights
    # mean about the same at any resolution and on every backbone; chosen on vgg16-hed at 192 px on a person
    # (benchmarks/style_weight_bench.py, docs/style.md): 10 keeps the face legible, 50 over-paints it.
    style_weight: float = field(default=1.0e1, metadata=opt(minimum=0))
    tv_weight: float = field(default=5.0, metadata=opt(minimum=0))
    style_blend_weights: tuple[float, ...] | None = field(default=None, metadata=opt(
        "one weight per style image (default: equal)", minimum=0, metavar="W[,W...]", example=(1.0,)))
    style_scale: float = field(default=1.0, metadata=opt(above=0))
    optimizer: str = field(default="lbfgs", metadata=opt(choices=OPTIMIZERS))
    learning_rate: float = field(default=1.0, metadata=opt(
        "step size (L-BFGS; Adam uses its own default when this is left at 1.0)", above=0))
    init: str = field(default="content", metadata=opt(choices=INITS))
    tolerance: float = field(default=1.0e-4, metadata=opt(
        "stop when the loss improves by less than this (relative) over --tolerance-window iterations", minimum=0))
    tolerance_window: int = field(default=50, metadata=opt("iterations over which --tolerance is measured",
                                                           minimum=1))
    change_tolerance: float = field(default=1.0, metadata=opt(
        "stop when --change-window iterations move the image by less than this many 8-bit levels on average "
        "(0: off)", minimum=0, metavar="LEVELS"))
    change_window: int = field(default=10, metadata=opt("iterations over which --change-tolerance is measured",
                                                        minimum=1))
    lbfgs_history: int = field(default=20, metadata=opt(
        "L-BFGS curvature pairs (Gatys et al. used scipy's default of 10; torch's is 100)", minimum=1))
    levels: int = field(default=1, metadata=opt("coarse-to-fine levels", minimum=1))
    color: str = field(default="none", metadata=opt("colour preservation", choices=COLOR_MODES))
    # Performance options. precision enters the frame-store hash as resolved (fp32 | bf16); channels_last and
    # compile do not change the frames, so they stay out of it (effect="speed").
    precision: str = field(default="fp32", metadata=opt(
        "backbone precision: bf16 runs it under autocast (Grams, losses, optimiser stay fp32); auto picks bf16 on "
        "CUDA and on CPUs with native bf16 (AVX-512-BF16, AMX)", choices=PRECISIONS))
    channels_last: bool = field(default=False, metadata=opt("channels-last memory format (CUDA only)",
                                                            effect="speed"))
    compile: bool = field(default=False, metadata=opt("torch.compile the backbone (measured slower on CPU)",
                                                      effect="speed"))

    def __post_init__(self) -> None:
        validate(self)
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            raise UsageError(
                f"style_layer_weights has {len(self.style_layer_weights)} values for "
                f"{len(self.style_layers)} style layers"
            )
        if self.style_layer_weights is not None and not any(self.style_layer_weights):
            raise UsageError(f"invalid style_layer_weights {self.style_layer_weights!r}: not all 0")


@dataclass(frozen=True)
class VideoConfig:
    """How a clip is stylised over time (Ruder et al.)."""

    size: int = field(default=384, metadata=opt("long side of the working resolution (px)", minimum=16))
    iterations: int = field(default=150, metadata=opt("iteration budget per warm frame", minimum=0))
    first_iterations: int = field(default=500, metadata=opt("iteration budget for the first frame of each shot",
                                                            minimum=0))
    temporal_weight: float = field(default=2.0e2, metadata=opt(
        "weight of the temporal loss; 0 = independent per-frame stylisation", minimum=0))
    long_term: tuple[int, ...] = field(default=(1,), metadata=opt(
        "frame offsets of temporal terms, e.g. 1,2,4", minimum=1, metavar="K[,K...]"))
    flow: str = field(default=DEFAULT_FLOW, metadata=opt("optical-flow backend", choices=FLOW_METHODS))
    fill: str = field(default="cold", metadata=opt("what fills unreliable pixels of the init", choices=FILLS))
    cut_detector: str = field(default="content", metadata=opt(choices=CUT_DETECTORS))
    cut_threshold: float | None = field(default=None, metadata=opt("cut detector threshold (default: the "
                                                                   "detector's)", minimum=0))
    passes: int = field(default=1, metadata=opt(
        "sweeps over each shot: 1 forward pass, more alternate backward/forward (Ruder et al.)", minimum=1))
    pass_iterations: int = field(default=50, metadata=opt("iteration budget per frame in passes 2 and later",
                                                          minimum=0))
    seed: int = field(default=0, metadata=opt())
    # what the optimiser sees depends on it, so it lives here (in the frame-store hash), not with the encoding
    input_colorspace: str | None = field(default=None, metadata=opt(
        "OpenColorIO colour space of the input (default: sRGB for 8/16-bit, scene-linear Rec.709 for EXR and "
        "float TIFF unless the file names one; $OCIO or the built-in studio config)", metavar="NAME",
        example="ACEScg"))
    style_schedule: tuple[str, ...] | None = field(default=None, metadata=opt(
        "styles changing over time (replaces --style-blend-weights): TIME:STYLE keys, TIME in seconds of the source "
        "or a frame number with f (1048f: a plate's number; on a video, the frame's index counted from 0), STYLE a "
        "--style position from 1 or blend weights W/W/...; the Gram targets blend linearly between keys, e.g. "
        "0:1,2:1,3:2 (style 1 until 2 s, style 2 from 3 s)", check=_check_style_schedule,
        metavar="TIME:STYLE[,...]", example=("0:1", "2:1")))

    def __post_init__(self) -> None:
        validate(self)


#: --mask-feather when not given (px at the working size)
DEFAULT_MASK_FEATHER = 3.0


@dataclass(frozen=True)
class EncodeConfig:
    """How the result is written. The container/codec follows the output extension unless ``codec`` is set."""

    codec: str | None = field(default=None, metadata=opt("codec (default: from the output extension)",
                                                         choices=CODECS, effect="output"))
    crf: int = field(default=DEFAULT_CRF, metadata=opt("H.264 constant rate factor (0 lossless … 51)", minimum=0,
                                                       maximum=51, effect="output"))
    preset: str = field(default=DEFAULT_PRESET, metadata=opt("H.264 (x264) speed/size preset", choices=X264_PRESETS,
                                                             effect="output"))
    audio: bool = field(default=True, metadata=opt("do not copy the source's audio", negate=True, effect="output"))
    output_colorspace: str | None = field(default=None, metadata=opt(
        "OpenColorIO colour space of the output (default: the input's for the same kind of file, else sRGB for "
        "8/16-bit and video, scene-linear Rec.709 for EXR)", metavar="NAME", example="ACEScg", effect="output"))
    full_resolution: bool = field(default=False, metadata=opt(
        "write the result at the input's resolution: the stylised frames scaled up (bicubic) from the working "
        "size, a plate's alpha and highlights at full resolution", effect="output"))
    # the matte's composite with the source happens on writing (not in the frame store's hash)
    mask_feather: float | None = field(default=None, metadata=opt(
        "with --mask: width of the soft edge inside the matte where the stylised frame fades into the source (px "
        f"at the working size; 0: the matte as it is; default {DEFAULT_MASK_FEATHER:g})", minimum=0, metavar="PX",
        example=6.0, effect="output"))

    def __post_init__(self) -> None:
        validate(self)

    @property
    def feather(self) -> float:
        """``mask_feather``, or its default when not given."""
        return DEFAULT_MASK_FEATHER if self.mask_feather is None else self.mask_feather


@dataclass(frozen=True)
class RangeConfig:
    """Which part of the input is processed."""

    start: float | None = field(default=None, metadata=opt(minimum=0, metavar="SEC"))
    duration: float | None = field(default=None, metadata=opt(above=0, metavar="SEC"))
    max_frames: int | None = field(default=None, metadata=opt(above=0))
    frames: str | None = field(default=None, metadata=opt(
        "frame numbers of an image sequence to process, inclusive (plate.1001.exr is frame 1001)",
        metavar="FIRST-LAST", check=_check_frames, example="1001-1100"))

    def __post_init__(self) -> None:
        validate(self)

    @property
    def frame_numbers(self) -> tuple[int, int] | None:
        """``frames`` as (first, last), or None."""
        return parse_frames(self.frames)


MODES = ("optimize", "fast")


@dataclass(frozen=True)
class FastConfig:
    """Fast mode (``--mode fast``): a per-clip student network trained on keyframes the optimisation engine paints,
    then run over every frame (:mod:`videostyle.fast`). The defaults are measured in ``benchmarks/fast.md``."""

    mode: str = field(default="optimize", metadata=opt(
        "optimize: every frame optimised (Gatys + Ruder); fast: keyframes optimised, a small network trained on "
        "them renders every frame", choices=MODES))
    keyframe_every: int = field(default=48, metadata=opt(
        "fast mode: at most this many frames between keyframes (each shot's first frame is one)", minimum=1))
    keyframe_change: float = field(default=0.5, metadata=opt(
        "fast mode: also a keyframe where this share of the frame cannot be carried from the last keyframe by the "
        "flow (0.5: half of it is new; 1: never, and no shot closes with a keyframe either)", above=0, maximum=1,
        metavar="SHARE", example=0.3))
    train_steps: int = field(default=200, metadata=opt(
        "fast mode: most training steps of the network (with the strokes carried, more barely change the frames; a "
        "network that paints alone, --no-carry or for --net, gains from 800)", minimum=0))
    train_seconds: float | None = field(default=None, metadata=opt(
        "fast mode: stop training after this many seconds (the result then depends on the machine's speed)",
        above=0, metavar="SEC"))
    net_width: int = field(default=16, metadata=opt(
        "fast mode: channels of the network's first layer (its deepest has 4x as many)", minimum=4, maximum=128))
    carry: bool = field(default=True, metadata=opt(
        "fast mode: do not carry the keyframes' brush strokes along the flow onto the frames between them (the "
        "network's own picture only: softer, no strokes)", negate=True))
    net: str | None = field(default=None, metadata=opt(
        "fast mode: render with this trained network (from --save-net) instead of training one", metavar="FILE",
        path=True))
    save_net: str | None = field(default=None, metadata=opt(
        "fast mode: also write the trained network here, to render other clips with --net", metavar="FILE",
        path=True, effect="output"))

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class StylizeConfig:
    """One stylisation job: inputs, outputs and every setting."""

    input: str = field(metadata=opt(
        "video file, image sequence (pattern like shot/%%05d.png, or a folder) or image", positional=True,
        required=True, path=True))
    output: str = field(metadata=opt("output video (.mp4 .mov .mkv), image, or image sequence", short="-o",
                                     required=True, path=True, effect="output"))
    styles: tuple[str, ...] = field(metadata=opt("style image; repeat for several styles", flag="--style",
                                                 required=True, repeat=True, metavar="IMG", path=True))
    style: StyleConfig = field(default_factory=StyleConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    range: RangeConfig = field(default_factory=RangeConfig)
    fast: FastConfig = field(default_factory=FastConfig)
    mask: str | None = field(default=None, metadata=opt(
        "matte restricting the stylisation (white = stylise; the alpha channel when the file has one, else the "
        "first channel): an image sequence (paired with numbered plates by frame number, with a video by frame "
        "index from 0), a video (paired by time) or one image; outside it the source passes through",
        metavar="MATTE", path=True))
    outside_style: str | None = field(default=None, metadata=opt(
        "with --mask: style image of the region outside the matte (the --style images paint the inside)",
        metavar="IMG", path=True))
    work_dir: str | None = field(default=None, metadata=opt("frame store (default: beside the output)",
                                                            metavar="DIR", path=True, effect="run"))
    report: str | None = field(default=None, metadata=opt("write a JSON report", metavar="FILE.json", path=True,
                                                           effect="output"))
    preview: str | None = field(default=None, metadata=opt("side-by-side (source | stylised) video",
                                                           metavar="FILE", path=True, effect="output"))
    force: bool = field(default=False, metadata=opt("overwrite the output and restart the frame store",
                                                    effect="run"))
    # how a run behaves beside another on the same work directory; not in the frame store's hash
    wait_lock: bool = field(default=False, metadata=opt(
        "when another run holds the work directory, wait for it to end and then go on from its frames (default: "
        "exit 1 at once naming the holder)", effect="run"))
    quiet: bool = field(default=False, metadata=opt("no progress display", effect="run"))

    def __post_init__(self) -> None:
        if not self.styles:
            raise UsageError("at least one --style image is required")
        validate(self)
        check_blend_weights(self.style.style_blend_weights, len(self.styles))
        parse_style_schedule(self.video.style_schedule, len(self.styles))
        if self.video.style_schedule is not None and self.style.style_blend_weights is not None:
            raise UsageError("--style-schedule and --style-blend-weights both set the style blend; give one")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, where: str | None = None,
                     name_keys: bool = True) -> StylizeConfig:
        """A job from option keys (``stylize`` flags with underscores: ``max_frames``, ``no_audio``, ``style``).

        Values may be native (numbers, bools, lists) or text as on a command line (``"1,2,4"``); missing keys take
        their defaults, ``None`` values too. Raises :class:`~videostyle.errors.OptionsError` listing every problem,
        each naming ``where`` (e.g. ``job 2 (sh020)``), the key (unless ``name_keys=False``: the command line,
        whose messages name the option themselves) and the value.
        """
        return _schema.build(cls, mapping, where=where, name_keys=name_keys)

    @classmethod
    def option_keys(cls) -> list[str]:
        """Every key :meth:`from_mapping` accepts."""
        return _schema.option_keys(cls)

    def default_work_dir(self) -> Path:
        out = Path(self.output)
        return out.with_name(out.name + ".videostyle-work")

    def store_dir(self) -> Path:
        """The frame store's folder: ``work_dir``, else :meth:`default_work_dir` (beside the output)."""
        return Path(self.work_dir) if self.work_dir else self.default_work_dir()


def to_dict(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(obj), default=str))


def config_hash(payload: Any) -> str:
    """A stable hash of JSON-serialisable settings (used by the frame store to refuse mixing runs)."""
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
