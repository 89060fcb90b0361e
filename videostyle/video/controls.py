"""Artists' controls of a run: a matte (``--mask``), region styles (``--outside-style``) and style schedules
(``--style-schedule``), turned into what :meth:`~videostyle.style.Stylizer.run` takes for each frame.

* **Matte** (``--mask`` alone): the style term looks only at the matte (its guided Gram matrices, Gatys et al. CVPR
  2017), the temporal terms only hold pixels inside it (their masks are multiplied by the matte), and only new
  content inside it counts as still to paint. The source is composited back outside the matte when the result is
  written (:func:`composite_frame`), at the output's size, with a feathered edge (``--mask-feather``).
  Pixels that enter the matte between two frames are new content (:meth:`Controls.new_content`): the previous
  result there was never painted, so they are not held to it, start as disoccluded pixels do (``--fill``) and count
  in the focus.
* **Region styles** (``--mask`` with ``--outside-style``): the matte's region is held to the ``--style`` images,
  the rest of the frame to the outside style, each by its own guided Grams; the whole frame is stylised. Pixels
  that change region between two frames are new content, as above.
* **Schedule**: each frame's blend of the ``--style`` images follows the keys (:func:`schedule_weights`), linearly
  between them; the blend goes into the Gram targets of the frame (and of the matte's region).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import flow as flowlib
from .. import media
from ..config import StyleConfig, StylizeConfig, parse_style_schedule
from ..errors import UsageError
from ..media.mattes import Mattes, check_matte, composite, feather

ScheduleKeys = tuple[tuple[float, str, tuple[float, ...]], ...]


def schedule_weights(keys: ScheduleKeys, when: float) -> tuple[float, ...]:
    """The blend weights at ``when`` (in the keys' unit): held before the first key and after the last, linear
    between neighbouring keys."""
    if when <= keys[0][0]:
        return keys[0][2]
    for (t0, _u, w0), (t1, _v, w1) in zip(keys, keys[1:]):
        if when <= t1:
            a = (when - t0) / (t1 - t0)
            return tuple((1.0 - a) * x + a * y for x, y in zip(w0, w1))
    return keys[-1][2]


class Controls:
    """The controls of one job; ``fps`` turns frame positions into seconds and back (video inputs)."""

    def __init__(self, config: StylizeConfig, fps: float | None) -> None:
        self.config = config
        self.fps = float(fps or media.DEFAULT_FPS)
        self.schedule: ScheduleKeys | None = parse_style_schedule(config.video.style_schedule, len(config.styles))
        self.masked = config.mask is not None
        self.outside = config.outside_style if self.masked else None
        #: the matte replaces the style term and is composited on output (not with an outside style)
        self.composited = self.masked and self.outside is None

    # --- the Stylizer ------------------------------------------------------------------------------------------
    def style_paths(self) -> list[str]:
        """The style images the Stylizer holds: the ``--style`` images, then the outside style."""
        return [*self.config.styles, *([self.outside] if self.outside else [])]

    def style_config(self) -> StyleConfig:
        """``config.style`` with the blend weights extended by a 0 for the outside style (it paints only outside)."""
        style = self.config.style
        if self.outside is None:
            return style
        inside = style.style_blend_weights or tuple(1.0 for _ in self.config.styles)
        return dataclasses.replace(style, style_blend_weights=(*inside, 0.0))

    def open_mattes(self, size: tuple[int, int], input_info: media.MediaInfo | None = None) -> Mattes | None:
        """The job's mattes at ``size``, paired with the input (``input_info``: its probe, probed when not given;
        :class:`~videostyle.media.mattes.Mattes`); None without ``--mask``."""
        if self.config.mask is None:
            return None
        rng = self.config.range
        return Mattes(self.config.mask, size=size, start=rng.start, duration=rng.duration,
                      max_frames=rng.max_frames, frames=rng.frame_numbers,
                      input_info=input_info if input_info is not None else media.probe(self.config.input))

    # --- per frame ---------------------------------------------------------------------------------------------
    def weights_at(self, pts: float, number: int | None) -> tuple[float, ...] | None:
        """The blend of the ``--style`` images under the schedule of the frame at ``pts`` (seconds) with frame
        ``number`` (a sequence member's; None for videos); None without a schedule."""
        if self.schedule is None:
            return None
        if self.schedule[0][1] == "f":
            when = float(number if number is not None else round(pts * self.fps))
        else:
            when = float(pts)
        return schedule_weights(self.schedule, when)

    def run_options(self, pts: float, number: int | None, matte: np.ndarray | None) -> dict[str, Any]:
        """The style keywords of ``Stylizer.run`` for the frame at ``pts`` / ``number`` with this ``matte``
        (empty when no control is set)."""
        weights = self.weights_at(pts, number)
        if self.outside is not None:
            weights = (*(weights or self.style_config().style_blend_weights[:-1]), 0.0)
        if matte is None:
            return {} if weights is None else {"blend_weights": weights}
        regions: list[tuple[np.ndarray, Sequence[float] | None]] = [(matte, weights)]
        if self.outside is not None:
            regions.append((1.0 - matte, (*(0.0 for _ in self.config.styles), 1.0)))
        return {"regions": regions}

    def restrict(self, temporal: list[tuple[np.ndarray, np.ndarray, float]], focus: np.ndarray | None,
                 matte: np.ndarray | None) -> tuple[list[tuple[np.ndarray, np.ndarray, float]], np.ndarray | None]:
        """With a composited matte, the temporal terms and the new content only count inside the matte."""
        if matte is None or not self.composited:
            return temporal, focus
        held = [(target, mask * matte, weight) for target, mask, weight in temporal]
        return held, None if focus is None else focus * matte

    def new_content(self, flows: dict[int, tuple[np.ndarray, np.ndarray]], matte: np.ndarray | None,
                    earlier: Sequence[np.ndarray]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """``flows`` (offset k → backward flow, reliability) with the pixels the matte makes new marked unreliable:
        those entering a composited matte since frame t−k (``matte − warped earlier matte``), or changing region
        with an outside style (``|matte − warped earlier matte|``). Unreliable pixels are not held by the temporal
        terms, start from ``--fill`` and count in the warm frame's focus, as disoccluded ones do.
        ``earlier``: the mattes of the frames before, oldest first (``earlier[-k]`` is frame t−k's)."""
        if matte is None or not flows:
            return flows
        out = {}
        for k, (bwd, reliable) in flows.items():
            if k > len(earlier):
                out[k] = (bwd, reliable)
                continue
            change = matte - flowlib.warp(np.ascontiguousarray(earlier[-k], dtype=np.float32), bwd)
            change = np.abs(change) if self.outside is not None else change
            out[k] = (bwd, (reliable * (1.0 - np.clip(change, 0.0, 1.0))).astype(np.float32))
        return out

    def mattes_by_index(self, size: tuple[int, int], first: int, stop: int,
                        record: Any = None) -> dict[int, np.ndarray]:
        """The mattes of frames ``first <= index < stop`` at ``size``, in memory as uint8 (the multi-pass scheme
        walks the clip backwards); empty without ``--mask``. ``record(index)``: the frame's stored record (its
        ``number`` and ``pts`` pair it with the matte)."""
        mattes = self.open_mattes(size)
        if mattes is None:
            return {}
        with mattes:
            out = {}
            for i in range(first, stop):
                rec = (record(i) if record is not None else None) or {}
                out[i] = (mattes.at(i, number=rec.get("number"), pts=rec.get("pts")) * 255.0 + 0.5).astype(np.uint8)
            return out

    def settings(self) -> dict[str, Any]:
        """What the frame store's hash needs beyond the config's fields and style images: the matte's files."""
        return {} if self.config.mask is None else {"mask": file_identity(self.config.mask)}


def file_identity(path: str) -> dict[str, Any]:
    """What identifies an input file for the frame store: its resolved path, size and modification time; for an
    image sequence (a pattern such as shot/%05d.png, or a folder) its member files: their count, total size,
    newest modification time and a digest of each member's name, size and modification time (so a folder
    updated in place, or one replaced member, is a new input; the folder's own time is not looked at)."""
    src = Path(path)
    if src.is_file():
        identity: dict[str, Any] = {"bytes": src.stat().st_size, "mtime_ns": src.stat().st_mtime_ns}
    else:  # an image sequence, a pattern or a folder: its member files identify it
        files = media.probe(path).files
        stats = [os.stat(f) for f in files]
        members = hashlib.sha256(json.dumps([[os.path.basename(f), s.st_size, s.st_mtime_ns]
                                             for f, s in zip(files, stats)]).encode()).hexdigest()[:16]
        identity = {"bytes": sum(s.st_size for s in stats), "mtime_ns": max(s.st_mtime_ns for s in stats),
                    "files": len(stats), "members": members}
    return {"path": str(src.resolve()), **identity}


def check_controls(config: StylizeConfig, info: media.MediaInfo) -> None:
    """The pre-flight of the controls: option combinations, then the matte (exists, readable, the input's aspect
    ratio, one frame per input frame over the selection: :func:`~videostyle.media.mattes.check_matte`); one-line
    typed errors."""
    if config.outside_style is not None and config.mask is None:
        raise UsageError("--outside-style paints the region outside a --mask matte; give --mask too")
    if config.encode.mask_feather is not None and config.mask is None:
        raise UsageError("--mask-feather softens the edge of a --mask matte; give --mask too")
    if config.mask is not None:
        rng = config.range
        check_matte(config.mask, info, start=rng.start, duration=rng.duration, max_frames=rng.max_frames,
                    frames=rng.frame_numbers, input_path=config.input)


def composite_frame(controls: Controls | None, stylised: np.ndarray, source: np.ndarray | None,
                    matte: np.ndarray | None, working_width: int) -> np.ndarray:
    """A stored frame as written: over the source where the matte leaves it out (a composited matte), with a
    soft edge ``--mask-feather`` px wide at the working size (scaled to the frame's size), else as it is."""
    if controls is None or not controls.composited or matte is None or source is None:
        return stylised
    radius = controls.config.encode.feather * stylised.shape[1] / max(1, working_width)
    return composite(stylised, source, feather(matte, radius))
