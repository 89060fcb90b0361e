"""The keyframes' brush strokes carried along the flow onto the frames between them.

The student learns a keyframe's palette in a few hundred CPU steps but not its strokes: no feature of the photo
predicts where a stroke lies, so a per-pixel objective averages them away (``benchmarks/fast.md``). The strokes
are in the keyframes, though, and the flow knows where each pixel of a frame was at the keyframe. So a frame is
rendered as

    student(frame) + s · (detail + texture − texture(student(frame)))

where a keyframe's *detail* is what the student misses there (``painting − student(source)``) and *texture* the
student's own fine texture there (its picture less a blur of ``student_carry_split`` px), both sampled once at the
keyframe position of every pixel. Where strokes are carried, the student's fine texture is the keyframes' too: this
frame's own shimmers from frame to frame. The keyframe position comes from composing the frame-to-frame flows along
the chain (``F_t = f_t + warp(F_{t−1}, f_t)``): the detail is resampled once however long the chain, so the strokes
stay sharp, and they move with what they paint, so they do not flicker. Each segment between two keyframes of a shot
takes detail from both ends (forward from the one before, backward from the one after), weighted by nearness and
mixed keeping the strokes' contrast (:func:`_blend`); the accumulated forward-backward reliability decides where
detail may be carried, and ``s`` (the more reliable chain, feathered) fades to the student's own picture where
neither keyframe saw the content — new content is never painted with another thing's strokes. The segment's frames
are held in memory: at most ``--keyframe-every`` of them at the working size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .. import flow as flowlib
from ..tuning import TUNING, EngineTuning


@dataclass
class Chain:
    """Where each pixel of the current frame was at the keyframe (``flow``: sampling offsets, H×W×2) and how far
    that can be trusted (``mask``: H×W in [0, 1], the product of the frame-to-frame reliabilities)."""

    flow: np.ndarray
    mask: np.ndarray

    @classmethod
    def start(cls, shape: tuple[int, int]) -> Chain:
        return cls(np.zeros(shape + (2,), np.float32), np.ones(shape, np.float32))

    def step(self, flow: np.ndarray, mask: np.ndarray) -> Chain:
        """One frame further: ``flow`` samples the chain's previous frame from the new one (the pipeline's
        backward-flow convention), ``mask`` is that pair's reliability."""
        composed = flow + flowlib.warp(self.flow, flow)
        carried = flowlib.warp(self.mask, flow, border="constant")
        return Chain(composed, mask.astype(np.float32) * carried)


def _texture(student: np.ndarray, tuning: EngineTuning) -> np.ndarray:
    """The student's own fine texture: its picture less a blur of ``student_carry_split`` px (float32)."""
    image = student.astype(np.float32)
    return image - cv2.GaussianBlur(image, (0, 0), tuning.student_carry_split)


def detail_of(painting: np.ndarray, student: np.ndarray) -> np.ndarray:
    """What the student misses at a keyframe: ``painting − student`` (float32, 8-bit levels)."""
    return painting.astype(np.float32) - student.astype(np.float32)


def _chains(flows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], backward: bool,
            tuning: EngineTuning) -> list[Chain]:
    """Chains for frames 0..n of a segment from its first frame (``backward`` False) or from its last (True);
    ``flows[t-1]`` is ``(bwd, fwd, mask)`` of the pair (frame t, frame t−1)."""
    shape = flows[0][0].shape[:2]
    n = len(flows)
    chains: list[Chain] = [Chain.start(shape)]
    steps = range(n - 1, -1, -1) if backward else range(n)
    for i in steps:
        bwd, fwd, mask = flows[i]
        if backward:  # from frame i+1 to frame i: sample frame i+1 with the forward flow
            chains.append(chains[-1].step(fwd, flowlib.consistency_mask(fwd, bwd, tuning=tuning)))
        else:
            chains.append(chains[-1].step(bwd, mask))
    return chains[::-1] if backward else chains


def _blend(detail_f: np.ndarray, detail_b: np.ndarray, a: np.ndarray, b: np.ndarray,
           tuning: EngineTuning) -> np.ndarray:
    """The two ends' details mixed with shares ``a`` and ``b`` (H×W×1, a + b = 1), keeping the strokes' contrast.

    A plain weighted mean of two independent stroke patterns has less contrast than either (down to 1/√2 midway):
    the strokes fade mid-segment. Chained keyframes often carry the *same* strokes, though, and those a mean keeps
    intact. So the strokes (the detail above a blur of ``student_carry_split`` px) are divided by the mean's own
    contrast loss, ``√(a² + b² + 2abρ)``, with ρ their local correlation (over ``student_carry_correlation`` px,
    clipped to [0, 1]); the colour below the split is mixed as it is (Heitz & Neyret 2018's variance-preserving
    blend, made aware of correlated inputs).
    """
    split = tuning.student_carry_split
    low_f, low_b = cv2.GaussianBlur(detail_f, (0, 0), split), cv2.GaussianBlur(detail_b, (0, 0), split)
    high_f, high_b = detail_f - low_f, detail_b - low_b

    def local(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x.sum(-1), (0, 0), tuning.student_carry_correlation)

    rho = local(high_f * high_b) / np.sqrt(np.maximum(local(high_f ** 2) * local(high_b ** 2), 1e-6))
    contrast = np.sqrt(np.maximum(a ** 2 + b ** 2 + 2 * a * b * np.clip(rho, 0.0, 1.0)[..., None], 1e-6))
    return a * low_f + b * low_b + (a * high_f + b * high_b) / contrast


def _filled(detail: np.ndarray, strength: np.ndarray, sigma: float) -> np.ndarray:
    """``strength × detail``, and where the strength is low but reliable detail lies within about ``sigma`` px, the
    detail's local average there (normalised convolution): thin unreliable bands (motion boundaries, the edge of a
    disocclusion) take their neighbours' colour instead of the network's; wide unseen regions stay the network's."""
    s3 = strength[..., None]
    weighted = cv2.GaussianBlur(detail * s3, (0, 0), sigma)
    reach = cv2.GaussianBlur(strength, (0, 0), sigma)[..., None]
    fill = weighted / np.maximum(reach, 1e-6)
    return s3 * detail + (1.0 - s3) * np.clip(2.0 * reach, 0.0, 1.0) * fill


def carry_segment(students: Sequence[np.ndarray], flows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                  first: np.ndarray, last: np.ndarray | None, *, tuning: EngineTuning = TUNING) -> list[np.ndarray]:
    """The rendered frames of one segment (RGB uint8).

    ``students``: the student's output for frames 0..n of the segment (frame 0 a keyframe; frame n the next
    keyframe when ``last`` is given, else the segment's last frame); ``flows[t-1]``: ``FlowEstimator.pair`` of
    (frame t, frame t−1); ``first``/``last``: the details (:func:`detail_of`) of the keyframes at either end
    (``last`` None: the shot, or the clip, ends before another keyframe). Frame 0 comes out as the keyframe's
    painting; with ``last``, frame n as the next keyframe's.
    """
    n = len(students) - 1
    if len(flows) != n:
        raise ValueError(f"a segment of {n + 1} frames needs {n} flows, got {len(flows)}")
    forward = _chains(flows, False, tuning) if n else [Chain.start(students[0].shape[:2])]
    backward = _chains(flows, True, tuning) if last is not None and n else None
    texture_f = _texture(students[0], tuning)
    texture_b = _texture(students[n], tuning) if backward is not None else None
    sigma = tuning.student_carry_feather
    out = []
    for t, student in enumerate(students):
        base = student.astype(np.float32)
        f = forward[t]
        detail = flowlib.warp(first, f.flow, interpolation="cubic")
        texture = flowlib.warp(texture_f, f.flow, interpolation="cubic")
        strength = f.mask
        if backward is not None:
            b = backward[t]
            p = tuning.student_carry_nearness
            wf, wb = f.mask * (1.0 - t / n) ** p, b.mask * (t / n) ** p
            total = np.maximum(wf + wb, 1e-6)
            share_f, share_b = (wf / total)[..., None], (wb / total)[..., None]
            detail = _blend(detail, flowlib.warp(last, b.flow, interpolation="cubic"), share_f, share_b, tuning)
            texture = share_f * texture + share_b * flowlib.warp(texture_b, b.flow, interpolation="cubic")
            strength = np.maximum(f.mask, b.mask)
        # where carried, the student's own fine texture is the keyframes' (moving with the content), not this
        # frame's, which shimmers from frame to frame: 1.4x the warping error when it stayed
        detail = detail + texture - _texture(student, tuning)
        inner = t > 0 and (t < n or last is None)  # the keyframes at the ends come out exactly as painted
        if sigma > 0 and inner:
            strength = np.minimum(strength, cv2.GaussianBlur(strength, (0, 0), sigma))
        if tuning.student_carry_fill > 0 and inner:
            detail = _filled(detail, strength, tuning.student_carry_fill)
        else:
            detail = strength[..., None] * detail
        out.append(np.clip(base + detail + 0.5, 0, 255).astype(np.uint8))
    return out
