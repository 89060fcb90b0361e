"""The video engine end to end on small generated clips: frames, timing, audio, cuts, frame store and resume.

Plumbing tests use the tiny random backbone (fast, deterministic); quality is tested in test_video_quality.py
with the offline VGG16 backbone.
"""

from __future__ import annotations

import dataclasses
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

import synthetic
from videostyle import media
from videostyle.config import RangeConfig, StylizeConfig, VideoConfig
from videostyle.errors import FrameStoreError, OutputExistsError, UsageError
from videostyle.style.backbones import tiny_backbone
from videostyle.video import FrameStore, open_store, run_frames, stylize

HERE = Path(__file__).resolve().parents[1]  # tests/, where video_job.py is
CUT = 9
FRAMES = 18


@pytest.fixture(scope="module")
def clip(cut_clip) -> Path:
    """18 frames at 24 fps, 96×64, AAC audio, a hard cut at frame 9."""
    return cut_clip(FRAMES, CUT, "clip.mp4")


@pytest.fixture(scope="module")
def style_png(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("style")
    yy, xx = np.mgrid[0:64, 0:64]
    style = np.stack([(np.sin(xx / 3.0) * 127 + 128), (np.cos(yy / 5.0) * 127 + 128),
                      ((xx + yy) % 32) * 8], axis=-1).astype(np.uint8)
    path = folder / "style.png"
    cv2.imwrite(str(path), cv2.cvtColor(style, cv2.COLOR_RGB2BGR))
    return path


def _config(clip: Path, style: Path, out: Path, **video) -> StylizeConfig:
    settings = dict(size=64, iterations=4, first_iterations=8, seed=3)
    settings.update(video)
    return StylizeConfig(input=str(clip), output=str(out), styles=(str(style),), video=VideoConfig(**settings),
                         work_dir=str(out.parent / (out.name + ".work")), quiet=True)


def _frames(path: Path) -> list[media.Frame]:
    with media.open_reader(path) as reader:
        return list(reader)


@pytest.fixture(scope="module")
def run(clip, style_png, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out.mp4"
    config = _config(clip, style_png, out)
    report = stylize(config, backbone=tiny_backbone(0))
    return config, report


def test_output_keeps_frames_timing_and_audio(clip, run):
    config, report = run
    src, out = media.probe(clip), media.probe(config.output)
    assert report["frames"] == FRAMES == out.video.frames
    assert out.video.fps == pytest.approx(src.video.fps)
    assert [round(f.pts, 4) for f in _frames(Path(config.output))] == [round(f.pts, 4) for f in _frames(clip)]
    assert len(out.audio) == 1 and out.audio[0].codec == src.audio[0].codec
    assert out.audio[0].sample_rate == src.audio[0].sample_rate
    assert abs(out.audio[0].duration - src.audio[0].duration) <= 1024 / src.audio[0].sample_rate + 1e-6
    assert (out.video.display_width, out.video.display_height) == tuple(report["size"]) == (64, 42)


def test_cut_restarts_the_chain(run):
    _config, report = run
    assert report["shots"] == [0, CUT]
    per_frame = {f["index"]: f for f in report["per_frame"]}
    # Shot starts are cold (content init, first-frame budget); every other frame is warm (warped init).
    assert [i for i, f in per_frame.items() if not f["warm"]] == [0, CUT]
    assert per_frame[CUT]["shot_start"] and per_frame[CUT]["iterations"] == 8
    warm = [f for i, f in per_frame.items() if i not in (0, CUT)]
    assert all(f["iterations"] <= f["budget"] <= 8 for f in warm)  # a warm budget: 4 plus the new share of 8 − 4
    assert per_frame[CUT]["loss"].get("temporal", 0.0) == 0.0
    assert per_frame[CUT + 1]["loss"]["temporal"] > 0.0


def test_report_has_the_contract_fields(run):
    _config, report = run
    for key in ("frames", "shots", "model", "device", "size", "iterations", "loss", "seconds", "stages"):
        assert key in report
    stages = report["stages"]
    assert {"decode", "shots", "flow", "optimise", "store", "waiting", "encode", "preview", "setup", "total"} <= set(
        stages)
    assert stages["optimise"] > 0 and stages["encode"] > 0  # each timed around work that ran
    # the main thread's stages are disjoint parts of the total (decode and flow overlap them, in the background)
    assert stages["total"] >= stages["setup"] + stages["optimise"] + stages["store"] + stages["encode"]
    assert report["model"] == "tiny" and report["device"] == "cpu"
    assert len(report["iterations"]) == FRAMES


def test_the_report_says_why_each_frame_stopped(clip, style_png, run, tmp_path):
    """Each frame record says why it stopped (budget, tolerance or settled) and what each of its optimisations ran;
    the summary counts them. With budgets of 8 and 4 every frame runs out of budget; with room to spare warm
    frames settle (issue 22's gain rule: a window that gains little of the loss's fall so far)."""
    _made, report = run
    frames = report["per_frame"]
    assert all(f["stopped_by"] == "budget" and f["iterations"] == f["budget"] for f in frames)
    assert report["iterations_summary"]["stopped_by"] == {"settled": 0, "budget": FRAMES, "tolerance": 0}
    config = _config(clip, style_png, tmp_path / "room.mp4", iterations=60, first_iterations=30)
    config = dataclasses.replace(config, range=RangeConfig(max_frames=4))
    roomy = stylize(config, backbone=tiny_backbone(0))
    warm = [f for f in roomy["per_frame"] if f["warm"]]
    assert len(warm) == 3 and all(f["stopped_by"] == "settled" and f["iterations"] < f["budget"] for f in warm)
    for f in roomy["per_frame"]:
        assert f["phases"][0]["part"] == "frame" and sum(p["iterations"] for p in f["phases"]) == f["iterations"]
        assert {p["stopped_by"] for p in f["phases"]} <= {"settled", "budget", "tolerance"}
    assert sum(roomy["iterations_summary"]["stopped_by"].values()) == 4


def test_temporal_weight_zero_is_independent_per_frame(clip, style_png, tmp_path):
    config = _config(clip, style_png, tmp_path / "base.mp4", temporal_weight=0.0)
    config = StylizeConfig(**{**config.__dict__, "range": RangeConfig(max_frames=5)})
    report = stylize(config, backbone=tiny_backbone(0))
    assert report["frames"] == 5
    assert not any(f["warm"] for f in report["per_frame"])
    assert report["iterations"] == [8] * 5


def test_rerun_resumes_and_gives_identical_frames(clip, style_png, run, tmp_path):
    reference_config, _ = run
    reference = open_store(reference_config)
    config = _config(clip, style_png, tmp_path / "out.mp4")
    # A partial run: frames of the first shot only, as if the process had died at the cut.
    state = run_frames(config, frame_range=(0, CUT), backbone=tiny_backbone(0))
    assert len(state.frames) == CUT
    report = stylize(config, backbone=tiny_backbone(0))
    assert report["frames_resumed"] == CUT and report["frames_computed"] == FRAMES - CUT
    store = open_store(config)
    for i in range(FRAMES):
        np.testing.assert_array_equal(store.get(i), reference.get(i))


def test_damaged_frame_in_store_is_recomputed(clip, style_png, run, tmp_path):
    reference = open_store(run[0])
    config = _config(clip, style_png, tmp_path / "out.mp4")
    run_frames(config, frame_range=(0, 5), backbone=tiny_backbone(0))
    last = Path(config.work_dir) / "frames" / "p1" / "000004.png"
    last.write_bytes(last.read_bytes()[:100])  # a truncated write
    report = stylize(config, backbone=tiny_backbone(0))
    assert report["frames_resumed"] == 4
    np.testing.assert_array_equal(open_store(config).get(4), reference.get(4))


def test_changed_configuration_refuses_to_mix(clip, style_png, tmp_path):
    config = _config(clip, style_png, tmp_path / "out.mp4")
    run_frames(config, frame_range=(0, 2), backbone=tiny_backbone(0))
    changed = _config(clip, style_png, tmp_path / "out.mp4", iterations=5)
    with pytest.raises(FrameStoreError, match="different configuration"):
        stylize(changed, backbone=tiny_backbone(0))
    forced = StylizeConfig(**{**changed.__dict__, "force": True, "range": RangeConfig(max_frames=3)})
    assert stylize(forced, backbone=tiny_backbone(0))["frames_resumed"] == 0


def test_existing_output_needs_force(clip, style_png, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        stylize(_config(clip, style_png, out), backbone=tiny_backbone(0))
    assert out.read_bytes() == b"keep me"


def test_frame_range_must_start_a_shot(clip, style_png, tmp_path):
    with pytest.raises(UsageError, match="does not begin a shot"):
        run_frames(_config(clip, style_png, tmp_path / "o.mp4"), frame_range=(3, 6), backbone=tiny_backbone(0))


def test_single_image_in_single_image_out(style_png, tmp_path):
    photo = synthetic.photo("chelsea")
    src = tmp_path / "cat.jpg"
    cv2.imwrite(str(src), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    out = tmp_path / "cat_styled.png"
    config = StylizeConfig(input=str(src), output=str(out), styles=(str(style_png),),
                           video=VideoConfig(size=64, first_iterations=6), quiet=True)
    report = stylize(config, backbone=tiny_backbone(0))
    image = cv2.imread(str(out))
    assert report["frames"] == 1 and image.shape[:2] == (report["size"][1], report["size"][0])


def test_video_to_single_image_is_refused(clip, style_png, tmp_path):
    with pytest.raises(UsageError, match="single image"):
        stylize(_config(clip, style_png, tmp_path / "x.png"), backbone=tiny_backbone(0))


def _job(clip, style, out, *extra) -> list[str]:
    return [sys.executable, str(HERE / "video_job.py"), str(clip), str(style), str(out), str(out) + ".work", *extra]


def _wait_for_frames(work: Path, n: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = len(list((work / "frames" / "p1").glob("*.json"))) if (work / "frames" / "p1").exists() else 0
        if done >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"job ended early: {proc.returncode} {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("job made no progress")


def test_sigkill_mid_clip_then_rerun_matches_uninterrupted(clip, style_png, run, tmp_path):
    reference_config, _ = run
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen(_job(clip, style_png, out), stderr=subprocess.PIPE, text=True)
    _wait_for_frames(Path(str(out) + ".work"), 5, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done = subprocess.run(_job(clip, style_png, out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ref, got = _frames(Path(reference_config.output)), _frames(out)
    assert [f.pts for f in got] == [f.pts for f in ref]
    # The stylised frames are compared losslessly in the stores: x264 output is not bit-stable across processes.
    reference, resumed = open_store(reference_config), _store_of(Path(str(out) + ".work"))
    for i in range(FRAMES):
        np.testing.assert_array_equal(resumed.get(i), reference.get(i))


def _store_of(work: Path) -> FrameStore:
    return FrameStore(work, json.loads((work / "store.json").read_text())["config_hash"])


def test_sigint_stops_cleanly_with_a_resume_message(clip, style_png, tmp_path):
    out = tmp_path / "out.mp4"
    # Every budgeted iteration runs (no early stop), so the job is still busy when the signal arrives.
    proc = subprocess.Popen(_job(clip, style_png, out, "--first-iterations", "60", "--iterations", "400",
                                 "--change-tolerance", "0"), stderr=subprocess.PIPE, text=True)
    _wait_for_frames(Path(str(out) + ".work"), 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err and "resumes" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert _store_of(Path(str(out) + ".work")).finished_prefix() >= 2


def test_rotated_source_keeps_its_orientation(style_png, tmp_path):
    # A phone clip stored landscape with a 90° display flag: the result must look the way the source displays.
    stored = np.full((48, 64, 3), 40, np.uint8)
    stored[:12, :12] = (255, 255, 255)  # marker in the stored top-left corner: displayed top-right
    clip = synthetic.write_clip(tmp_path / "rot.mp4", [stored] * 4, rotation=90, audio=False)
    out = tmp_path / "out.mp4"
    config = StylizeConfig(input=str(clip), output=str(out), styles=(str(style_png),),
                           video=VideoConfig(size=64, iterations=2, first_iterations=2, seed=3),
                           work_dir=str(tmp_path / "work"), quiet=True)
    stylize(config, backbone=tiny_backbone(0))
    src, res = media.probe(clip).video, media.probe(out).video
    assert (res.display_width, res.display_height) == (src.display_width, src.display_height) == (48, 64)
    image = _frames(out)[0].image
    corners = {"top_right": image[:8, -8:], "top_left": image[:8, :8], "bottom_left": image[-8:, :8],
               "bottom_right": image[-8:, -8:]}
    marker = corners.pop("top_right").mean()
    assert all(marker > c.mean() + 60 for c in corners.values())


def test_warm_budget_follows_the_new_content(style_png, tmp_path):
    """A subject entering: each warm frame's budget is the warm budget plus its new share of the difference to
    the first-frame budget, and that share is what the flow could not carry (more while the subject enters)."""
    scene = synthetic.moving_scene(frames=6, size=(96, 64), photo_name="coffee", velocity=(0.3, 0.0), wobble=0.0,
                                   occluder_size=(32, 40), occluder_velocity=(8.0, 0.0), occluder_start=(-0.3, 0.2),
                                   subject="chelsea")
    clip = synthetic.write_clip(tmp_path / "enter.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    config = _config(clip, style_png, tmp_path / "out.mkv", iterations=10, first_iterations=110, size=96)
    report = stylize(config, backbone=tiny_backbone(0))
    warm = [f for f in report["per_frame"] if f["warm"]]
    assert len(warm) == 5
    for f in warm:
        assert 0.0 < f["new_share"] < 0.8
        assert f["budget"] == 10 + round(f["new_share"] * 100)
        cold = sum(p["iterations"] for p in f["phases"] if p["part"] == "cold start")  # --fill cold's, smaller
        assert f["iterations"] <= f["budget"] and 0 < f["effort"] <= f["iterations"] + cold
    assert max(f["budget"] for f in warm) > 20  # the subject brings new content: budgets well above 10


def test_cold_fill_starts_new_content_from_a_cold_painting(style_png, tmp_path, monkeypatch):
    """``--fill cold`` (the default): a warm frame with new content first paints the whole frame cold at half its
    size (for a fifth of --first-iterations), reported as its first phase and counted in its effort (the report's
    warm-frame mean too) and time, and the new content starts from that painting; a warm frame with nothing new,
    ``--fill match``, and a cold start under ``min_cold_iterations`` (a fifth of 12) paint none."""
    scene = synthetic.moving_scene(frames=4, size=(96, 64), photo_name="coffee", velocity=(0.0, 0.0), wobble=0.0,
                                   occluder_size=(32, 40), occluder_velocity=(8.0, 0.0), occluder_start=(-0.3, 0.2),
                                   subject="chelsea")
    entering = synthetic.write_clip(tmp_path / "enter.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    still = synthetic.write_clip(tmp_path / "still.mkv", [scene.frames[0]] * 3, fps=24, audio=False, codec="ffv1")
    from videostyle.video import warm

    def magenta(*args, **kwargs):  # the cold painting, made magenta: where the new content starts shows
        painted, result = cold_painting(*args, **kwargs)
        return np.broadcast_to(np.array([1.0, 0.0, 1.0], np.float32), painted.shape).copy(), result

    cold_painting = warm.cold_painting
    monkeypatch.setattr(warm, "cold_painting", magenta)
    assert VideoConfig().fill == "cold"
    runs = {}
    for name, clip, fill, first in (("cold", entering, "cold", 100), ("match", entering, "match", 100),
                                    ("still", still, "cold", 100), ("short", entering, "cold", 12)):
        config = _config(clip, style_png, tmp_path / f"{name}_out.mkv", iterations=6, first_iterations=first,
                         size=96, fill=fill)
        report = stylize(config, backbone=tiny_backbone(0))
        runs[name] = [f for f in report["per_frame"] if f["warm"]]
        assert report["iterations_summary"]["warm_frames_effort_mean"] == pytest.approx(
            np.mean([f["effort"] for f in runs[name]]))
    for f in runs["cold"]:
        first = f["phases"][0]
        assert first["part"] == "cold start" and 0 < first["iterations"] <= round(0.2 * 100)  # of --first-iterations
        assert f["effort"] >= first["iterations"] / 4 * 0.99  # at least its quarter-size evaluations
    assert not any(p["part"] == "cold start" for f in runs["match"] + runs["still"] + runs["short"]
                   for p in f["phases"])
    x0, y0, x1, y1 = (max(0, int(v)) for v in scene.occluder_boxes[1])  # the subject, all new in frame 1
    to_magenta = {name: np.abs(_frames(tmp_path / f"{name}_out.mkv")[1].image[y0:y1, x0:x1] / 255.0
                               - [1.0, 0.0, 1.0]).mean() for name in ("cold", "match")}
    assert to_magenta["cold"] < 0.6 * to_magenta["match"], to_magenta


def test_cold_painting_is_the_frame_painted_at_half_size():
    """The cold start: the frame stylised from its photo at half its size (no smaller than a pyramid level's
    smallest side), resized back, plus the photo's detail that half size could not hold; ``fill("cold")`` uses it
    where given and falls back to ``match``."""
    from videostyle.config import StyleConfig
    from videostyle.style import Stylizer
    from videostyle.video.warm import cold_painting, fill

    frame = cv2.resize(synthetic.photo("astronaut"), (96, 64), interpolation=cv2.INTER_AREA)
    style = cv2.resize(synthetic.photo("coffee"), (64, 64), interpolation=cv2.INTER_AREA)
    stylizer = Stylizer([style], StyleConfig(), backbone=tiny_backbone(0))
    painted, result = cold_painting(stylizer, frame, iterations=20, seed=1, options={})
    assert result.image.shape == (32, 48, 3) and 0 < result.iterations <= 20
    assert painted.shape == (64, 96, 3) and painted.dtype == np.float32
    assert np.abs(painted - frame / 255.0).mean() > 0.02  # painted, not the photo
    from videostyle.style.images import resize01
    from videostyle.tuning import EngineTuning

    plain, _ = cold_painting(stylizer, frame, iterations=20, seed=1, options={}, tuning=EngineTuning(cold_detail=0.0))
    photo = frame / np.float32(255.0)
    detail = photo - resize01(np.clip(resize01(photo, (48, 32)), 0, 1), (96, 64))  # what half size cannot hold
    inside = (painted > 0.02) & (painted < 0.98)
    np.testing.assert_allclose((painted - plain)[inside], detail[inside], atol=0.02)
    assert np.abs(detail).mean() > 0.01
    tiny, small = cold_painting(stylizer, frame[:20, :30], iterations=20, seed=1, options={})
    assert tiny.shape == (20, 30, 3) and min(small.image.shape[:2]) >= 16
    source, warped = frame / 255.0, np.zeros((64, 96, 3), np.float32)
    reliable = np.ones((64, 96), np.float32)
    reliable[:, :20] = 0.0
    assert fill("cold", source, warped, reliable, painted=painted) is painted
    np.testing.assert_array_equal(fill("cold", source, warped, reliable), fill("match", source, warped, reliable))


def test_paint_fill_is_the_frame_under_its_neighbours_paint_layer():
    """``--fill paint``: the pixels the flow cannot carry start from the frame itself plus the paint layer (stylised
    − source) of the carried pixels around them, so the new content keeps its own structure (no ghost of what was
    there before) and starts in the painting's colours."""
    from videostyle.video.engine import _fill

    rng = np.random.default_rng(0)
    source = rng.uniform(0.2, 0.6, (32, 32, 3)).astype(np.float32)  # structure only the frame has
    warped = np.clip(source + np.array([0.25, -0.1, 0.05], np.float32), 0, 1)  # carried paint: a colour shift
    warped[8:24, 8:24] = 0.9  # what the warp brings into the hole: the previous frame's paint of something else
    reliable = np.ones((32, 32), np.float32)
    reliable[8:24, 8:24] = 0.0
    hole = (slice(8, 24), slice(8, 24))
    painted = _fill("paint", source, warped, reliable)
    np.testing.assert_allclose(painted[hole] - source[hole], np.broadcast_to([0.25, -0.1, 0.05], (16, 16, 3)),
                               atol=0.02)
    assert np.array_equal(_fill("content", source, warped, reliable), source)
    assert np.allclose(_fill("warped", source, warped, reliable)[hole], 0.9)  # the ghost the paint fill avoids


def test_blend_and_inpaint_fills():
    """``--fill blend``: the mean of the frame and the warped previous result; ``--fill inpaint``: the warped result
    with the unreliable pixels filled from the reliable ones around them (no ghost of what the warp brought in)."""
    from videostyle.video.warm import fill

    source = np.full((32, 32, 3), 0.2, np.float32)
    warped = np.full((32, 32, 3), 0.6, np.float32)
    warped[8:24, 8:24] = 0.9  # the ghost inside the hole
    reliable = np.ones((32, 32), np.float32)
    reliable[8:24, 8:24] = 0.0
    np.testing.assert_allclose(fill("blend", source, warped, reliable), 0.5 * (source + warped))
    inpainted = fill("inpaint", source, warped, reliable)
    np.testing.assert_allclose(inpainted[8:24, 8:24], 0.6, atol=0.02)  # from the surroundings, not the ghost
    np.testing.assert_array_equal(inpainted[reliable > 0.5], warped[reliable > 0.5])


def test_match_fill_paints_new_content_in_the_carried_colours():
    """``--fill match``: the new content is the frame mapped by the colour map that took the carried pixels' photo
    colours to their painting's, so it keeps its own structure (legible) in the painting's palette; with too few
    carried pixels to fit a map it is the frame itself."""
    from videostyle.video.engine import _fill

    rng = np.random.default_rng(1)
    source = rng.uniform(0.1, 0.7, (32, 32, 3)).astype(np.float32)
    mix = np.array([[0.9, -0.3, 0.1], [-0.3, 0.5, 0.2], [0.1, 0.2, 0.6]], np.float32)  # the painting's recolouring
    warped = np.clip(source @ mix.T + np.array([0.1, 0.05, 0.15], np.float32), 0, 1)
    hole = (slice(8, 24), slice(8, 24))
    truth = warped[hole].copy()  # what the map gives the hole's own photo
    warped[hole] = 0.9  # the warp brings something else there
    reliable = np.ones((32, 32), np.float32)
    reliable[hole] = 0.0
    matched = _fill("match", source, warped, reliable)
    np.testing.assert_allclose(matched[hole], truth, atol=0.03)
    assert np.corrcoef(matched[hole].ravel(), source[hole].ravel())[0, 1] < 0.9  # recoloured, not the photo
    reliable[:] = 0.0
    reliable[0, :8] = 1.0  # 8 carried pixels: no map
    assert np.array_equal(_fill("match", source, warped, reliable), source)
