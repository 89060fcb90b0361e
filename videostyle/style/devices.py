"""Device selection: ``auto`` (CUDA › MPS › CPU), ``cpu``, ``cuda``/``cuda:N`` or ``mps``."""

from __future__ import annotations

import torch

from ..errors import StyleError


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """The torch device for ``name``; ``None``/``"auto"`` picks CUDA, then MPS, then the CPU.

    Raises :class:`StyleError` when an explicitly requested device is not available here.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":", 1)[0]
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise StyleError(f"device {name!r} requested but CUDA is not available (use --device cpu or auto)")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise StyleError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
        return dev
    if kind == "mps":
        if not _mps_available():
            raise StyleError(f"device {name!r} requested but MPS is not available (use --device cpu or auto)")
        return torch.device("mps")
    raise StyleError(f"invalid device {name!r}: expected auto, cpu, cuda, cuda:N or mps")
