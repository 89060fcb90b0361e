"""The video engine: temporally coherent stylisation of clips, image sequences and single images.

The names below are imported on first use, so that the parts that need no media I/O (a warm frame's start,
:mod:`.warm`) import without PyAV (``benchmarks/gpu_check.py`` runs them on machines without it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import RunState, finish, open_store, run_frames, stylize
    from .store import FrameStore

__all__ = ["FrameStore", "RunState", "finish", "open_store", "run_frames", "stylize"]

_HOMES = {"FrameStore": ".store", "RunState": ".engine", "finish": ".engine", "open_store": ".engine",
          "run_frames": ".engine", "stylize": ".engine"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value
