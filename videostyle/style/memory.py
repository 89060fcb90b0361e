"""Will a job's working size fit in memory? A peak-memory estimate checked before any work starts.

The optimisation keeps every backbone activation of the forward pass for the backward pass, so its peak grows
with the working size's pixel count. Measured on CPU (2 threads, L-BFGS, default layers, one level; growth of
the peak RSS while ``Stylizer.run`` works on H×W, the process's own baseline excluded)::

    vgg16-hed  256x192  +274 MB     512x384  +637 MB     768x576  +1213 MB   → ≈ 2.4 kB per pixel + ≈ 160 MB
    tiny       256x192  +203 MB     512x384  +286 MB                         → ≈ 0.6 kB per pixel + ≈ 170 MB

VGG19 has three more convolutions than VGG16 at ¼ resolution and below (≈ +10 %). The estimate adds a margin of
30 % to the per-pixel cost, the style images' forward pass (no gradients) at ``style_scale``, the decoded source
frame (YUV + RGB + resized copy, plus decoder threads' frames) and a fixed overhead; it is deliberately on the safe
side. Available memory is ``MemAvailable`` (Linux), capped by the cgroup's limit (containers, batch schedulers),
or free device memory (``torch.cuda.mem_get_info``) on CUDA.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import DeviceOutOfMemoryError, InsufficientMemoryError

MB = 1 << 20

#: measured bytes of peak memory per working-size pixel of the optimisation (forward + backward), per backbone
BYTES_PER_PIXEL = {"vgg19": 2650.0, "vgg16": 2400.0, "vgg16-hed": 2400.0, "tiny": 600.0}
#: safety factor on the per-pixel cost
MARGIN = 1.3
#: fixed overhead of an optimisation (Gram targets, L-BFGS history, allocator slack), bytes
FIXED_BYTES = 256 * MB
#: backbone weights held in memory (features up to relu5_1), bytes
WEIGHT_BYTES = {"vgg19": 80 * MB, "vgg16": 59 * MB, "vgg16-hed": 59 * MB, "tiny": 1 * MB}
#: per pixel of a style image at its working size: its forward pass keeps only the current activation
STYLE_BYTES_PER_PIXEL = 600.0
#: per pixel of a decoded source frame: YUV planes, the RGB copy, the upright/resized copies, decoder threads
DECODE_BYTES_PER_PIXEL = 24.0


def estimate_bytes(size: tuple[int, int], *, model: str | None = None, source: tuple[int, int] | None = None,
                   style_scale: float = 1.0, styles: int = 1) -> int:
    """Estimated peak memory (bytes) of stylising frames of ``size`` = (w, h) with ``model`` (None: vgg19).

    ``source`` = (w, h) of the decoded frames (default: ``size``); ``styles`` style images at ``style_scale``;
    The same for both backbone precisions: on CPU bf16 autocast saves nothing measurable (peak RSS growth at
    512x384: 0.94x and 1.01x in two runs, benchmarks/precision.md); on CUDA not measured yet
    (benchmarks/gpu_check.py's peaks, benchmarks/gpu.md).
    """
    name = model or "vgg19"
    w, h = size
    pixels = float(w) * float(h)
    sw, sh = source or size
    total = (FIXED_BYTES + WEIGHT_BYTES.get(name, WEIGHT_BYTES["vgg19"])
             + MARGIN * BYTES_PER_PIXEL.get(name, BYTES_PER_PIXEL["vgg19"]) * pixels
             + STYLE_BYTES_PER_PIXEL * pixels * style_scale ** 2 * max(1, styles)
             + DECODE_BYTES_PER_PIXEL * float(sw) * float(sh))
    return int(total)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _cgroup_headroom() -> int | None:
    """Limit minus usage of this process's memory cgroup (v2, then v1); None when unlimited or unknown."""
    root = Path("/sys/fs/cgroup")
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    candidates: list[tuple[Path, Path]] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        rel = parts[2].lstrip("/")
        if parts[0] == "0" and parts[1] == "":  # cgroup v2
            candidates.append((root / rel / "memory.max", root / rel / "memory.current"))
        elif "memory" in parts[1].split(","):
            base = root / "memory" / rel
            candidates.append((base / "memory.limit_in_bytes", base / "memory.usage_in_bytes"))
    candidates += [(root / "memory.max", root / "memory.current"),
                   (root / "memory" / "memory.limit_in_bytes", root / "memory" / "memory.usage_in_bytes")]
    for limit_path, usage_path in candidates:
        limit = _read_int(limit_path)
        if limit is None or limit >= 1 << 60:  # v1 reports "unlimited" as a huge number
            continue
        usage = _read_int(usage_path) or 0
        return max(0, limit - usage)
    return None


def available_memory(device: str = "cpu") -> int | None:
    """Bytes available for a new job on ``device`` (``cpu``, ``cuda``, ``cuda:N``, ``mps``); None when unknown."""
    kind = device.split(":", 1)[0]
    if kind == "auto":
        import torch

        kind = device = "cuda" if torch.cuda.is_available() else "cpu"
    if kind == "cuda":
        import torch

        if torch.cuda.is_available():
            index = int(device.split(":", 1)[1]) if ":" in device else torch.cuda.current_device()
            free, _total = torch.cuda.mem_get_info(index)
            return int(free)
        return None
    values = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    return min(values) if values else None


def largest_fitting(long_side: int, fits: Callable[[int], bool], *, minimum: int = 16, step: int = 16) -> int | None:
    """The largest multiple of ``step`` (at least ``minimum``) not above ``long_side`` for which ``fits`` holds."""
    best = None
    lo, hi = 0, max(0, long_side // step)
    while lo <= hi:  # fits() is monotone: smaller sizes need less memory
        mid = (lo + hi) // 2
        side = max(minimum, mid * step)
        if fits(side):
            best, lo = side, mid + 1
        else:
            hi = mid - 1
    return best


def check_working_size(long_side: int, size_for: Callable[[int], tuple[int, int]], *, model: str | None,
                       device: str = "cpu", source: tuple[int, int] | None = None, style_scale: float = 1.0,
                       styles: int = 1, available: int | None = None) -> int:
    """Refuse a working size whose estimated peak memory exceeds what is available; returns the estimate.

    ``size_for(long_side) -> (w, h)`` gives the working size of a long side (the source's aspect). ``available``
    (bytes) defaults to :func:`available_memory` of ``device`` (free GPU memory on CUDA); when it cannot be
    measured nothing is refused.
    Raises :class:`InsufficientMemoryError` naming the requested size and the largest ``--size`` that would fit.
    """
    def need(side: int) -> int:
        return estimate_bytes(size_for(side), model=model, source=source, style_scale=style_scale, styles=styles)

    estimate = need(long_side)
    if available is None:
        available = available_memory(device)
    if available is None or estimate <= available:
        return estimate
    w, h = size_for(long_side)
    fitting = largest_fitting(long_side, lambda side: need(side) <= available)
    hint = (f"--size {fitting} would fit" if fitting is not None
            else "even the smallest working size does not fit; free memory or use another machine")
    where = "GPU memory" if device.startswith("cuda") else "memory"  # "auto" without CUDA measured the RAM
    raise InsufficientMemoryError(
        f"--size {long_side} (working size {w}x{h}) needs about {estimate / 2**30:.1f} GiB but only "
        f"{available / 2**30:.1f} GiB of {where} is available; {hint}")


# --- out of device memory during the run -------------------------------------------------------------------------
def is_device_oom(err: BaseException) -> bool:
    """Is ``err`` an accelerator's out-of-memory error (``torch.OutOfMemoryError`` on CUDA, MPS's)?"""
    import torch

    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "MPS backend out of memory" in str(err)


def device_budget(device: str) -> int | None:
    """Bytes this process could use on ``device`` after an out-of-memory error: free plus its own cached memory."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        index = int(device.split(":", 1)[1]) if ":" in device else torch.cuda.current_device()
        free, _total = torch.cuda.mem_get_info(index)
        return int(free + torch.cuda.memory_reserved(index))
    if device.startswith("mps"):
        mps = getattr(torch, "mps", None)
        try:
            return int(mps.recommended_max_memory())  # type: ignore[union-attr]
        except (AttributeError, RuntimeError):
            return None
    return available_memory(device)


def out_of_memory_error(size: tuple[int, int], *, device: str, model: str | None, precision: str = "fp32",
                        styles: int = 1, style_scale: float = 1.0, budget: int | None = None
                        ) -> DeviceOutOfMemoryError:
    """The one-line error for running out of ``device`` memory at working size ``size`` = (w, h).

    Names the largest working size (long side, a multiple of 16) that should fit: the estimate of
    :func:`estimate_bytes` against ``budget`` (default :func:`device_budget`), scaled up when it proved optimistic
    (the size that failed is known not to fit).
    """
    w, h = size
    long_side = max(w, h)

    def need(side: int) -> float:
        scale = side / long_side
        return estimate_bytes((max(1, round(w * scale)), max(1, round(h * scale))), model=model,
                              style_scale=style_scale, styles=styles)

    if budget is None:
        budget = device_budget(device)
    where = f"{device} memory ({precision})"
    if budget is None:
        return DeviceOutOfMemoryError(f"out of {where} at working size {w}x{h}; try a smaller --size")
    correction = max(1.0, budget / need(long_side))  # it did not fit, so the true need is at least the budget
    fitting = largest_fitting(long_side - 1, lambda side: need(side) * correction < budget)
    hint = (f"--size {fitting} should fit" if fitting is not None
            else "even the smallest working size does not fit; free memory or use another device")
    extra = "" if precision == "bf16" else " (or --precision bf16)"
    return DeviceOutOfMemoryError(
        f"out of {where} at working size {w}x{h} ({budget / 2**30:.1f} GiB usable): {hint}{extra}")
