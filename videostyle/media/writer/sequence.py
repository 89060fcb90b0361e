"""Image sequences (``dir/%05d.png``, ``out.####.png``): numbered files written into a hidden temporary folder,
moved into place on close (:func:`~videostyle.media.outputs.publish_sequence`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..._fs import not_writable, publishable, remove_stale_temporaries, temp_prefix
from .._paths import format_pattern
from ..outputs import publish_sequence
from .image import ImageWriter

SEQUENCE_FIRST_NUMBER = 1


class SequenceWriter(ImageWriter):
    """Numbered image files: a member is named by the ``number`` written with it (the source's frame number),
    else counting from 1; its padding is the pattern's."""

    kind = "sequence"

    def _open(self, **_options: Any) -> None:
        self._numbers: list[int] = []  # the source frame numbers written
        # A hidden temporary directory inside the sequence directory when it exists, beside it otherwise.
        seq_dir = Path(os.path.dirname(self.target) or ".").resolve()
        where = seq_dir if seq_dir.exists() else seq_dir.parent
        remove_stale_temporaries(where, seq_dir.name)
        with not_writable(self.target, where):
            self._tmp = tempfile.mkdtemp(prefix=temp_prefix(seq_dir.name), dir=where)
            publishable(self._tmp, directory=True)

    def _put(self, image: np.ndarray, ticks: int, duration_ticks: int | None, number: int | None,
             alpha: np.ndarray | None, residual: np.ndarray | None) -> None:
        if number is not None:
            self._numbers.append(int(number))
        assert self._tmp is not None
        with not_writable(self.target, self._tmp):
            self._store(os.path.join(self._tmp, self._member_name(number)), image, alpha, residual)

    def _member_name(self, number: int | None) -> str:
        """File name of a sequence member: the source's frame number, else counting from 1."""
        return os.path.basename(format_pattern(
            self.target, number if number is not None else SEQUENCE_FIRST_NUMBER + self.frames_written))

    def _finish(self) -> None:
        assert self._tmp is not None
        with not_writable(self.target, os.path.dirname(self.target) or "."):
            publish_sequence(self._tmp, self.target, self._numbers)
