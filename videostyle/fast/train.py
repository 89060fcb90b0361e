"""Training the student on one clip: keyframes' painting, the style, the content and temporal coherence.

Each step (all randomness drawn from ``(seed, step)``, so a resumed run repeats an uninterrupted one exactly):

* **keyframes** — ``student_key_patches`` random patches of keyframes: the network's output on the source patch is held
  to the optimisation engine's painting of it, per pixel (L1) and by low-level VGG features (the first
  ``student_perceptual_layers`` style layers, relative squared distance): this is where the brush strokes come from;
* **style and content** — one frame of a training pair, whole (or a crop at most ``student_crop`` px), through the
  network and the backbone: the engine's own Gram style loss and relu4_2 content loss with its ``--style-weight``
  and ``--content-weight``, scaled by ``student_style_share``, so that frames far from any keyframe stay painted and
  legible;
* **temporal** — the same pair's frame t−1 through the network, warped onto frame t by the pipeline's backward flow
  and held to the output at t where the forward-backward check trusts the flow (Ruder's masked term with
  ``--temporal-weight``).

Adam on fp32 weights with a cosine learning rate over the step budget; the backbone may run under bf16 autocast
(``--precision``). Training stops at the step budget, the seconds budget, or when the loss (an exponential average)
has improved by less than ``student_converged`` over the last ``student_window`` steps. Every number here is a
field of :class:`~videostyle.tuning.EngineTuning` (``student_*``).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from .._fs import atomic_write
from ..tuning import TUNING, EngineTuning
from ..style.losses import content_loss, masked_pixel_loss, style_loss
from .net import StudentNet

#: a checkpoint at most every this many seconds (and at the end)
CHECKPOINT_SECONDS = 30.0


@dataclass
class KeyframeData:
    """A keyframe's source frame and the engine's painting of it (RGB uint8, same size)."""

    index: int
    source: np.ndarray
    painted: np.ndarray


@dataclass
class Pair:
    """Frames t−1 and t of one shot (RGB uint8), the backward flow t→t−1 and its reliability mask."""

    index: int
    prev: np.ndarray
    frame: np.ndarray
    flow: np.ndarray
    mask: np.ndarray


@dataclass
class TrainState:
    """What a checkpoint holds besides the weights."""

    step: int = 0
    ema: float | None = None
    history: list[float] = field(default_factory=list)  # the EMA at every step
    seconds: float = 0.0
    stopped: str | None = None  # "steps" | "seconds" | "converged" | None (not finished)
    last_loss: dict[str, float] = field(default_factory=dict)


def _tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1).float().div(255.0)


def flow_grid(flow: np.ndarray, device: torch.device) -> torch.Tensor:
    """``grid_sample`` grid (1×H×W×2, normalised, align_corners=True) sampling at ``x + flow(x)``."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    gx = (xs + flow[..., 0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + flow[..., 1]) * (2.0 / max(h - 1, 1)) - 1.0
    return torch.from_numpy(np.stack([gx, gy], axis=-1)[None]).to(device)


class Trainer:
    """Trains ``net`` on keyframes and pairs of one clip.

    ``features(x, layers)`` is the backbone (float32 activations); ``style_targets(frame01)`` the Gram targets at a
    frame's size (:meth:`~videostyle.style.Stylizer.style_targets`); ``style_layers``/``content_layers`` and the
    weights are the style config's.
    """

    def __init__(self, net: StudentNet, keyframes: Sequence[KeyframeData], pairs: Sequence[Pair], *,
                 features: Callable[[torch.Tensor, Sequence[str]], dict[str, torch.Tensor]],
                 style_targets: Callable[[np.ndarray], dict[str, torch.Tensor]],
                 style_layers: Sequence[str], content_layers: Sequence[str],
                 style_layer_weights: dict[str, float] | None, style_weight: float, content_weight: float,
                 temporal_weight: float, device: torch.device, seed: int, steps: int,
                 seconds: float | None = None, tuning: EngineTuning = TUNING) -> None:
        if not keyframes:
            raise ValueError("training needs at least one keyframe")
        self.net = net.to(device)
        self.tuning = t = tuning
        self.keyframes, self.pairs = list(keyframes), list(pairs)
        self.features, self.style_targets = features, style_targets
        self.style_layers, self.content_layers = tuple(style_layers), tuple(content_layers)
        self.perceptual_layers = self.style_layers[:t.student_perceptual_layers]
        self.style_layer_weights = style_layer_weights
        self.style_weight, self.content_weight = float(style_weight), float(content_weight)
        self.temporal_weight = float(temporal_weight)
        self.device, self.seed = device, int(seed)
        self.steps, self.seconds_budget = int(steps), seconds
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=t.student_learning_rate)
        self.state = TrainState()
        self._targets: dict[tuple[int, int], dict[str, torch.Tensor]] = {}

    # --- checkpoints ---------------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Weights, optimiser and state, written atomically."""
        buf = io.BytesIO()
        torch.save({"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "state": vars(self.state)}, buf)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, buf.getvalue())

    def load(self, path: Path) -> bool:
        """Resume from a checkpoint written by :meth:`save`; False when there is none (or it is unreadable)."""
        try:
            payload = torch.load(path, map_location=self.device, weights_only=True)
            self.net.load_state_dict(payload["net"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.state = TrainState(**payload["state"])
        except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError):
            return False
        return True

    # --- one step ------------------------------------------------------------------------------------------------
    def _keyframe_loss(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        sources, targets = [], []
        for _ in range(self.tuning.student_key_patches):
            key = self.keyframes[int(rng.integers(len(self.keyframes)))]
            h, w = key.source.shape[:2]
            ph, pw = min(self.tuning.student_key_patch, h), min(self.tuning.student_key_patch, w)
            y, x = int(rng.integers(h - ph + 1)), int(rng.integers(w - pw + 1))
            sources.append(_tensor(key.source[y:y + ph, x:x + pw], self.device))
            targets.append(_tensor(key.painted[y:y + ph, x:x + pw], self.device))
        src, tgt = torch.stack(sources), torch.stack(targets)
        out = self.net(src)
        l1 = F.l1_loss(out, tgt)
        fo = self.features(out, self.perceptual_layers)
        with torch.no_grad():
            ft = self.features(tgt, self.perceptual_layers)
        perceptual = sum(content_loss(fo[k], ft[k]) for k in self.perceptual_layers) / len(self.perceptual_layers)
        return l1, perceptual

    def _crop(self, pair: Pair, rng: np.random.Generator) -> tuple[slice, slice]:
        h, w = pair.frame.shape[:2]
        ch, cw = min(self.tuning.student_crop, h), min(self.tuning.student_crop, w)
        y, x = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        return slice(y, y + ch), slice(x, x + cw)

    def _targets_for(self, frame: np.ndarray) -> dict[str, torch.Tensor]:
        key = frame.shape[:2]
        if key not in self._targets:
            targets = self.style_targets(frame.astype(np.float32) / 255.0)
            self._targets[key] = {k: v.detach() for k, v in targets.items()}
        return self._targets[key]

    def _pair_losses(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        pair = self.pairs[int(rng.integers(len(self.pairs)))]
        ys, xs = self._crop(pair, rng)
        frame = _tensor(pair.frame[ys, xs], self.device)[None]
        out = self.net(frame)
        losses: dict[str, torch.Tensor] = {}
        if self.style_weight > 0 or self.content_weight > 0:
            layers = tuple(dict.fromkeys(self.style_layers + self.content_layers))
            fo = self.features(out, layers)
            with torch.no_grad():
                fc = self.features(frame, self.content_layers)
            targets = self._targets_for(pair.frame)
            style = style_loss({k: fo[k] for k in self.style_layers}, targets, self.style_layer_weights)
            content = sum(content_loss(fo[k], fc[k]) for k in self.content_layers) / max(1, len(self.content_layers))
            share = self.tuning.student_style_share
            losses["style"] = share * self.style_weight * style
            losses["content"] = share * self.content_weight * content
        if self.temporal_weight > 0:
            prev = self.net(_tensor(pair.prev, self.device)[None])  # whole: the flow may point outside the crop
            grid = flow_grid(pair.flow.astype(np.float32), self.device)[:, ys, xs]
            warped = F.grid_sample(prev, grid, mode="bilinear", padding_mode="border", align_corners=True)
            mask = torch.from_numpy(pair.mask[ys, xs].astype(np.float32)).to(self.device)[None, None]
            losses["temporal"] = self.temporal_weight * masked_pixel_loss(out, warped, mask)
        return losses

    def step(self) -> dict[str, float]:
        """One optimiser step; returns its loss terms."""
        step = self.state.step
        rng = np.random.default_rng([self.seed, step])
        t = self.tuning
        for group in self.optimizer.param_groups:  # cosine from the learning rate to 0 over the budget
            progress = min(1.0, step / max(1, self.steps))
            group["lr"] = t.student_learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
        self.optimizer.zero_grad(set_to_none=True)
        l1, perceptual = self._keyframe_loss(rng)
        losses = {"keyframe_l1": t.student_l1_weight * l1, "keyframe_perceptual": perceptual}
        if self.pairs:
            losses.update(self._pair_losses(rng))
        total = sum(losses.values())
        total.backward()  # type: ignore[union-attr]
        self.optimizer.step()
        values = {k: float(v.detach()) for k, v in losses.items()}
        values["total"] = float(total.detach())  # type: ignore[union-attr]
        st = self.state
        st.ema = values["total"] if st.ema is None else t.student_ema * st.ema + (1 - t.student_ema) * values["total"]
        st.history.append(st.ema)
        st.step += 1
        st.last_loss = values
        return values

    def converged(self) -> bool:
        """The loss's average improved by less than ``student_converged`` (relative) over the last
        ``student_window`` steps."""
        h, window = self.state.history, self.tuning.student_window
        return len(h) > window and h[-window - 1] - h[-1] < self.tuning.student_converged * abs(h[-window - 1])

    def run(self, checkpoint: Path | None = None,
            on_step: Callable[[dict[str, float]], None] | None = None) -> TrainState:
        """Train until a stopping rule holds, checkpointing to ``checkpoint``; resumes from it when present."""
        if checkpoint is not None and checkpoint.exists():
            self.load(checkpoint)
        st = self.state
        self.net.train()
        last_save = time.perf_counter()
        while st.stopped is None:
            if st.step >= self.steps:
                st.stopped = "steps"
            elif self.seconds_budget is not None and st.seconds >= self.seconds_budget:
                st.stopped = "seconds"
            elif self.converged():
                st.stopped = "converged"
            else:
                t0 = time.perf_counter()
                values = self.step()
                st.seconds += time.perf_counter() - t0
                if on_step is not None:
                    on_step(values)
                if checkpoint is not None and time.perf_counter() - last_save >= CHECKPOINT_SECONDS:
                    self.save(checkpoint)
                    last_save = time.perf_counter()
                continue
            if checkpoint is not None:
                self.save(checkpoint)
        self.net.eval()
        return st


def render(net: StudentNet, images: Sequence[np.ndarray], device: torch.device, *, amp: bool = False,
           channels_last: bool = False) -> list[np.ndarray]:
    """The network's output for a batch of same-size RGB uint8 frames, as RGB uint8."""
    x = torch.stack([_tensor(im, device) for im in images])
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        y = net(x).float()
    out = (y.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return list(out)


def describe(state: TrainState) -> dict[str, Any]:
    """The report's view of a training run."""
    return {"steps": state.step, "seconds": round(state.seconds, 2), "stopped": state.stopped,
            "loss": {k: round(v, 5) for k, v in state.last_loss.items()},
            "loss_start": round(state.history[0], 5) if state.history else None,
            "loss_end": round(state.history[-1], 5) if state.history else None}
