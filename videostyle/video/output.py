"""The output of a run: the stored frames encoded with the source's audio and timing, and the side-by-side
preview (a matte composited back in both, at their own size; never in the store)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np

from .. import media
from ..config import StylizeConfig
from .controls import Controls, composite_frame
from .preflight import output_size
from .source import open_source
from .store import FrameStore

if TYPE_CHECKING:
    from .engine import RunState


def audio_range(state: RunState) -> tuple[float, float]:
    """(first, end) seconds of the source the stored frames cover (the audio to keep)."""
    frames = state.frames
    first = frames[0]["pts"] if frames[0]["pts"] is not None else (state.start_pts or 0.0)
    last = frames[-1]["pts"] if frames[-1]["pts"] is not None else first
    step = 1.0 / state.fps if state.fps else 0.0
    return float(first), float(last) + step


def encode(config: StylizeConfig, store: FrameStore, state: RunState, controls: Controls) -> None:
    """Write ``config.output`` from the stored frames of the last pass."""
    enc = config.encode
    audio_from = config.input if enc.audio and state.info.audio else None
    span = audio_range(state)
    size = output_size(config, state.info, state.size)
    with media.open_writer(config.output, like=state.info, size=size, codec=enc.codec, crf=enc.crf,
                           preset=enc.preset, audio_from=audio_from, audio_range=span, source_start=span[0],
                           input_colorspace=config.video.input_colorspace,
                           output_colorspace=enc.output_colorspace) as writer, \
            contextlib.ExitStack() as stack:
        # plates: the source's alpha and out-of-range residual (media.colour) go back with each stylised frame;
        # a matte (--mask): the source outside it
        mattes = stack.enter_context(controls.open_mattes(size, state.info)) if controls.composited else None
        # outside a matte, a float plate gets its own values back: the residual also holds the 8-bit rounding
        source = stack.enter_context(open_source(config, size, rounding=mattes is not None and writer.is_plate,
                                                 second=True)) \
            if writer.needs_extras or mattes is not None else None
        for rec in state.frames:
            extras = media.frame_at(source, rec["index"]) if source is not None else None
            image = media.resize_image(store.get(rec["index"], config.video.passes), size)
            if mattes is not None and extras is not None:
                matte = mattes.at(rec["index"], number=rec.get("number"), pts=rec.get("pts"))
                image = composite_frame(controls, image, extras.image, matte, state.size[0])
            writer.write(image,
                         pts_ticks=rec.get("pts_ticks"),
                         pts=rec.get("pts"), number=rec.get("number"),
                         alpha=extras.alpha if extras is not None else None,
                         residual=extras.residual if extras is not None else None)


def write_preview(config: StylizeConfig, store: FrameStore, state: RunState, controls: Controls) -> None:
    """Side by side: source | stylised, at the working size, with the source's timing."""
    w, h = state.size
    wanted = {rec["index"]: rec for rec in state.frames}
    with open_source(config, state.size, second=True) as reader, contextlib.ExitStack() as stack, \
            media.open_writer(config.preview, like=state.info, size=(2 * w, h), audio_from=None) as writer:
        mattes = stack.enter_context(controls.open_mattes(state.size, state.info)) if controls.composited else None
        for frame in reader:
            rec = wanted.get(frame.index)
            if rec is None:
                continue
            result = store.get(rec["index"], config.video.passes)
            if mattes is not None:
                matte = mattes.at(frame.index, number=frame.number, pts=frame.pts)
                result = composite_frame(controls, result, frame.image, matte, w)
            side = np.concatenate([frame.image, result], axis=1)
            writer.write(side, pts_ticks=rec.get("pts_ticks"), pts=rec.get("pts"))

