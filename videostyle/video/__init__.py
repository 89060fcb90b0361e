"""The video engine: temporally coherent stylisation of clips, image sequences and single images."""

from .engine import RunState, finish, open_store, run_frames, stylize
from .store import FrameStore

__all__ = ["FrameStore", "RunState", "finish", "open_store", "run_frames", "stylize"]
