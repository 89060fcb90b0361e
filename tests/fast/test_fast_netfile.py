"""Net files (``--save-net`` / ``--net``): a saved network renders identical frames; bad files are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videostyle.errors import NetFileError
from videostyle.fast.net import StudentNet
from videostyle.fast.netfile import load_net, save_net, style_identity
from videostyle.fast.train import render


@pytest.fixture
def trained(tmp_path):
    net = StudentNet(8, 2)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.1)
    style = tmp_path / "style.png"
    style.write_bytes(b"not really an image, but hashed all the same")
    path = tmp_path / "look.vsnet"
    save_net(path, net, {"styles": style_identity([str(style)]), "backbone": "vgg16-hed", "size": 64})
    return net, path, style


def test_save_then_load_renders_identical_frames(trained):
    net, path, style = trained
    loaded, meta = load_net(path, styles=[str(style)])
    frames = [np.random.default_rng(i).integers(0, 256, (36, 64, 3), dtype=np.uint8) for i in range(3)]
    a = render(net.eval(), frames, torch.device("cpu"))
    b = render(loaded, frames, torch.device("cpu"))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert meta["backbone"] == "vgg16-hed" and meta["size"] == 64
    assert loaded.architecture() == {"width": 8, "blocks": 2}


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_missing_file(tmp_path):
    with pytest.raises(NetFileError) as err:
        load_net(tmp_path / "none.vsnet")
    assert "does not exist" in _one_line(err)


def test_garbage_file(tmp_path):
    bad = tmp_path / "garbage.vsnet"
    bad.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(NetFileError) as err:
        load_net(bad)
    assert "not a videostyle network file" in _one_line(err)


def test_truncated_file(trained, tmp_path):
    _net, path, _style = trained
    cut = tmp_path / "cut.vsnet"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(NetFileError) as err:
        load_net(cut)
    assert "damaged" in _one_line(err)


def test_another_torch_file(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(NetFileError, match="not a videostyle network file"):
        load_net(other)


def test_mismatched_architecture(trained, tmp_path):
    _net, path, _style = trained
    payload = torch.load(path, weights_only=True)
    payload["architecture"] = {"width": 16, "blocks": 2}
    bad = tmp_path / "mismatch.vsnet"
    torch.save(payload, bad)
    with pytest.raises(NetFileError) as err:
        load_net(bad)
    assert "does not match its architecture" in _one_line(err)


def test_other_version(trained, tmp_path):
    _net, path, _style = trained
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    bad = tmp_path / "v99.vsnet"
    torch.save(payload, bad)
    with pytest.raises(NetFileError, match="version 99"):
        load_net(bad)


def test_trained_for_other_styles(trained, tmp_path):
    _net, path, _style = trained
    other = tmp_path / "other.png"
    other.write_bytes(b"another style")
    with pytest.raises(NetFileError) as err:
        load_net(path, styles=[str(other)])
    assert "trained for other style images (style.png)" in _one_line(err)
