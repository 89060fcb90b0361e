"""Plates (.exr, .tif/.tiff, .dpx; one image or a numbered sequence) written with OpenImageIO: display sRGB (with
the source frame's residual) back to the output colour space, premultiplied by the source's alpha, stored like the
source plate (:mod:`.._like`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..plates import PlateSpec, output_spec, write_plate
from .image import ImageWriter
from .sequence import SequenceWriter


class _PlateFiles:
    """How a plate writer stores a frame: converted while storing, with the frame's residual and alpha."""

    is_plate = True
    target: str
    colour: Any

    def _open(self, *, plate_like: PlateSpec | None = None, **options: Any) -> None:
        self._plate_like = plate_like  # the source plate's storage, when the source is a plate
        super()._open(**options)  # type: ignore[misc]

    def _converted(self, image: np.ndarray) -> np.ndarray:
        return image

    def _store(self, where: str, image: np.ndarray, alpha: np.ndarray | None, residual: np.ndarray | None) -> None:
        pixels = self.colour.from_display(image, residual, alpha)
        h, w = pixels.shape[:2]
        spec = output_spec(Path(self.target).suffix, self._plate_like, alpha=alpha is not None, width=w, height=h)
        write_plate(where, pixels, spec, colorspace=None if self.colour.identity else self.colour.colorspace)


class PlateWriter(_PlateFiles, ImageWriter):
    """One plate image."""

    sequence_hint = "dir/plate.####.exr"


class PlateSequenceWriter(_PlateFiles, SequenceWriter):
    """Numbered plates (``plate.####.exr``), named by the source's frame numbers."""
