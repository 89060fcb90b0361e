"""Fast mode (``--mode fast``): a per-clip student network trained on the clip's own keyframes renders every frame.

The optimisation engine paints a few keyframes (each shot's first frame, then where the content has changed or
``--keyframe-every`` frames have passed); a small fully convolutional network (:class:`StudentNet`) learns that
painting from them, held to the style and content on the other frames and to temporal coherence through the
pipeline's flow and reliability masks (:class:`Trainer`); every frame then goes through the network in batches
into the frame store and the usual writers (:func:`run_fast`). ``--save-net`` keeps the network and ``--net``
renders another clip with it (:func:`save_net`, :func:`load_net`).
"""

from .net import StudentNet
from .netfile import load_net, save_net
from .run import run_fast
from .train import Trainer

__all__ = ["StudentNet", "Trainer", "load_net", "run_fast", "save_net"]
