"""A single image file (PNG, 16-bit PNG, JPEG, TIFF): one frame, written to a temporary file beside it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..._fs import not_writable, temp_file
from ...errors import UnsupportedOutputError
from ..images import write_image
from .base import FrameWriter


class ImageWriter(FrameWriter):
    """One image; a second frame is refused (a sequence holds more)."""

    kind = "image"
    #: what to write instead when a second frame comes
    sequence_hint = "dir/%05d.png"

    def _open(self, **_options: Any) -> None:
        self._tmp = temp_file(Path(self.target))  # also proves the directory is writable

    def _put(self, image: np.ndarray, ticks: int, duration_ticks: int | None, number: int | None,
             alpha: np.ndarray | None, residual: np.ndarray | None) -> None:
        if self.frames_written:
            raise UnsupportedOutputError(
                f"a single image output takes one frame; use a sequence like {self.sequence_hint}", path=self.target)
        assert self._tmp is not None
        with not_writable(self.target, Path(self.target).parent):
            self._store(self._tmp, image, alpha, residual)

    def _store(self, where: str, image: np.ndarray, alpha: np.ndarray | None, residual: np.ndarray | None) -> None:
        """Write one picture file (PNG keeps the alpha, straight)."""
        write_image(where, image, bit16=self.codec == "png16", alpha=alpha)

    def _finish(self) -> None:
        assert self._tmp is not None
        with not_writable(self.target, Path(self.target).parent):
            os.replace(self._tmp, self.target)
