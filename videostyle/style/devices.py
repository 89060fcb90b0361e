"""Device and precision selection: ``auto`` (CUDA › MPS › CPU), ``cpu``, ``cuda``/``cuda:N``, ``mps``; fp32 / bf16."""

from __future__ import annotations

from typing import Any

import torch

from .. import _schema
from ..config import StyleConfig
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


# --- precision ---------------------------------------------------------------------------------------------------
#: CPU feature flags (``/proc/cpuinfo``) of matrix units that run bf16 natively (faster than fp32)
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def fast_bf16(device: torch.device) -> bool:
    """Does ``device`` compute bf16 natively: CUDA with bf16 (Ampere or later), a CPU with AVX-512-BF16 or AMX?

    Elsewhere bf16 is emulated and slower than fp32 (MPS: not measured, so not claimed).
    """
    if device.type == "cuda":
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # older torch without the keyword
            return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(_cpu_flags() & set(BF16_CPU_FLAGS))
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision the backbone runs in on ``device``: ``fp32``, ``bf16``, or for ``auto`` bf16 where it is fast.

    ``auto`` picks bf16 only where :func:`fast_bf16` holds; the quality check behind that choice (style and content
    distances within 5 % of fp32's on real frames) is in benchmarks/precision.md.
    """
    if precision == "auto":
        return "bf16" if fast_bf16(device) else "fp32"
    if precision not in ("fp32", "bf16"):
        raise StyleError(f"invalid precision {precision!r}: expected fp32, bf16 or auto")
    return precision


def effective_precision(style: StyleConfig) -> str:
    """The precision (``fp32`` | ``bf16``) a :class:`~videostyle.style.Stylizer` of ``style`` runs in here."""
    return resolve_precision(style.precision, resolve_device(style.device))


def result_settings(style: StyleConfig) -> dict[str, Any]:
    """The style settings that decide the frames (the frame-store hash): precision as resolved on this device
    (``auto`` becomes fp32 or bf16), the options declared speed-only (``effect="speed"``: channels_last,
    compile) left out, so toggling them keeps a resumable store."""
    settings = _schema.values(style, "frames")
    settings["precision"] = effective_precision(style)
    return settings
