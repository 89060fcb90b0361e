"""The GPU-related options on CPU: bf16 autocast, ``auto`` precision, channels_last, torch.compile, the frame-store
hash of speed-only flags, and the one-line out-of-device-memory error (an injected ``torch.OutOfMemoryError``).

Plumbing only, with the tiny random backbone; bf16's speed and quality on real frames with vgg16-hed are measured
in benchmarks/precision.md.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import synthetic
from videostyle.config import StyleConfig, StylizeConfig, VideoConfig
from videostyle.errors import DeviceOutOfMemoryError, FrameStoreError, UsageError
from videostyle.style import Stylizer, devices, memory, stylizer, tiny_backbone
from videostyle.video import stylize


def _image(h: int, w: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


STYLE, CONTENT = _image(40, 40, 1), _image(32, 48, 2)


class Recording(torch.nn.Module):
    """Wraps a backbone and records the dtype and memory format of what its first convolution computes."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.name, self.seen = inner, "tiny", []
        conv = next(m for m in inner.modules() if isinstance(m, torch.nn.Conv2d))
        conv.register_forward_hook(lambda _m, _i, out: self.seen.append(
            (out.dtype, out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous())))

    def forward(self, x, layers):
        return self.inner(x, layers)


def test_bf16_runs_the_backbone_in_bf16_and_keeps_losses_and_the_image_in_fp32() -> None:
    bb = Recording(tiny_backbone(0))
    st = Stylizer([STYLE], StyleConfig(precision="bf16"), device="cpu", backbone=bb)
    assert st.precision == "bf16"
    feats = st._features(torch.rand(1, 3, 32, 48), st.layers)
    assert bb.seen[-1][0] == torch.bfloat16  # the convolutions ran in bf16 ...
    assert all(v.dtype == torch.float32 for v in feats.values())  # ... what Grams and losses see is fp32
    grams = st.style_targets(CONTENT.astype(np.float32) / 255)
    assert all(g.dtype == torch.float32 for g in grams.values())
    res = st.run(CONTENT, iterations=6, seed=0)
    ref = Stylizer([STYLE], StyleConfig(precision="fp32"), device="cpu", backbone=tiny_backbone(0)).run(
        CONTENT, iterations=6, seed=0)
    assert res.image.dtype == np.uint8 and np.isfinite(res.loss["total"])
    # the first evaluation (same image): bf16 changed the arithmetic, but not what the loss says
    assert res.history[0] != ref.history[0]
    assert res.history[0] == pytest.approx(ref.history[0], rel=0.02)
    assert res.history[-1] < res.history[0]  # and the optimisation works


def test_fp32_runs_the_backbone_in_fp32() -> None:
    bb = Recording(tiny_backbone(0))
    Stylizer([STYLE], StyleConfig(precision="fp32"), device="cpu", backbone=bb).run(CONTENT, iterations=2)
    assert {dtype for dtype, _ in bb.seen} == {torch.float32}


def test_auto_precision_picks_bf16_only_where_it_is_native(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert devices.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"amx_bf16", "amx_tile"})
    assert devices.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"avx2", "avx512f"})
    assert devices.resolve_precision("auto", cpu) == "fp32"
    assert devices.resolve_precision("bf16", cpu) == "bf16"  # explicit: as asked
    assert devices.resolve_precision("fp32", cpu) == "fp32"
    assert devices.resolve_precision("auto", torch.device("mps")) == "fp32"  # not measured there: not claimed
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: not including_emulation
                        or False)
    assert devices.resolve_precision("auto", torch.device("cuda")) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert devices.resolve_precision("auto", torch.device("cuda")) == "fp32"  # emulated bf16 (pre-Ampere)


def test_invalid_precision_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="precision"):
        StyleConfig(precision="fp16")


def test_flags_that_cannot_apply_warn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stylizer, "_warned", set())
    monkeypatch.setattr(devices, "_cpu_flags", lambda: set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            st = Stylizer([STYLE], StyleConfig(precision="bf16", channels_last=True), device="cpu",
                          backbone=tiny_backbone(0))
    messages = [str(w.message) for w in caught]
    assert sum("channels_last has no effect on cpu" in m for m in messages) == 1, messages
    assert sum("no native bf16" in m for m in messages) == 1, messages
    assert st.channels_last is False and st.precision == "bf16"


def test_channels_last_path_feeds_the_backbone_channels_last() -> None:
    # The CUDA-only branch, exercised on CPU (which supports the memory format, without a speed gain).
    bb = Recording(tiny_backbone(0))
    st = Stylizer([STYLE], StyleConfig(), device="cpu", backbone=bb)
    ref = st.run(CONTENT, iterations=4, seed=0)
    st.channels_last = True
    st.backbone.to(memory_format=torch.channels_last)
    bb.seen.clear()
    res = st.run(CONTENT, iterations=4, seed=0)
    assert bb.seen and all(cl for _, cl in bb.seen)
    assert res.loss["total"] == pytest.approx(ref.loss["total"], rel=1e-4)


def test_compile_traces_the_backbone_and_keeps_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stylizer, "COMPILE_BACKEND", "eager")  # inductor would spend ~40 s compiling on CPU
    torch._dynamo.reset()
    st = Stylizer([STYLE], StyleConfig(compile=True), device="cpu", backbone=tiny_backbone(0))
    assert isinstance(st._forward, torch._dynamo.eval_frame.OptimizedModule)
    res = st.run(CONTENT, iterations=4, seed=0)
    ref = Stylizer([STYLE], StyleConfig(), device="cpu", backbone=tiny_backbone(0)).run(CONTENT, iterations=4, seed=0)
    assert res.loss["total"] == pytest.approx(ref.loss["total"], rel=1e-5)
    torch._dynamo.reset()


def test_frame_store_hash_has_the_resolved_precision_and_no_speed_only_flags(monkeypatch) -> None:
    base = devices.result_settings(StyleConfig())
    assert base["precision"] == "fp32" and "channels_last" not in base and "compile" not in base
    assert devices.result_settings(StyleConfig(channels_last=True, compile=True)) == base
    assert devices.result_settings(StyleConfig(precision="bf16")) != base
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"avx512_bf16"})
    assert devices.result_settings(StyleConfig(precision="auto", device="cpu")) == devices.result_settings(
        StyleConfig(precision="bf16", device="cpu"))
    monkeypatch.setattr(devices, "_cpu_flags", lambda: set())
    assert devices.result_settings(StyleConfig(precision="auto", device="cpu")) == devices.result_settings(
        StyleConfig(precision="fp32", device="cpu"))


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> StylizeConfig:
    folder = tmp_path_factory.mktemp("precision")
    scene = synthetic.moving_scene(frames=3, size=(64, 48))
    clip = synthetic.write_clip(folder / "clip.mp4", scene.frames, fps=24)
    cv2.imwrite(str(folder / "style.png"), STYLE)
    out = folder / "out.mkv"
    return StylizeConfig(input=str(clip), output=str(out), styles=(str(folder / "style.png"),),
                         video=VideoConfig(size=48, iterations=2, first_iterations=3),
                         work_dir=str(folder / "work"), quiet=True)


def test_toggling_channels_last_resumes_and_the_report_names_the_precision(job: StylizeConfig) -> None:
    report = stylize(job, backbone=tiny_backbone(0))
    assert report["precision"] == "fp32" and report["frames_computed"] == 3
    Path(job.output).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # channels_last on CPU: the once-only warning
        again = stylize(replace(job, style=replace(job.style, channels_last=True)), backbone=tiny_backbone(0))
    assert again["frames_resumed"] == 3 and again["frames_computed"] == 0
    Path(job.output).unlink()
    with pytest.raises(FrameStoreError, match="different configuration"):  # another precision: other frames
        stylize(replace(job, style=replace(job.style, precision="bf16")), backbone=tiny_backbone(0))
    bf16 = stylize(replace(job, style=replace(job.style, precision="bf16"), force=True), backbone=tiny_backbone(0))
    assert bf16["precision"] == "bf16" and bf16["frames_computed"] == 3


class OutOfMemoryAbove(torch.nn.Module):
    """A backbone that raises CUDA's out-of-memory error when asked for gradients of an input above ``side``."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.inner, self.side, self.name = tiny_backbone(0), side, "vgg16-hed"

    def forward(self, x, layers):
        if x.requires_grad and max(x.shape[-2:]) > self.side:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total)")
        return self.inner(x, layers)


def test_out_of_device_memory_is_one_line_naming_the_size_that_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    budget = 512 << 20
    monkeypatch.setattr(memory, "device_budget", lambda device: budget)
    st = Stylizer([STYLE], StyleConfig(), device="cpu", backbone=OutOfMemoryAbove(16))
    content = _image(360, 640, 3)
    with pytest.raises(DeviceOutOfMemoryError) as info:
        st.run(content, iterations=2)
    message = str(info.value)
    assert "\n" not in message and "out of cpu memory (fp32) at working size 640x360" in message
    fits = int(message.split("--size ")[1].split()[0])
    assert fits % 16 == 0 and fits < 640
    need = lambda side: memory.estimate_bytes((side, round(side * 360 / 640)), model="vgg16-hed")  # noqa: E731
    assert need(fits) < budget <= need(fits + 16)  # the largest that fits the budget by the estimate
    assert "--precision bf16" in message  # the other way to fit, from fp32


def test_out_of_memory_at_a_size_the_estimate_allowed_still_names_a_smaller_one(monkeypatch) -> None:
    monkeypatch.setattr(memory, "device_budget", lambda device: 64 << 30)  # the estimate says 512 px fits easily
    st = Stylizer([STYLE], StyleConfig(precision="bf16"), device="cpu", backbone=OutOfMemoryAbove(16))
    with pytest.raises(DeviceOutOfMemoryError, match=r"--size \d+ should fit$") as info:
        st.run(_image(288, 512, 4), iterations=2)
    assert int(str(info.value).split("--size ")[1].split()[0]) < 512


def test_other_runtime_errors_pass_through() -> None:
    class Broken(torch.nn.Module):
        name = "broken"

        def __init__(self) -> None:
            super().__init__()
            self.inner = tiny_backbone(0)

        def forward(self, x, layers):
            if x.requires_grad:
                raise RuntimeError("something else")
            return self.inner(x, layers)

    with pytest.raises(RuntimeError, match="something else"):
        Stylizer([STYLE], StyleConfig(), device="cpu", backbone=Broken()).run(CONTENT, iterations=1)


def test_out_of_device_memory_in_a_job_leaves_no_output(job: StylizeConfig, monkeypatch) -> None:
    monkeypatch.setattr(memory, "device_budget", lambda device: 1 << 30)
    config = replace(job, output=str(Path(job.output).with_name("oom.mkv")), work_dir=None)
    with pytest.raises(DeviceOutOfMemoryError, match="should fit"):
        stylize(config, backbone=OutOfMemoryAbove(16))
    assert not Path(config.output).exists()


def test_cli_precision_and_the_amp_alias() -> None:
    from videostyle.cli import build_parser, config_from_args

    parser = build_parser()
    common = ["stylize", "in.mp4", "--style", "s.png", "-o", "out.mp4"]

    def style(*flags: str) -> StyleConfig:
        ns = parser.parse_args(common + list(flags))
        return config_from_args(ns).style

    assert style().precision == "fp32"
    assert style("--precision", "auto").precision == "auto"
    assert style("--amp").precision == "bf16"  # the old flag
    s = style("--precision", "bf16", "--channels-last", "--compile")
    assert (s.precision, s.channels_last, s.compile) == ("bf16", True, True)
