"""Optical flow, warping and reliability masks (OpenCV; knows nothing of torch or PyAV).

Conventions: frames are RGB ``uint8`` H×W×3; flows are ``float32`` H×W×2 in pixels (``[..., 0]`` horizontal,
``[..., 1]`` vertical) with ``src(x) ≈ dst(x + flow(x))``; masks are ``float32`` H×W in [0, 1].

To carry the previous stylised frame onto frame t (Ruder et al., GCPR 2016)::

    flow_bwd, flow_fwd, mask = FlowEstimator("dis-medium").pair(frame_t, frame_prev)
    warped = warp(stylised_prev, flow_bwd)        # aligned with frame t
    # temporal loss: mask * (output - warped) ** 2
"""

from ._estimate import FlowEstimator, check_method, compute_flow, configure_threads, contrib_available
from ._warp import BORDERS, closest_first, consistency_mask, inpaint, inside_mask, warp

__all__ = [
    "BORDERS",
    "FlowEstimator",
    "check_method",
    "closest_first",
    "compute_flow",
    "configure_threads",
    "consistency_mask",
    "contrib_available",
    "inpaint",
    "inside_mask",
    "warp",
]
