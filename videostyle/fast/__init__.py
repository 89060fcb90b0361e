"""Fast mode (``--mode fast``): a per-clip student network trained on the clip's own keyframes renders every frame.

The optimisation engine paints a few keyframes (each shot's first frame, then where the content has changed or
``--keyframe-every`` frames have passed); a small fully convolutional network (:class:`StudentNet`) learns that
painting from them, held to the style and content on the other frames and to temporal coherence through the
pipeline's flow and reliability masks (:class:`Trainer`); every frame then goes through the network in batches,
the keyframes' brush strokes carried onto it along the flow (:func:`carry_segment`), into the frame store and the
usual writers (:func:`run_fast`). ``--save-net`` keeps the network and ``--net``
renders another clip with it (:func:`save_net`, :func:`load_net`).
"""

from typing import Any

from .carry import carry_segment
from .net import StudentNet
from .netfile import load_net, save_net
from .train import Trainer

__all__ = ["StudentNet", "Trainer", "carry_segment", "load_net", "run_fast", "save_net"]


def __getattr__(name: str) -> Any:
    """``run_fast`` on first use: the network, its training and its files work without the codecs (PyAV)."""
    if name == "run_fast":
        from .run import run_fast

        return run_fast
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
