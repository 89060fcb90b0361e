"""The frame store: finished stylised frames on disk, the resume point of a run.

Layout of a work directory::

    store.json            {"version": 1, "config_hash": ..., "settings": {...}}
    lock.json             the run working in it (:mod:`~videostyle.video.lock`); ``--force`` keeps it
    frames/p1/000000.png  stylised frame 0 of pass 1 (lossless PNG, RGB 8-bit)
    frames/p1/000000.json its record: index, pts, iterations, loss, seconds, shot_start, png size and CRC-32
    frames/p2/…           later passes of the multi-pass scheme (``--passes``)
    sources/000000.png    the content frame at the working size, kept only for multi-pass runs (pass number 0)

Every file is written to a temporary name and renamed into place (``os.replace``), the PNG before its record, so a
frame counts as finished only when its record exists and the PNG matches the size and CRC-32 it names. A frame
whose PNG is missing, truncated or altered is treated as not finished and is computed again.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .._fs import atomic_write as _atomic_write
from ..errors import FrameStoreError, OutputNotWritableError
from .lock import LOCK_NAME, TAKEOVER_NAME, work_dir_error

STORE_VERSION = 1


class FrameStore:
    """Stylised frames of one run, keyed by pass and frame index (pass 0: the source frames of a multi-pass run)."""

    def __init__(self, root: str | os.PathLike[str], config_hash: str, settings: dict[str, Any] | None = None,
                 *, force: bool = False) -> None:
        self.root = Path(root)
        self.config_hash = config_hash
        manifest = self.root / "store.json"
        try:
            if force and self.root.exists():
                _clear(self.root)
            created = not self.root.exists()
            self.root.mkdir(parents=True, exist_ok=True)
            if manifest.exists():
                try:
                    existing = json.loads(manifest.read_text())
                except (OSError, ValueError) as err:
                    raise FrameStoreError(f"work directory has an unreadable store.json ({err}); "
                                          "use --force to start again", path=self.root) from None
                if existing.get("config_hash") != config_hash or existing.get("version") != STORE_VERSION:
                    raise FrameStoreError(
                        "work directory holds frames of a different configuration; refusing to mix them "
                        "(rerun with the original settings, choose another --work-dir, or --force to start again)",
                        path=self.root)
            else:
                payload = {"version": STORE_VERSION, "config_hash": config_hash, "settings": settings or {}}
                try:
                    _atomic_write(manifest, json.dumps(payload, indent=2, default=str).encode())
                except OutputNotWritableError:  # e.g. a full disk: leave no empty work directory behind
                    if created:
                        shutil.rmtree(self.root, ignore_errors=True)
                    raise
        except OSError as err:  # not writable, a missing parent, a full disk, a read-only file system
            raise work_dir_error(self.root, err) from None

    def _paths(self, index: int, pass_no: int) -> tuple[Path, Path]:
        folder = self.root / "sources" if pass_no == 0 else self.root / "frames" / f"p{pass_no}"
        return folder / f"{index:06d}.png", folder / f"{index:06d}.json"

    def put(self, index: int, image: np.ndarray, record: dict[str, Any], pass_no: int = 1) -> None:
        """Store a finished frame atomically (PNG first, then the record that vouches for it)."""
        png_path, rec_path = self._paths(index, pass_no)
        png_path.parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:  # pragma: no cover - OpenCV failure
            raise FrameStoreError(f"could not encode frame {index} as PNG", path=png_path)
        data = buf.tobytes()
        _atomic_write(png_path, data)
        full = dict(record, index=index, pass_no=pass_no, png_bytes=len(data), png_crc32=zlib.crc32(data))
        _atomic_write(rec_path, json.dumps(full, default=float).encode())

    def record(self, index: int, pass_no: int = 1) -> dict[str, Any] | None:
        """The record of a finished frame, or None when the frame is missing or damaged."""
        png_path, rec_path = self._paths(index, pass_no)
        try:
            rec = json.loads(rec_path.read_text())
            data = png_path.read_bytes()
        except (OSError, ValueError):
            return None
        if len(data) != rec.get("png_bytes") or zlib.crc32(data) != rec.get("png_crc32"):
            return None
        return rec

    def get(self, index: int, pass_no: int = 1) -> np.ndarray:
        """The stylised frame (RGB uint8); FrameStoreError when it is missing or damaged."""
        png_path, _ = self._paths(index, pass_no)
        if self.record(index, pass_no) is None:
            raise FrameStoreError(f"frame {index} of pass {pass_no} is missing or damaged", path=png_path)
        image = cv2.imread(str(png_path), cv2.IMREAD_COLOR)
        if image is None:
            raise FrameStoreError(f"frame {index} of pass {pass_no} cannot be decoded", path=png_path)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def finished_prefix(self, pass_no: int = 1) -> int:
        """Number of consecutive finished frames from index 0 (the resume point)."""
        n = 0
        while self.record(n, pass_no) is not None:
            n += 1
        return n


def _clear(root: Path) -> None:
    """Empty a work directory (``--force``), keeping the lock of the run that does it."""
    for entry in os.scandir(root):
        if entry.name in (LOCK_NAME, TAKEOVER_NAME):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def count_records(root: str | os.PathLike[str]) -> int:
    """Finished frame records in the frame store at ``root`` (all passes, without opening it); cheap enough to poll
    while other processes write to it (a batch's progress)."""
    frames = Path(root) / "frames"
    try:
        return sum(1 for d in frames.iterdir() if d.is_dir() for f in os.scandir(d) if f.name.endswith(".json"))
    except OSError:
        return 0
