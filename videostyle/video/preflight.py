"""The pre-flight of a job: every check that can fail before any frame is stylised, in one place.

:func:`preflight` is what ``stylize`` and every ``batch`` job go through. It probes the input once and resolves the
job (working size, output kind and codec, frames when known), then checks, in this order, and raises the first
problem as a typed one-line error:

* the input (probe), the selected range (not empty), the flow backend (when the temporal loss is on);
* the style images (readable) and an explicit weights file (exists);
* the artists' controls: ``--outside-style`` only with ``--mask``, and the matte itself (exists, readable, the
  input's aspect ratio, one frame per input frame over the selected range);
* the outputs: none is the input, supported kind and a writable folder (or, with ``create_dirs``, one that can be
  created), a single-image output only for a single frame, the report's folder, an existing output (refused
  unless ``force``, or reported as ``finished`` with ``existing="report"``);
* the backbone's smallest working size (the content frame and every style image at its working size must keep
  pixels down to the deepest layer; the message gives the ``--size`` that would work);
* the memory the working size needs (:func:`videostyle.style.memory.check_working_size`);
* the video encoder opened with the job's settings, writing nothing (:func:`videostyle.media.check_encoder`).

Option values themselves (ranges, finite numbers, choices such as the x264 preset) are checked by the option schema
when the configuration is built (:mod:`videostyle.config`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import flow as flowlib
from .. import media
from ..config import StylizeConfig
from ..errors import OutputExistsError, OutputNotWritableError, UsageError, VideostyleError, WeightsError
from .controls import Controls, check_controls


@dataclass(frozen=True)
class ResolvedJob:
    """A job that passed its pre-flight, with what was found out about it."""

    config: StylizeConfig
    info: media.MediaInfo
    size: tuple[int, int]  # working (w, h)
    output_kind: str  # "video" | "image" | "sequence"
    codec: str
    frames: int | None  # frames the job produces, when known without decoding
    finished: bool = False  # the output exists (with existing="report")
    #: folders to create before the job runs (create_dirs=True), outermost first
    create: tuple[Path, ...] = field(default=())
    memory: int | None = None  # estimated peak bytes of the optimisation


def preflight(config: StylizeConfig, *, existing: str = "error", create_dirs: bool = False) -> ResolvedJob:
    """Check everything about ``config`` that can be checked before work starts; returns the resolved job.

    ``existing``: ``"error"`` refuses an existing output unless ``config.force`` (stylize), ``"report"`` returns
    it as ``finished`` (batch: skipped unless forced). ``create_dirs``: missing output folders are accepted when
    they can be created (batch); they are listed in ``create`` and made by :func:`make_dirs`.
    """
    with _stage("input"):
        info = media.probe(config.input)
        rng = config.range
        if rng.start or rng.duration is not None or rng.frames or config.video.input_colorspace or info.plate:
            # an empty range, frame numbers the sequence lacks, an unknown colour space or OpenColorIO config (plates
            # are converted on reading): before a work dir exists
            media.open_reader(config.input, start=rng.start, duration=rng.duration, frames=rng.frame_numbers,
                              colorspace=config.video.input_colorspace).close()
        if config.encode.output_colorspace:
            media.colour.check_output(config.encode.output_colorspace)
    if config.video.temporal_weight > 0:
        with _stage("flow"):
            flowlib.check_method(config.video.flow)
    from ..style import load_style_image

    with _stage("style"):
        styles = [load_style_image(path) for path in config.styles]
        if config.outside_style is not None and config.mask is not None:
            try:
                styles.append(load_style_image(config.outside_style))
            except VideostyleError as err:  # the same error, naming the option
                err.args = (f"--outside-style {err}",)
                raise
    with _stage("mask"):
        check_controls(config, info)  # --mask, --outside-style, --style-schedule
    if config.style.weights and not os.path.isfile(config.style.weights):
        with _stage("weights"):
            raise WeightsError("file not found", path=config.style.weights)

    create: list[Path] = []
    if config.fast.mode == "fast" or config.fast.net or config.fast.save_net:
        with _stage("fast"):
            _check_fast(config, create_dirs, create)
    src = os.path.realpath(config.input)
    for name, path in (("output", config.output), ("preview", config.preview), ("report", config.report)):
        if path and os.path.realpath(path) == src:
            raise UsageError(f"{name} {path} is the input file; choose another output path")
    with _stage("output"):
        kind, codec, target = _destination(config.output, config.encode.codec, create_dirs, create)
    frames = _frames(config, info)
    single = info.kind == "image" or config.range.max_frames == 1 or (info.video is not None
                                                                      and info.video.frames == 1)
    if kind == "image" and not single:
        raise UsageError(f"output {config.output} is a single image but the input has several frames; "
                         "write a video (.mp4 .mov .mkv) or an image sequence (dir/%05d.png)")
    if config.preview:
        with _stage("preview"):
            _destination(config.preview, None, create_dirs, create)
    if config.report:
        with _stage("report"):
            _folder(Path(config.report).resolve().parent, config.report, create_dirs, create,
                    "report directory does not exist or is not writable")
    finished = _finished(kind, target)
    if finished and existing == "error" and not config.force:
        raise OutputExistsError("output already exists (use --force to overwrite)", path=config.output)

    v = info.video
    assert v is not None  # probe raises NoVideoStreamError otherwise
    size_for = lambda side: media.working_size(v.display_width, v.display_height, side)  # noqa: E731
    size = size_for(config.video.size)
    with _stage("size"):
        _check_min_size(config, size_for, [s.shape[:2] for s in styles], temporal=not single)
    with _stage("memory"):
        memory = _check_memory(config, size_for, (v.width, v.height))
    if kind == "video":
        with _stage("encoder"):
            media.check_encoder(codec, output_size(config, info, size), crf=config.encode.crf,
                                preset=config.encode.preset, path=config.output)
    return ResolvedJob(config=config, info=info, size=size, output_kind=kind, codec=codec, frames=frames,
                       finished=finished, create=tuple(dict.fromkeys(create)), memory=memory)


def _check_fast(config: StylizeConfig, create_dirs: bool, create: list[Path]) -> None:
    """Fast mode's options (:mod:`videostyle.fast`): what it does not take, and a readable, matching ``--net``."""
    fast = config.fast
    if fast.mode != "fast":
        raise UsageError("--net and --save-net need --mode fast")
    refused = [(config.video.passes > 1, "--passes"), (config.outside_style is not None, "--outside-style"),
               (config.video.style_schedule is not None, "--style-schedule")]
    for given, flag in refused:
        if given:
            raise UsageError(f"{flag} is not available in --mode fast (it applies to --mode optimize)")
    if fast.net and fast.save_net:
        raise UsageError("--save-net writes a network that fast mode trained; with --net nothing is trained")
    if fast.net:
        from ..fast.netfile import load_net

        load_net(fast.net, styles=list(config.styles))
    if fast.save_net:
        for name, path in (("input", config.input), ("output", config.output)):
            if os.path.realpath(fast.save_net) == os.path.realpath(path):
                raise UsageError(f"--save-net {fast.save_net} is the {name}; choose another path")
        _folder(Path(fast.save_net).resolve().parent, fast.save_net, create_dirs, create,
                "--save-net directory does not exist or is not writable")


def output_size(config: StylizeConfig, info: media.MediaInfo, working: tuple[int, int]) -> tuple[int, int]:
    """(w, h) of the written result: the working size, or the upright input's with ``--full-resolution``."""
    v = info.video
    return (v.display_width, v.display_height) if config.encode.full_resolution and v is not None else working


@contextlib.contextmanager
def _stage(name: str) -> Iterator[None]:
    """Tag an error raised inside with the check it came from (``err.stage``; batch plans name it)."""
    try:
        yield
    except VideostyleError as err:
        if getattr(err, "stage", None) is None:
            err.stage = name  # type: ignore[attr-defined]
        raise


def make_dirs(folders: Iterable[Path]) -> None:
    """Create the folders a job's outputs need (``ResolvedJob.create``: accepted by :func:`preflight`)."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputNotWritableError(f"cannot create the folder ({err.strerror})", path=folder) from None


# --- outputs -------------------------------------------------------------------------------------------------------
def _destination(path: str, codec: str | None, create_dirs: bool, create: list[Path]) -> tuple[str, str, str]:
    """``(kind, codec, target)`` of an output; its folder must exist and be writable, or be creatable."""
    if not create_dirs:
        return media.validate_output(path, codec)
    kind, chosen, target = media.output_kind(path, codec)
    folder = Path(os.path.dirname(os.path.abspath(target)))
    if kind == "sequence" and not folder.exists():
        folder = folder.parent  # the writer makes the sequence's own folder
    if folder.exists():
        return media.validate_output(path, codec)
    _folder(folder, target, True, create, "")
    return kind, chosen, target


def _folder(folder: Path, shown: str, create_dirs: bool, create: list[Path], message: str) -> None:
    """``folder`` must be a writable directory, or (``create_dirs``) be creatable under one."""
    if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
        return
    if not create_dirs or folder.exists():
        if message:
            raise OutputNotWritableError(message, path=shown)
        media.check_output_dir(folder, shown)
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    media.check_output_dir(ancestor, shown)  # a file in the way, or not writable
    create.append(folder)


def _finished(kind: str, target: str) -> bool:
    """Whether the output exists (outputs are renamed into place only when complete)."""
    if kind == "sequence":  # any member of the pattern (sequences keep the source's frame numbers: 1001, …)
        return bool(media.sequence_members(target))
    return os.path.exists(target)


def _frames(config: StylizeConfig, info: media.MediaInfo) -> int | None:
    """Frames the job produces, when the probe tells without decoding (None when trimmed by time or unknown)."""
    if info.video is None or info.video.frames is None:
        return None
    if config.range.start is not None or config.range.duration is not None:
        return None  # trimmed by time: not known without decoding
    if config.range.max_frames is not None:
        return min(info.video.frames, config.range.max_frames)
    return info.video.frames


# --- sizes and memory ------------------------------------------------------------------------------------------
def _check_min_size(config: StylizeConfig, size_for: Callable[[int], tuple[int, int]],
                    style_shapes: list[tuple[int, int]], *, temporal: bool) -> None:
    """Refuse a working size too small for the backbone's deepest layer (or the flow), naming a size that works."""
    from ..flow._checks import MIN_SIDE as FLOW_MIN_SIDE
    from ..style.backbones import min_input_side, vgg_layer_names
    from ..style.targets import style_working_size

    s = config.style
    layers = (*s.content_layers, *s.style_layers)
    need = min_input_side(s.model, layers)
    names = vgg_layer_names(s.model or "vgg19")
    why = f"the {s.model or 'vgg19'} backbone's layers down to {max(layers, key=names.index)}"
    if temporal and config.video.temporal_weight > 0 and FLOW_MIN_SIDE > need:
        need, why = FLOW_MIN_SIDE, "optical flow and its layers"

    def smallest(side: int) -> int:
        w, h = size_for(side)
        styled = [style_working_size(shape, (h, w), s.style_scale) for shape in style_shapes]
        return min([w, h] + [min(sw, sh) for sw, sh in styled])

    long_side = config.video.size
    if smallest(long_side) >= need:
        return
    w, h = size_for(long_side)
    hi = long_side
    while smallest(hi) < need and hi < 1 << 16:
        hi *= 2
    if smallest(hi) < need:
        raise UsageError(f"working size {w}x{h} (--size {long_side}) is below the {need} px a side that {why} "
                         "need, and no --size reaches it (an extreme aspect ratio or --style-scale)")
    lo = long_side
    while hi - lo > 1:  # smallest() grows with the long side
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if smallest(mid) >= need else (mid, hi)
    raise UsageError(f"working size {w}x{h} (--size {long_side}) is below the {need} px a side that {why} need; "
                     f"use --size {hi} or larger")


def _check_memory(config: StylizeConfig, size_for: Callable[[int], tuple[int, int]], source: tuple[int, int]) -> int:
    """Refuse a working size whose estimated peak memory exceeds what is available; returns the estimate."""
    from ..style.memory import check_working_size

    s = config.style
    return check_working_size(config.video.size, size_for, model=s.model, device=s.device, source=source,
                              style_scale=s.style_scale, styles=len(Controls(config, None).style_paths()))
