"""Trained networks as files users keep (``--save-net``, ``--net``).

A net file is a ``torch.save`` archive read back with ``weights_only=True`` (no code runs on load) holding::

    {"format": "videostyle-student", "version": 1,
     "architecture": {"width": 16, "blocks": 3},
     "state_dict": {...},
     "trained_for": {"styles": [{"name", "sha256"}], "backbone", "size", "style_weight", ...,
                     "videostyle", "torch", "clip", "keyframes", "steps"}}

It is written to a temporary name and renamed into place. :func:`check_net` reads it before any work starts and
refuses a garbage, truncated or mismatched file (another format, another architecture, other styles) with one line.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from .._fs import atomic_write
from ..errors import NetFileError
from .net import StudentNet

FORMAT = "videostyle-student"
VERSION = 1


def style_identity(paths: list[str]) -> list[dict[str, str]]:
    """Each style image's file name and content hash (what a net was trained for)."""
    out = []
    for p in paths:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out.append({"name": Path(p).name, "sha256": h.hexdigest()[:16]})
    return out


def save_net(path: str | os.PathLike[str], net: StudentNet, trained_for: dict[str, Any]) -> None:
    """Write ``net`` with what it was trained for, atomically."""
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, "architecture": net.architecture(),
                "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "trained_for": trained_for}, buf)
    atomic_write(Path(path), buf.getvalue())


def load_net(path: str | os.PathLike[str], *, styles: list[str] | None = None) -> tuple[StudentNet, dict[str, Any]]:
    """The network in ``path`` and what it was trained for; :class:`NetFileError` (one line) when the file is
    missing, not a net file, truncated, of another version or architecture, or (``styles`` given) trained for
    other style images."""
    p = Path(path)
    if not p.is_file():
        raise NetFileError("network file does not exist" if not p.exists() else "network file is not a file",
                           path=p)
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for garbage (pickle, zip, EOF, runtime)
        raise NetFileError(f"not a videostyle network file or damaged ({type(err).__name__})", path=p) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise NetFileError("not a videostyle network file (save one with --save-net)", path=p)
    if payload.get("version") != VERSION:
        raise NetFileError(f"network file version {payload.get('version')!r} is not supported (expected "
                           f"{VERSION}); train it again with this videostyle", path=p)
    arch = payload.get("architecture")
    try:
        net = StudentNet(**arch)
        net.load_state_dict(payload["state_dict"])
    except (TypeError, ValueError, KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NetFileError(f"network file does not match its architecture {arch!r}: {first}", path=p) from None
    trained_for = payload.get("trained_for") or {}
    if styles is not None and trained_for.get("styles") is not None:
        wanted = [s["sha256"] for s in style_identity(styles)]
        had = [s.get("sha256") for s in trained_for["styles"]]
        if wanted != had:
            names = ", ".join(s.get("name", "?") for s in trained_for["styles"])
            raise NetFileError(f"network was trained for other style images ({names}); pass the same --style "
                               "images, or train a new network without --net", path=p)
    net.eval()
    return net, trained_for
