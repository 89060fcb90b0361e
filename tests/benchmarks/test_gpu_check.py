"""benchmarks/gpu_check.py, the prepared GPU check, in its CPU ``--smoke`` mode: so it cannot rot before a GPU
machine is lent. Both engine paths run: the whole job (PyAV present here) and the in-memory stages (no PyAV), which
must make the engine's own frames (they call its warm start, video/warm.py)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def test_gpu_check_smoke_measures_every_variant_and_runs_the_engine(tmp_path: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "gpu_check.json").read_text())
    rows = {r["variant"]: r for r in meta["rows"]}
    assert set(rows) == {"fp32", "bf16", "bf16+channels_last", "bf16+cudnn_benchmark"}  # compile: GPU run only
    for r in rows.values():
        assert "error" not in r, r
        assert r["s_per_it"] > 0 and r["bare_s"] > 0 and r["run_over_bare"] > 0
        assert r["estimate_bytes"] > 0
    assert rows["bf16"]["estimate_bytes"] <= rows["fp32"]["estimate_bytes"]
    engine = meta["engine"]
    assert engine["mode"] == "stylize (PyAV)" and engine["frames"] == 3 and engine["precision"] == "bf16"
    assert engine["iterations"][0] == 2 and len(engine["iterations"]) == 3  # --smoke: first frame 2 iterations
    assert engine["stages"]["flow"] > 0 and engine["stages"]["optimise"] > 0 and engine["stages"]["encode"] > 0
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| smoke 48x28 | bf16 |" in table and "Engine, stylize (PyAV): 3 frames" in table
    [fast] = meta["fast"]  # fast mode: the student's training steps and render rate
    assert "error" not in fast, fast
    assert fast["train_steps_per_s"] > 0 and fast["render_fps_fp32"] > 0 and fast["render_fps_bf16+channels_last"] > 0
    assert "| fast mode, size |" in table


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    return gpu_check


def test_gpu_check_in_memory_stages_make_the_engines_frames(tmp_path: Path) -> None:
    """Without PyAV the check times the engine's own warm start (video/warm.py: the default fill, temporal terms,
    budget by new content, focus): on the same frames it makes the frames the engine stores, bit for bit."""
    from videostyle import media
    from videostyle.video import open_store, run_frames

    gpu_check = _gpu_check()
    args = argparse.Namespace(model="vgg16", first_iterations=4, clip_iterations=2, clip_size=48)
    frames = [gpu_check.pattern(48, 28, t=i, seed=3) for i in range(4)]
    assert not np.array_equal(frames[0], frames[1])  # the clip moves
    style = gpu_check.pattern(40, 30, seed=1)
    backbone = gpu_check._random_backbone("vgg16")
    out, images = gpu_check.engine_in_memory(args, torch.device("cpu"), frames, style, backbone=backbone)
    assert out["mode"] == "in memory (no PyAV)" and out["frames"] == 4 and out["iterations"][0] == 4
    assert out["stages"]["flow"] > 0 and out["stages"]["optimise"] > 0

    clip, style_path = tmp_path / "clip.mkv", tmp_path / "style.png"
    media.write_image(style_path, style)
    with media.open_writer(clip, size=(48, 28), codec="ffv1", fps=24.0) as writer:  # lossless: the same frames in
        for f in frames:
            writer.write(f)
    config = gpu_check.clip_config(args, torch.device("cpu"), str(clip), str(tmp_path / "out.mkv"), str(style_path))
    state = run_frames(config, backbone=backbone)
    assert [r["warm"] for r in state.frames] == [False, True, True, True]
    assert out["iterations"] == [r["iterations"] for r in state.frames]
    store = open_store(config)
    for i, image in enumerate(images):
        np.testing.assert_array_equal(image, store.get(i))


def _without_pyav(tmp_path: Path, args: str, call: str) -> Any:
    """What gpu_check's ``call`` (an expression of ``g``, its globals, and ``args``) returns, run in a fresh
    interpreter where ``import av`` fails, as on a machine without PyAV."""
    code = (
        "import sys, argparse, json, runpy, torch\n"
        "sys.modules['av'] = None\n"
        f"g = runpy.run_path({str(SCRIPT)!r}, run_name='gpu_check')\n"
        f"args = argparse.Namespace({args})\n"
        f"print(json.dumps({call}))\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_gpu_check_engine_runs_without_pyav(tmp_path: Path) -> None:
    """On a machine without PyAV the engine check falls back to the in-memory stages (videostyle.video.warm and
    what it imports need no PyAV)."""
    out = _without_pyav(tmp_path, "model='vgg16', first_iterations=2, clip_iterations=2, clip_size=48, clip_frames=3",
                        "g['engine_run'](args, torch.device('cpu'), None)")
    assert out["mode"] == "in memory (no PyAV)" and out["frames"] == 3 and out["iterations"][0] == 2


def test_gpu_check_fast_mode_runs_without_pyav(tmp_path: Path) -> None:
    """The GPU machine may lack PyAV: fast mode's network, training and stroke carrying need none of it."""
    (row,) = _without_pyav(tmp_path, "model='vgg16', sizes={'smoke': 48}, fast_sizes=['smoke'], fast_steps=1, "
                                     "fast_batches=1", "g['fast_mode'](args, torch.device('cpu'))")
    assert "error" not in row
    for key in ("train_steps_per_s", "render_fps_fp32", "render_fps_bf16+channels_last", "carry_fps"):
        assert row[key] > 0, key
