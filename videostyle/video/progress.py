"""The progress bar of a run (stderr; nothing when quiet)."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """tqdm on stderr (frames, s/frame, ETA, shot, loss); nothing when quiet."""

    def __init__(self, total: int | None, quiet: bool, initial: int = 0, desc: str = "stylise",
                 unit: str = "frame") -> None:
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit=unit, file=sys.stderr, dynamic_ncols=True,
                            desc=desc, smoothing=0.1)

    def update(self, n: int, **postfix: Any) -> None:
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

