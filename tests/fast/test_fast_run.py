"""Fast mode end to end (tiny random backbone: plumbing, not looks): outputs keep frames, timing, audio, numbers and
alpha; keyframes at shot starts and every N frames; resume after a kill; --save-net/--net; pre-flight refusals;
a manifest job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import synthetic
from plate_files import read, write
from videostyle import media
from videostyle.batch import load_manifest, plan_batch, run_batch
from videostyle.cli import main
from videostyle.config import FastConfig, RangeConfig, StylizeConfig, VideoConfig
from videostyle.fast.netfile import load_net
from videostyle.fast.train import render
from videostyle.style.backbones import tiny_backbone
from videostyle.video import FrameStore, stylize

HERE = Path(__file__).resolve().parents[1]  # tests/, where video_job.py is
FRAMES, CUT = 18, 9


@pytest.fixture(scope="module")
def clip(cut_clip) -> Path:
    return cut_clip(FRAMES, CUT, "clip.mp4")


@pytest.fixture(scope="module")
def style_png(tmp_path_factory) -> Path:
    from videostyle.media import write_image

    path = tmp_path_factory.mktemp("style") / "style.png"
    write_image(path, synthetic.brush_painting((48, 48), strokes=300))
    return path


def _config(src: Path | str, style: Path, out: Path, *, fast: dict | None = None, **kw) -> StylizeConfig:
    settings = dict(mode="fast", keyframe_every=5, train_steps=6)
    settings.update(fast or {})
    video = dict(size=64, iterations=3, first_iterations=6, seed=3)
    video.update(kw.pop("video", {}))
    return StylizeConfig(input=str(src), output=str(out), styles=(str(style),), video=VideoConfig(**video),
                         fast=FastConfig(**settings), work_dir=str(out.parent / (out.name + ".work")), quiet=True,
                         **kw)


def _frames(path: Path) -> list[media.Frame]:
    with media.open_reader(path) as reader:
        return list(reader)


def _store(config: StylizeConfig) -> FrameStore:
    work = Path(config.work_dir)
    return FrameStore(work, json.loads((work / "store.json").read_text())["config_hash"])


@pytest.fixture(scope="module")
def run(clip, style_png, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fast")
    config = _config(clip, style_png, folder / "out.mp4", fast=dict(save_net=str(folder / "look.vsnet")),
                     preview=str(folder / "preview.mp4"), report=str(folder / "report.json"))
    report = stylize(config, backbone=tiny_backbone(0))
    return config, report


def test_video_keeps_frames_timing_and_audio(clip, run):
    config, report = run
    src, out = media.probe(clip), media.probe(config.output)
    assert report["frames"] == FRAMES == out.video.frames
    assert [round(f.pts, 4) for f in _frames(Path(config.output))] == [round(f.pts, 4) for f in _frames(clip)]
    assert len(out.audio) == 1 and out.audio[0].codec == src.audio[0].codec
    assert media.probe(config.preview).video.frames == FRAMES


def test_report_says_what_fast_mode_did(run):
    config, report = run
    assert report["mode"] == "fast" and report["shots"] == [0, CUT]
    # keyframes: each shot's first frame, then every 5 frames, and its last frame (the camera brought new content
    # since its last keyframe), each chained to the one before in its shot
    assert [(k["index"], k["reason"], k["since"]) for k in report["keyframes"]] == [
        (0, "shot", None), (5, "every", 0), (CUT - 1, "close", 5), (CUT, "shot", None), (14, "every", CUT),
        (FRAMES - 1, "close", 14)]
    training = report["training"]
    assert training["steps"] == 6 and training["stopped"] == "steps" and training["pairs"] > 0
    assert {"keyframe_l1", "keyframe_perceptual", "style", "content", "temporal"} <= set(training["loss"])
    assert report["render"]["frames"] == FRAMES and report["render"]["network_fps"] > 0
    for stage in ("keyframes", "train", "render", "encode"):
        assert report["stages"][stage] > 0.0
    assert report["net"]["saved_to"] == config.fast.save_net
    assert json.loads(Path(config.report).read_text())["mode"] == "fast"


def test_the_network_changes_the_frames(clip, run):
    config, _ = run
    store = _store(config)
    with media.open_reader(clip, size=(64, 42)) as reader:
        sources = [f.image for f in reader]
    assert np.mean([np.abs(store.get(i).astype(float) - sources[i]).mean() for i in range(FRAMES)]) > 0.5


def test_no_training_returns_the_source(clip, style_png, tmp_path):
    """An untrained student is the identity: with no training steps and no strokes carried, fast mode gives back
    the frames."""
    config = _config(clip, style_png, tmp_path / "id.mkv", fast=dict(train_steps=0, keyframe_every=100,
                                                                      carry=False))
    report = stylize(config, backbone=tiny_backbone(0))
    assert report["render"]["carried"] is False
    store = _store(config)
    with media.open_reader(clip, size=(64, 42)) as reader:
        for frame in reader:
            np.testing.assert_array_equal(store.get(frame.index), frame.image)


def test_keyframes_come_out_as_painted_and_their_strokes_are_carried(clip, style_png, run):
    config, report = run
    assert report["render"]["carried"] is True and report["render"]["carry_seconds"] > 0
    store, keys = _store(config), FrameStore(Path(config.work_dir) / "keyframes", _store(config).config_hash)
    for k in report["keyframes"]:
        np.testing.assert_array_equal(store.get(k["index"]), keys.get(k["index"]))


def test_a_segment_rendered_in_part_is_completed_with_the_same_frames(clip, style_png, run, tmp_path):
    """Frames lost from the store (a kill during the render) are rendered again, the same as before."""
    config, _ = run
    store = _store(config)
    before = {i: store.get(i) for i in (2, 3, 11)}
    for i in before:
        for path in Path(config.work_dir).glob(f"frames/*/{i:06d}.*"):
            path.unlink()
        assert store.record(i) is None
    again = stylize(StylizeConfig(**{**config.__dict__, "output": str(tmp_path / "again.mkv"), "preview": None,
                                     "report": None, "fast": FastConfig(mode="fast", keyframe_every=5,
                                                                        train_steps=6)}),
                    backbone=tiny_backbone(0))
    assert again["render"]["frames"] == 3
    for i, image in before.items():
        np.testing.assert_array_equal(store.get(i), image)


def test_rerun_resumes_everything(clip, style_png, run, tmp_path):
    config, _ = run
    again = stylize(StylizeConfig(**{**config.__dict__, "output": str(Path(config.output).with_suffix(".mkv")),
                                     "preview": None, "report": None,
                                     "fast": FastConfig(mode="fast", keyframe_every=5, train_steps=6)}),
                    backbone=tiny_backbone(0))
    assert again["frames_resumed"] == FRAMES and again["training"]["resumed"]
    assert again["render"]["frames"] == 0


def test_saved_net_renders_the_same_frames_without_training(clip, style_png, run, tmp_path):
    config, _ = run
    out = tmp_path / "reuse.mkv"
    reuse = _config(clip, style_png, out, fast=dict(net=config.fast.save_net))
    report = stylize(reuse)  # no backbone needed: nothing is trained
    assert "training" not in report and "keyframes" not in report and report["net"]["from"] == config.fast.save_net
    assert report["render"]["carried"] is False  # no keyframes painted: the network's own picture
    net, _ = load_net(config.fast.save_net, styles=[str(style_png)])
    with media.open_reader(clip, size=(64, 42)) as reader:
        sources = [f.image for f in reader]
    expected = render(net.eval(), sources, torch.device("cpu"))
    second = _store(reuse)
    for i in range(FRAMES):
        np.testing.assert_array_equal(second.get(i), expected[i])


def _job(clip: Path, style: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(HERE / "video_job.py"), str(clip), str(style), str(out), str(out) + ".work",
            "--iterations", "2", "--first-iterations", "4", *extra]


def test_sigkill_mid_training_then_rerun_matches_uninterrupted(clip, style_png, tmp_path):
    """One thread, a fixed seed: a run killed mid-training resumes from its checkpoint to the very frames of a run
    that was never interrupted."""
    steps = "30"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    reference = subprocess.run(_job(clip, style_png, tmp_path / "ref.mkv", "--fast", steps), capture_output=True,
                               text=True, timeout=600, env=env)
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "out.mkv"
    ckpt = Path(str(out) + ".work") / "fast" / "student.ckpt"
    proc = subprocess.Popen(_job(clip, style_png, out, "--fast", steps), stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # a few more steps past the checkpoint, which the resumed run recomputes
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert not (Path(str(out) + ".work") / "frames").exists()  # killed before rendering
    done = subprocess.run(_job(clip, style_png, out, "--fast", steps), capture_output=True, text=True, timeout=600,
                          env=env)
    assert done.returncode == 0, done.stderr
    ref_store, got_store = (FrameStore(Path(str(p) + ".work"), json.loads(
        (Path(str(p) + ".work") / "store.json").read_text())["config_hash"]) for p in (tmp_path / "ref.mkv", out))
    for i in range(FRAMES):
        np.testing.assert_array_equal(got_store.get(i), ref_store.get(i))


NUMBERS = (1001, 1002, 1003, 1004, 1005)


def test_exr_plates_keep_numbers_and_alpha(tmp_path, style_png):
    yy, xx = np.mgrid[0:32, 0:48].astype(np.float32)
    for n in NUMBERS:
        rgb = np.stack([0.5 + 0.4 * np.sin((xx + 2 * n) / 5), 0.5 + 0.4 * np.cos(yy / 4), 0.3 + 0 * xx], -1) ** 2.2
        alpha = np.clip((xx - 6) / 12, 0, 1)
        write(tmp_path / f"plate.{n}.exr", np.concatenate([rgb * alpha[..., None], alpha[..., None]], -1), "half")
    out = tmp_path / "out" / "out.####.exr"
    stylize(_config(tmp_path / "plate.####.exr", style_png, out, video=dict(size=48)), backbone=tiny_backbone(0))
    assert sorted(p for p in os.listdir(out.parent) if p.endswith(".exr")) == [f"out.{n}.exr" for n in NUMBERS]
    for n in NUMBERS:
        src, _ = read(tmp_path / f"plate.{n}.exr")
        res, spec = read(out.parent / f"out.{n}.exr")
        assert spec.nchannels == 4 and np.abs(res[..., 3] - src[..., 3]).max() <= 1e-3


def test_matte_keeps_the_source_outside(clip, style_png, tmp_path):
    matte = np.zeros((42, 64), np.uint8)
    matte[:, :32] = 255
    cv2.imwrite(str(tmp_path / "matte.png"), matte)
    out = tmp_path / "matted.mkv"
    stylize(_config(clip, style_png, out, mask=str(tmp_path / "matte.png"), range=RangeConfig(max_frames=6)),
            backbone=tiny_backbone(0))
    with media.open_reader(clip, size=(64, 42), max_frames=6) as a, media.open_reader(out) as b:
        for src, res in zip(a, b):
            assert np.abs(res.image[:, 40:].astype(int) - src.image[:, 40:]).max() <= 2


@pytest.mark.parametrize("args,words,code", [
    (["--mode", "fast", "--passes", "2"], "--passes is not available in --mode fast", 2),
    (["--net", "x.vsnet"], "--net and --save-net need --mode fast", 2),
    (["--mode", "fast", "--keyframe-change", "0"], "invalid keyframe_change 0.0: must be > 0", 2),
    (["--mode", "fast", "--net-width", "2"], "invalid net_width 2", 2),
    (["--mode", "fast", "--net", "GARBAGE"], "not a videostyle network file", 2),
    (["--mode", "fast", "--save-net", "nowhere/look.vsnet"], "--save-net directory does not exist", 1),  # as outputs
])
def test_bad_fast_options_refused_before_work(clip, style_png, tmp_path, capsys, args, words, code):
    garbage = tmp_path / "garbage.vsnet"
    garbage.write_bytes(b"junk" * 50)
    args = [str(garbage) if a == "GARBAGE" else str(tmp_path / a) if a.startswith("nowhere") else a for a in args]
    out = tmp_path / "out.mp4"
    got = main(["stylize", str(clip), "--style", str(style_png), "-o", str(out), "--quiet", *args])
    err = capsys.readouterr().err
    assert got == code, err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not Path(str(out) + ".videostyle-work").exists()


def test_a_manifest_job_in_fast_mode(clip, style_png, tmp_path, monkeypatch):
    import videostyle.style.stylizer as stylizer

    monkeypatch.setattr(stylizer, "load_backbone", lambda *_a, **_kw: tiny_backbone(0))
    manifest = tmp_path / "shots.toml"
    manifest.write_text(f'[defaults]\nstyle = "{style_png}"\nsize = 48\nfirst_iterations = 4\niterations = 2\n'
                        'mode = "fast"\ntrain_steps = 4\nkeyframe_every = 6\n\n'
                        f'[[job]]\ninput = "{clip}"\noutput = "a.mp4"\n')
    # --shot-parallel: fast mode trains one network on the whole clip, so the job stays one task
    rows = run_batch(plan_batch(load_manifest(manifest)), executor="local", threads=1, quiet=True,
                     shot_parallel=True).results
    assert [r.status for r in rows] == ["ok"] and rows[0].tasks == 1
    report = rows[0].report
    assert report["mode"] == "fast" and report["frames"] == FRAMES and report["training"]["steps"] == 4
    assert (tmp_path / "a.mp4").exists()
