"""The :class:`Stylizer`: Gatys et al. stylisation of one frame, with Ruder et al.'s masked temporal terms.

Typical use (the video engine calls ``run`` once per frame)::

    st = Stylizer([load_style_image("starry_night.jpg")], StyleConfig(model="vgg16-hed"))
    res = st.run(frame, init=warped_previous, iterations=150,
                 temporal=[(warped_previous01, mask, 200.0)], seed=0)
    res.image  # uint8 H×W×3

Style Gram targets are computed once per content size (and, with colour preservation, per content colour
statistics) and cached; content targets are cached for the last content frame.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..config import StyleConfig, check_blend_weights
from ..errors import StyleError
from ..tuning import TUNING, EngineTuning
from . import color as colour
from . import memory
from .devices import fast_bf16, resolve_device, resolve_precision
from .focus import check_map, paint_focus
from .images import check_image, resize01, to_numpy01, to_tensor, to_uint8
from .optimize import image_change, last_stop, optimize
from .regions import RegionalStyle, RegionSpec, check_regions
from .targets import Targets, style_working_size  # noqa: F401  (style_working_size: its name before issue 21)
from .terms import ContentLoss, Objective, StyleLoss, TemporalLoss
from .weights import load_backbone

log = logging.getLogger(__name__)

#: (target H×W×3 in [0, 1] or uint8, mask H×W in [0, 1], weight)
TemporalTerm = tuple[np.ndarray, np.ndarray, float]

#: torch.compile backend of ``StyleConfig.compile`` (tests use "eager" to trace quickly)
COMPILE_BACKEND = "inductor"


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """A RuntimeWarning shown once per process (a batch builds many Stylizers; torch resets warning registries)."""
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _device_memory_errors(run: Callable[..., StyleResult]) -> Callable[..., StyleResult]:
    """``Stylizer.run`` with an accelerator's out-of-memory error turned into a one-line
    :class:`~videostyle.errors.DeviceOutOfMemoryError` naming the working size that fits."""
    @functools.wraps(run)
    def wrapper(self: Stylizer, content: np.ndarray, *args: Any, **kwargs: Any) -> StyleResult:
        try:
            return run(self, content, *args, **kwargs)
        except RuntimeError as err:
            if not memory.is_device_oom(err):
                raise
            h, w = np.shape(content)[:2]
            error = memory.out_of_memory_error(
                (w, h), device=str(self.device), model=self.backbone_name, precision=self.precision,
                styles=len(self.styles), style_scale=self.config.style_scale)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        raise error

    return wrapper


@dataclass
class StyleResult:
    """One stylised frame. ``loss`` holds the *weighted* terms (they sum to ``total``) of the returned image."""

    image: np.ndarray
    iterations: int
    loss: dict[str, float]
    stopped_early: bool
    seconds: float
    history: list[float] = field(default_factory=list, repr=False)
    #: full-frame-equivalent loss evaluations: ``iterations`` with those spent on crops counted by their area
    effort: float = 0.0
    #: why it stopped ("budget", "tolerance", "settled": :func:`~videostyle.style.optimize.last_stop`) and each
    #: optimisation run, ``{"part": "frame" | "new content", "iterations", "stopped_by"}``
    stopped_by: str = "budget"
    phases: list[dict[str, Any]] = field(default_factory=list)


class Stylizer:
    """Stylises single frames with a fixed set of styles, configuration and backbone.

    Args:
        styles: style images, RGB uint8 (or float in [0, 1]) H×W×3.
        config: the :class:`~videostyle.config.StyleConfig`.
        device: None (use ``config.device``), a name (auto, cpu, cuda, cuda:N, mps) or a ``torch.device``.
        backbone: a ready feature extractor (e.g. :func:`~videostyle.style.backbones.tiny_backbone`) with
            ``forward(x, layers) -> {layer: tensor}`` and a ``name``; None loads ``config.model`` with its weights.
        tuning: the warm-frame heuristics (:class:`~videostyle.tuning.EngineTuning`); None: the defaults.
    """

    def __init__(
        self,
        styles: Sequence[np.ndarray],
        config: StyleConfig | None = None,
        *,
        device: str | torch.device | None = None,
        backbone: torch.nn.Module | None = None,
        tuning: EngineTuning | None = None,
    ) -> None:
        self.config = cfg = config if config is not None else StyleConfig()
        self.tuning = TUNING if tuning is None else tuning
        if not styles:
            raise StyleError("at least one style image is required")
        self.styles = [check_image(s, f"style image {i}") for i, s in enumerate(styles)]
        check_blend_weights(cfg.style_blend_weights, len(self.styles))
        blend = cfg.style_blend_weights or tuple(1.0 for _ in self.styles)
        self.blend_weights = tuple(float(w) for w in blend)
        self.content_layers = tuple(cfg.content_layers)
        self.style_layers = tuple(cfg.style_layers)
        if not self.style_layers and cfg.style_weight > 0:
            raise StyleError("no style layers given")
        lw = cfg.style_layer_weights or tuple(1.0 for _ in self.style_layers)
        self.style_layer_weights = dict(zip(self.style_layers, (float(w) for w in lw)))
        self.layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))

        self.device = resolve_device(device if device is not None else cfg.device)
        if backbone is None:
            backbone = load_backbone(cfg.model, weights=cfg.weights, layers=self.layers, pooling=cfg.pooling)
        backbone = backbone.to(self.device)
        backbone.requires_grad_(False)
        backbone.eval()
        #: the precision the backbone runs in here (``fp32`` | ``bf16``; ``auto`` resolved); losses stay fp32
        self.precision = resolve_precision(cfg.precision, self.device)
        if self.precision == "bf16" and not fast_bf16(self.device):
            _warn_once(f"precision bf16 on {self.device.type}: no native bf16 units here, so it runs slower "
                       "than fp32")
        self.amp = self.precision == "bf16"
        self.channels_last = bool(cfg.channels_last and self.device.type == "cuda")
        if cfg.channels_last and not self.channels_last:  # measured: no gain on CPU (benchmarks/precision.md)
            _warn_once(f"channels_last has no effect on {self.device.type} (it applies on CUDA); ignored")
        if self.channels_last:
            backbone = backbone.to(memory_format=torch.channels_last)
        self.backbone = backbone
        #: what _features calls: the backbone, or its torch.compile'd version (compiled on first use)
        self._forward = torch.compile(backbone, backend=COMPILE_BACKEND) if cfg.compile else backbone
        self.backbone_name: str = str(getattr(backbone, "name", type(backbone).__name__))
        p = next(iter(backbone.parameters()), None)
        self.dtype = p.dtype if p is not None else torch.float32
        # check the layers exist before any optimisation starts
        with torch.no_grad():
            probe = backbone(torch.zeros(1, 3, 32, 32, device=self.device, dtype=self.dtype), self.layers)
        missing = [k for k in self.layers if k not in probe]
        if missing:
            raise StyleError(f"backbone {self.backbone_name} does not provide layers {missing}")

        #: the style Gram and content feature targets, cached (:mod:`~videostyle.style.targets`)
        self.targets = Targets(self.styles, cfg, self.blend_weights, self._features, self.device, self.dtype)

    # --- targets -------------------------------------------------------------------------------------------------
    def _features(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Backbone activations of ``x`` as float32 (the backbone may run in bf16; Grams and losses never do)."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            feats = self._forward(x, layers)
        return {k: v.float() for k, v in feats.items()}

    def style_size(self, content_hw: tuple[int, int], style_index: int = 0) -> tuple[int, int]:
        """(w, h) of style image ``style_index`` for a content of (h, w): long side = style_scale × content's."""
        return self.targets.style_size(content_hw, style_index)

    def style_targets(self, content01: np.ndarray, blend_weights: Sequence[float] | None = None
                      ) -> dict[str, torch.Tensor]:
        """Blended Gram targets for a content of this size (:meth:`Targets.style <videostyle.style.targets.Targets.style>`)."""
        return self.targets.style(content01, blend_weights)

    def set_content(self, content: np.ndarray) -> None:
        """Compute (and cache) the content targets and the style targets at this content's size."""
        c = self._color_view(check_image(content, "content"))
        self.targets.content(c)
        self.style_targets(check_image(content, "content"))

    def _color_view(self, image01: np.ndarray) -> np.ndarray:
        """What the optimisation sees of an RGB image: itself, or its luminance as gray in ``luminance`` mode."""
        if self.config.color == "luminance":
            return colour.gray3(colour.luminance(image01))
        return image01

    # --- run -----------------------------------------------------------------------------------------------------
    @_device_memory_errors
    def run(
        self,
        content: np.ndarray,
        *,
        init: np.ndarray | None = None,
        iterations: int = 100,
        temporal: Sequence[TemporalTerm] = (),
        seed: int | None = None,
        focus: np.ndarray | None = None,
        blend_weights: Sequence[float] | None = None,
        regions: Sequence[RegionSpec] | None = None,
    ) -> StyleResult:
        """Stylise ``content`` (uint8 H×W×3) for at most ``iterations`` loss evaluations (per level).

        Args:
            init: starting image (uint8, or float32 in [0, 1]); None: the content or noise per ``config.init``.
            temporal: masked pixel terms ``(target, mask, weight)`` (Ruder et al.), target H×W×3 in [0, 1].
            seed: seeds torch's RNG (noise init) for reproducible runs.
            focus: H×W in [0, 1], the pixels that still need painting (in a warm frame: those the flow could not
                carry). The whole frame is optimised until the pixels outside the focus have settled; the rest of
                the budget goes to crops around the focus (:func:`~videostyle.style.focus.paint_focus`), which stop only when the focus
                itself has stopped changing.
            blend_weights: this frame's blend of the styles (a style schedule); None: the config's.
            regions: ``[(mask, blend_weights or None), ...]`` (H×W masks in [0, 1]): the style term is each region's
                guided Gram matrices against its own blend of the styles (:mod:`~videostyle.style.regions`: a matte,
                or region styles) instead of the whole frame's.
        """
        t0 = time.perf_counter()
        cfg = self.config
        if seed is not None:
            torch.manual_seed(seed)
        content01 = check_image(content, "content")
        h, w = content01.shape[:2]
        init01 = None if init is None else check_image(init, "init")
        if init01 is not None and init01.shape != content01.shape:
            raise StyleError(f"init: expected shape {content01.shape}, got {init01.shape}")
        terms = [self._check_temporal(i, t, content01.shape) for i, t in enumerate(temporal)]
        if iterations < 0:
            raise StyleError(f"invalid iterations {iterations!r}: must be >= 0")
        focus01 = None if focus is None else check_map(focus, "focus", content01.shape[:2])
        if blend_weights is not None:
            check_blend_weights(blend_weights, len(self.styles))
        region_specs = check_regions(regions, content01.shape[:2])
        for _mask, weights in region_specs or ():
            check_blend_weights(weights, len(self.styles))

        sizes = self._level_sizes(h, w)
        x01: np.ndarray | None = None
        total_iters, history, phases = 0, [], []
        result = None
        for li, (lh, lw) in enumerate(sizes):
            c_l = resize01(content01, (lw, lh))
            if li == 0:
                if init01 is not None:
                    start = resize01(init01, (lw, lh))
                elif cfg.init == "noise":
                    start = torch.rand(lh, lw, 3, dtype=torch.float32).numpy()
                else:
                    start = c_l
            else:
                start = resize01(x01, (lw, lh))  # type: ignore[arg-type]
            t_l = [(resize01(t, (lw, lh)), resize01(m, (lw, lh)), wt) for t, m, wt in terms]
            # with a focus, the whole frame is optimised until the pixels outside it (those the flow carried) have
            # settled; the focus is painted afterwards, on crops (focus.paint_focus)
            carried = None if focus01 is None else resize01(1.0 - focus01, (lw, lh))
            result = self._run_level(c_l, start, t_l, iterations, focus=carried, focus_only=carried is not None,
                                     gain=self.tuning.warm_gain if carried is not None and cfg.change_tolerance > 0
                                     else 0.0,  # a warm frame stops once it gains little (0: every iteration)
                                     **self._style_terms(c_l, blend_weights, region_specs))
            phases.append({"part": "frame", "iterations": result.iterations, "stopped_by": result.stopped_by})
            x01 = to_numpy01(result.image)
            total_iters += result.iterations
            history += result.history
        assert result is not None and x01 is not None
        effort = float(total_iters)
        loss = result.loss
        left = iterations - result.iterations
        if focus01 is not None and left > 0 and self.config.change_tolerance > 0:
            style = self._style_terms(content01, blend_weights, region_specs)
            whole = self.style_targets(content01) if cfg.style_weight > 0 else {}
            painted = paint_focus(self._run_level, content01, x01, terms, focus01, left,
                                  targets=style.get("style_targets", whole), tuning=self.tuning,
                                  level=self._painted_level(x01, content01, 1.0 - focus01), **style)
            if painted is not None:
                x01, crop_iters, effort_more, loss, crops = painted
                total_iters += crop_iters
                effort += effort_more
                phases += [{"part": "new content", **c} for c in crops]
        out01 = x01
        if cfg.color == "luminance":
            out01 = colour.combine_luminance(colour.luminance(out01), content01)
        stopped_by = last_stop(phases)
        return StyleResult(image=to_uint8(out01), iterations=total_iters, loss=loss,
                           stopped_early=stopped_by != "budget", seconds=time.perf_counter() - t0, history=history,
                           effort=effort, stopped_by=stopped_by, phases=phases)

    def _painted_level(self, x01: np.ndarray, content01: np.ndarray, weights: np.ndarray) -> float:
        """How far ``x01`` lies from the photo where ``weights`` are (mean |x − content| in 8-bit levels, in the
        colour view the optimiser works in); 0 where there are no weights."""
        cpu = torch.device("cpu")
        _, level = image_change(to_tensor(self._color_view(x01), cpu), to_tensor(self._color_view(content01), cpu),
                                torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float32)))
        return level or 0.0

    def _style_terms(self, content01: np.ndarray, blend_weights: Sequence[float] | None,
                     regions: Sequence[RegionSpec] | None) -> dict[str, Any]:
        """The style keywords of ``_run_level`` at this content's size: a frame's blend, or its regions' targets
        (masks resized to the content); nothing when neither is set (the config's whole-frame blend)."""
        if self.config.style_weight <= 0 or (blend_weights is None and regions is None):
            return {}
        if regions is None:
            return {"style_targets": self.style_targets(content01, blend_weights)}
        h, w = content01.shape[:2]
        return {"regions": [(resize01(m, (w, h)), self.style_targets(content01, blend_weights if bw is None else bw))
                            for m, bw in regions]}

    def _level_sizes(self, h: int, w: int) -> list[tuple[int, int]]:
        sizes = []
        for k in range(self.config.levels - 1, -1, -1):
            f = 0.5**k
            lh, lw = max(1, round(h * f)), max(1, round(w * f))
            if k > 0 and min(lh, lw) < self.tuning.min_level_side:
                continue  # too small to be useful
            sizes.append((lh, lw))
        return sizes

    def _check_temporal(self, i: int, term: TemporalTerm, shape: tuple[int, ...]) -> TemporalTerm:
        try:
            target, mask, weight = term
        except (TypeError, ValueError):
            raise StyleError(f"temporal[{i}]: expected (target, mask, weight)") from None
        target01 = check_image(target, f"temporal[{i}] target")
        if target01.shape != shape:
            raise StyleError(f"temporal[{i}] target: expected shape {shape}, got {target01.shape}")
        m = np.asarray(mask, dtype=np.float32)
        if m.shape != shape[:2]:
            raise StyleError(f"temporal[{i}] mask: expected shape {shape[:2]}, got {m.shape}")
        if not np.isfinite(m).all():
            raise StyleError(f"temporal[{i}] mask: contains NaN or infinite values")
        weight = float(weight)
        if not np.isfinite(weight) or weight < 0:
            raise StyleError(f"temporal[{i}] weight: must be a finite value >= 0, got {weight!r}")
        return target01, np.clip(m, 0.0, 1.0), weight

    def _run_level(self, content01: np.ndarray, start01: np.ndarray, temporal: Sequence[TemporalTerm],
                   iterations: int, *, focus: np.ndarray | None = None, focus_only: bool = False,
                   style_targets: dict[str, torch.Tensor] | None = None,
                   regions: Sequence[tuple[np.ndarray, Any]] | None = None, free: np.ndarray | None = None,
                   focus_settle: float = 0.0, reach: float | None = None, gain: float = 0.0):
        """One optimisation at this size. ``focus``/``focus_only``: the weights of the pixel-change test (see
        :func:`~videostyle.style.optimize.image_settled`); ``regions``:
        ``[(mask, targets), ...]`` whose guided Grams replace the whole frame's style term
        (:class:`~videostyle.style.regions.RegionalStyle`); ``free``/``focus_settle``: optimise only those pixels,
        and let the focus settle relative to its largest move, at a stricter share while it lies nearer the content
        than ``reach`` levels; ``gain``: stop once a window gains little (:func:`~.optimize.optimize`)."""
        cfg = self.config
        dev, dt = self.device, self.dtype
        regional = None
        if regions is not None and cfg.style_weight > 0:
            regional = RegionalStyle(regions, dev, min_positions=self.tuning.min_guided_positions)
            style_targets = {}  # the regions' own targets replace the whole frame's
        cview = self._color_view(content01)
        p_targets = self.targets.content(cview)
        if style_targets is None:
            style_targets = self.style_targets(content01) if cfg.style_weight > 0 else {}
        a_targets = style_targets
        t_terms = [
            (to_tensor(self._color_view(t), dev, dt), torch.from_numpy(np.ascontiguousarray(m))[None, None].to(dev, dt),
             wt)
            for t, m, wt in temporal if wt > 0
        ]
        layers = self.content_layers + (self.style_layers if a_targets or regional is not None else ())
        style: Any = StyleLoss(a_targets, self.style_layer_weights)
        if regional is not None:  # the regions' guided Grams replace the whole frame's style term
            style = functools.partial(_regional_loss, regional, self.style_layer_weights)
        loss_fn = Objective(self._features, layers, content=ContentLoss(p_targets, self.content_layers), style=style,
                            temporal=TemporalLoss(t_terms), weights=(cfg.content_weight, cfg.style_weight,
                                                                     cfg.tv_weight))

        x0 = to_tensor(self._color_view(start01), dev, dt)
        return optimize(
            x0, loss_fn, iterations=iterations, optimizer=cfg.optimizer, lr=cfg.learning_rate,
            tolerance=cfg.tolerance, window=cfg.tolerance_window, history=cfg.lbfgs_history,
            change_tolerance=cfg.change_tolerance, change_window=cfg.change_window,
            focus=None if focus is None else torch.from_numpy(np.ascontiguousarray(focus)).to(dev),
            focus_only=focus_only, focus_settle=focus_settle,
            reach=None if reach is None else (to_tensor(cview, dev, dt), reach),
            gain=gain, gain_window=self.tuning.gain_window,
            free=None if free is None else torch.from_numpy(np.ascontiguousarray(free, dtype=np.float32)).to(dev, dt),
            tuning=self.tuning,
        )


def _regional_loss(regional: RegionalStyle, layer_weights: dict[str, float], feats: Any, _zero: torch.Tensor
                   ) -> torch.Tensor:
    return regional.loss(feats, layer_weights)
