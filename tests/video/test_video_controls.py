"""Artists' controls through ``stylize``: a matte (``--mask``), region styles (``--outside-style``) and style
schedules (``--style-schedule``), with their pre-flight, cuts and resume.

Looks are checked with the real offline backbone (vgg16-hed) on tiny clips: outside the matte the result is the
source (within 2/255), inside it is stylised; across a schedule's transition from style A to style B the frames'
Gram distance to A rises and to B falls. Plumbing (pre-flight refusals, resume, the frame store's hash) uses the
tiny random net.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from reliability_cases import temporaries
from style_images import checker_style, painted_style
from videostyle import media
from videostyle.cli import main
from videostyle.config import EncodeConfig, RangeConfig, StyleConfig, StylizeConfig, VideoConfig
from videostyle.errors import FrameStoreError
import synthetic
from videostyle.style import load_backbone, style_distance
from videostyle.style.backbones import tiny_backbone
from videostyle.video import stylize
from videostyle.video.engine import _run_settings, open_store, run_frames


W, H = 96, 64


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("controls")
    scene = synthetic.moving_scene(frames=5, size=(W, H))
    synthetic.write_clip(root / "clip.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    media.write_image(root / "a.png", painted_style())
    media.write_image(root / "b.png", checker_style())
    (root / "matte").mkdir()
    for i in range(5):
        matte = np.zeros((H, W), np.uint8)
        matte[:, W // 2:] = 255  # the right half
        media.write_image(root / "matte" / f"matte.{i + 1:04d}.png", np.repeat(matte[..., None], 3, axis=2))
    return root


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("vgg16-hed", layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"))


def _config(root: Path, out: Path, **kw) -> StylizeConfig:
    video = VideoConfig(size=kw.pop("size", 64), first_iterations=kw.pop("first", 40), iterations=kw.pop("it", 15),
                        style_schedule=kw.pop("schedule", None))
    return StylizeConfig(input=str(kw.pop("input", root / "clip.mkv")), output=str(out),
                         styles=kw.pop("styles", (str(root / "a.png"),)), video=video,
                         style=StyleConfig(model="vgg16-hed", device="cpu"), work_dir=str(out) + ".work", quiet=True,
                         **kw)


def _frames(path: Path, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    with media.open_reader(str(path), size=size) as reader:
        return [f.image for f in reader]


def test_a_masked_run_passes_the_source_outside_and_stylises_inside(media_dir: Path, tmp_path: Path,
                                                                    backbone) -> None:
    out = tmp_path / "masked.mkv"  # FFV1: lossless, so what is measured is the composite itself
    report = stylize(_config(media_dir, out, mask=str(media_dir / "matte" / "matte.%04d.png")))
    w, h = report["size"]
    source, result = _frames(media_dir / "clip.mkv", (w, h)), _frames(out)
    assert len(result) == len(source) == 5
    edge = w // 2
    style = media.read_image(media_dir / "a.png")
    for src, res in zip(source, result):
        diff = np.abs(src.astype(int) - res.astype(int))
        assert diff[:, :edge].max() <= 2  # outside the matte: the source
        inside_src, inside_res = src[:, edge + 4:], res[:, edge + 4:]
        assert diff[:, edge + 4:].mean() > 15  # inside: clearly changed ...
        assert style_distance(inside_res, style, backbone) < 0.8 * style_distance(inside_src, style, backbone)
    # the feathered edge: between the source and the stylised inside
    ramp = np.abs(source[0].astype(int) - result[0].astype(int))[:, edge:edge + 4].mean(axis=(0, 2))
    assert ramp[0] < ramp[-1]


def test_a_schedule_moves_from_style_a_to_style_b(media_dir: Path, tmp_path: Path, backbone) -> None:
    """Style A (the painting) at frame 0, blending to B (the checker) by frame 3, then B: across the transition
    (frames 0-3) the distance to A rises and the distance to B falls, frame by frame, and frame 4, all B, stays
    there (measured 0.21, 0.36, 0.61, 0.96, 0.93 to A and 0.70, 0.57, 0.48, 0.33, 0.33 to B with issue 22's stop
    rule; 0.20, 0.37, 0.54, 0.84, 0.92 and 0.70, 0.57, 0.49, 0.37, 0.33 before it, when warm frames ran longer and
    reached B a frame later)."""
    out = tmp_path / "scheduled.mkv"
    config = _config(media_dir, out, styles=(str(media_dir / "a.png"), str(media_dir / "b.png")),
                     schedule=("0f:1", "3f:2"), size=48)
    report = stylize(config)
    assert [f["style_blend"] for f in report["per_frame"]][:4] == [[1.0, 0.0], [0.6667, 0.3333],
                                                                   [0.3333, 0.6667], [0.0, 1.0]]
    a, b = (media.read_image(media_dir / n) for n in ("a.png", "b.png"))
    d = [(style_distance(f, a, backbone), style_distance(f, b, backbone)) for f in _frames(out)]
    to_a, to_b = [x for x, _ in d], [y for _, y in d]
    assert all(x < y for x, y in zip(to_a[:4], to_a[1:4])) and all(x > y for x, y in zip(to_b, to_b[1:])), d
    assert to_a[4] > 0.9 * to_a[3], d  # B reached: the plateau holds
    assert to_a[-1] > 1.5 * to_a[0] and to_b[-1] < 0.8 * to_b[0], d
    assert to_a[0] < to_b[0] and to_a[-1] > to_b[-1], d  # A was the nearer style, B is now


def test_region_styles_run_through_stylize(media_dir: Path, tmp_path: Path) -> None:
    """Plumbing with the tiny net: the outside style joins the styles (and the frame store's hash)."""
    out = tmp_path / "regions.mkv"
    config = _config(media_dir, out, mask=str(media_dir / "matte" / "matte.%04d.png"),
                     outside_style=str(media_dir / "b.png"), first=4, it=2)
    report = stylize(config, backbone=tiny_backbone(0))
    source, result = _frames(media_dir / "clip.mkv", (64, 42)), _frames(out)
    # the whole frame is stylised (no composite with the source)
    assert all(np.abs(s.astype(int) - r.astype(int))[:, :30].mean() > 1 for s, r in zip(source, result))
    assert len(_run_settings(config)["styles"]) == 2
    assert report["styles"] == [str(media_dir / "a.png"), str(media_dir / "b.png")]  # the outside style last


def test_schedule_runs_resume_across_a_cut_and_a_new_schedule_refuses_the_store(cut_clip, media_dir: Path,
                                                                               tmp_path: Path) -> None:
    clip = cut_clip(12, 6, "cut.mkv", codec="ffv1", audio=False)  # shots are at least 6 frames
    styles = (str(media_dir / "a.png"), str(media_dir / "b.png"))
    kw = {"input": clip, "styles": styles, "schedule": ("0:1", "0.4:2"), "first": 3, "it": 2,
          "size": 32}
    reference = _config(media_dir, tmp_path / "ref.mkv", **kw)
    stylize(reference, backbone=tiny_backbone(0))
    config = _config(media_dir, tmp_path / "out.mkv", **kw)
    run_frames(config, frame_range=(0, 6), backbone=tiny_backbone(0))  # as if it had died at the cut
    report = stylize(config, backbone=tiny_backbone(0))
    assert report["shots"] == [0, 6] and report["frames_resumed"] == 6
    assert report["per_frame"][6]["style_blend"] == [0.375, 0.625]  # 6/24 s between keys at 0 and 0.4 s
    for i in range(12):
        np.testing.assert_array_equal(open_store(config).get(i), open_store(reference).get(i))
    (tmp_path / "out.mkv").unlink()  # the frame store stays: a new schedule must not mix with its frames
    changed = _config(media_dir, tmp_path / "out.mkv", **dict(kw, schedule=("0:1", "0.3:2")))
    with pytest.raises(FrameStoreError, match="different configuration"):
        stylize(changed, backbone=tiny_backbone(0))


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("case", "code", "words"), [
    ("missing", 1, ("--mask", "no image files match")),
    ("short", 1, ("4 matte frames, but the input's selection needs frame index 4",)),
    ("unreadable", 1, ("--mask", "not a readable image")),
    ("outside_without_mask", 2, ("--outside-style", "give --mask too")),
    ("bad_schedule", 2, ("--style-schedule", "style 3 of 2")),
    ("style_zero", 2, ("--style-schedule", "style 0 of 1 --style images")),
    ("feather_without_mask", 2, ("--mask-feather", "give --mask too")),
    ("bad_feather", 2, ("invalid mask_feather -1",)),
    ("outside_missing", 1, ("--outside-style", "nope.png: style image does not exist")),
    ("empty_matte", 1, ("--mask", "the matte is empty")),
])
def test_controls_are_refused_before_work(case: str, code: int, words: tuple[str, ...], media_dir: Path,
                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "short"
    short.mkdir()
    for i in range(4):
        (short / f"m.{i + 1:04d}.png").write_bytes((media_dir / "matte" / "matte.0001.png").read_bytes())
    (tmp_path / "bad.png").write_bytes(b"garbage")
    options = {
        "missing": ["--mask", str(tmp_path / "nope.%04d.png")],
        "short": ["--mask", str(short / "m.%04d.png")],
        "unreadable": ["--mask", str(tmp_path / "bad.png")],
        "outside_without_mask": ["--outside-style", str(media_dir / "b.png")],
        "bad_schedule": ["--style", str(media_dir / "b.png"), "--style-schedule", "0:1,2:3"],
        "style_zero": ["--style-schedule", "0:0"],
        "feather_without_mask": ["--mask-feather", "3"],
        "bad_feather": ["--mask", str(media_dir / "matte"), "--mask-feather", "-1"],
        "outside_missing": ["--mask", str(media_dir / "matte"), "--outside-style", str(tmp_path / "nope.png")],
        "empty_matte": ["--mask", str(tmp_path / "black.png")],
    }[case]
    media.write_image(tmp_path / "black.png", np.zeros((H, W, 3), np.uint8))
    out = tmp_path / "out.mkv"
    got, err = _run_cli(["stylize", str(media_dir / "clip.mkv"), "--style", str(media_dir / "a.png"), "-o", str(out),
                         "--size", "32", "--quiet", *options], capsys)
    lines = err.strip().splitlines()
    assert got == code and len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not out.exists() and not Path(str(out) + ".videostyle-work").exists() and temporaries(tmp_path) == []


def test_a_masked_plate_keeps_the_plate_outside_at_full_resolution(tmp_path: Path) -> None:
    """EXR plates 1001-1004 (premultiplied RGBA, half) with a roto matte numbered like them, --frames 1002-1003,
    --full-resolution: the source is composited at plate resolution, so outside the matte the plate comes back
    (within 1.5/255 in sRGB terms) with its alpha unchanged, under its own frame numbers."""
    from plate_files import read, srgb_error, write

    rng = np.random.default_rng(0)
    (tmp_path / "plates").mkdir()
    (tmp_path / "roto").mkdir()
    for n in range(1001, 1005):
        alpha = np.ones((H, W, 1), np.float32)
        alpha[:10] = 0.5
        write(tmp_path / "plates" / f"plate.{n}.exr", np.concatenate([rng.random((H, W, 3)) * 0.8 * alpha, alpha], 2),
              "half")
        matte = np.zeros((H, W, 3), np.uint8)
        matte[:, W // 2:] = 255
        media.write_image(tmp_path / "roto" / f"roto.{n}.png", matte)
    media.write_image(tmp_path / "s.png", checker_style())
    config = StylizeConfig(input=str(tmp_path / "plates" / "plate.####.exr"),
                           output=str(tmp_path / "out" / "out.####.exr"), styles=(str(tmp_path / "s.png"),),
                           mask=str(tmp_path / "roto" / "roto.####.png"),
                           range=RangeConfig(frames="1002-1003"), encode=EncodeConfig(full_resolution=True),
                           video=VideoConfig(size=48, first_iterations=4, iterations=2), quiet=True)
    stylize(config, backbone=tiny_backbone(0))
    for n in (1002, 1003):
        source, _ = read(tmp_path / "plates" / f"plate.{n}.exr")
        result, _ = read(tmp_path / "out" / f"out.{n}.exr")
        assert result.shape == source.shape and np.abs(result[..., 3] - source[..., 3]).max() <= 1e-3
        assert srgb_error(result[:, :W // 2 - 1], source[:, :W // 2 - 1]) <= 1.5
        assert srgb_error(result[:, W // 2 + 8:], source[:, W // 2 + 8:]) > 20
        # outside the matte the plate's own float values, not their 8-bit rounding (up to 1/510 in sRGB)
        assert srgb_error(result[:, :W // 2 - 1], source[:, :W // 2 - 1]) <= 0.05


def test_a_manifest_job_resolves_its_matte_beside_the_manifest(media_dir: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import json

    manifest = media_dir / "shots.json"  # relative paths resolve against the manifest's folder
    job = {"input": "clip.mkv", "style": "a.png", "output": str(tmp_path / "out.mkv"), "size": 32,
           "mask": "matte/matte.%04d.png", "outside_style": "b.png"}
    manifest.write_text(json.dumps({"job": [job]}))
    code, err = _run_cli(["batch", str(manifest), "--dry-run", "--quiet"], capsys)
    assert code == 0, err
    manifest.write_text(json.dumps({"job": [dict(job, mask="matte/nope.%04d.png")]}))
    code, err = _run_cli(["batch", str(manifest), "--dry-run", "--quiet"], capsys)
    assert code != 0 and "nope.%04d.png: no image files match" in err, err


def test_later_passes_keep_the_matte_and_the_schedule(media_dir: Path, tmp_path: Path) -> None:
    """The multi-pass scheme (passes 2…, backward then forward) stylises each frame with its own matte and blend."""
    from videostyle.style import Stylizer

    seen: list[tuple] = []
    run = Stylizer.run

    def spy(self, content, **kw):
        seen.append((kw.get("regions"), kw.get("blend_weights")))
        return run(self, content, **kw)

    out = tmp_path / "passes.mkv"
    config = _config(media_dir, out, mask=str(media_dir / "matte"), styles=(str(media_dir / "a.png"),
                     str(media_dir / "b.png")), schedule=("0f:1", "4f:2"), first=4, it=2)
    config = dataclasses.replace(config, video=dataclasses.replace(config.video, passes=3, pass_iterations=2))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Stylizer, "run", spy)
        report = stylize(config, backbone=tiny_backbone(0))
    assert [p["frames_computed"] for p in report["passes"]] == [5, 5, 5] and len(seen) == 15
    pass2 = seen[5:10]  # backwards: frames 4, 3, 2, 1, 0
    assert [regions[0][1] for regions, _ in pass2] == [(0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25),
                                                       (1.0, 0.0)]
    assert all(regions[0][0][:, :20].max() == 0 and regions[0][0][:, -20:].min() == 1 for regions, _ in seen)
    source, result = _frames(media_dir / "clip.mkv", tuple(report["size"])), _frames(out)
    assert all(np.abs(s.astype(int) - r.astype(int))[:, :report["size"][0] // 2].max() <= 2
               for s, r in zip(source, result))


def _matte_sequence(folder: Path, widths: list[int], *, first: int = 1) -> str:
    """A matte sequence covering the left ``widths[i]`` columns of frame i."""
    folder.mkdir()
    for i, width in enumerate(widths):
        m = np.zeros((H, W, 3), np.uint8)
        m[:, :width] = 255
        media.write_image(folder / f"m.{first + i:04d}.png", m)
    return str(folder / "m.%04d.png")


def test_a_growing_matte_paints_the_newly_covered_area(media_dir: Path, tmp_path: Path) -> None:
    """The matte covers the left quarter on frames 0-1 and the left half from frame 2: the band it gains is new
    content (not held to the previous result, which was never painted there; started from ``--fill``; in the
    focus), so from frame 2 it is as painted (mean |out - src|) as in a run whose matte was the left half from
    the start. Same budgets for first and warm frames, so only the treatment of the band differs: measured 35.6
    against 37.6 with the default match fill (32.6 against 35.5 with the frame itself as the start; before: 24.8,
    held to the unpainted source)."""
    grow = _matte_sequence(tmp_path / "grow", [W // 4, W // 4, W // 2, W // 2, W // 2])
    half = _matte_sequence(tmp_path / "half", [W // 2] * 5)
    runs = {}
    for name, matte in (("grow", grow), ("half", half)):
        out = tmp_path / f"{name}.mkv"
        report = stylize(_config(media_dir, out, mask=matte, size=48, first=16, it=16))
        w, h = report["size"]
        source = _frames(media_dir / "clip.mkv", (w, h))
        band = slice(w // 4 + 3, w // 2 - 3)  # newly covered from frame 2, away from both edges
        runs[name] = [float(np.abs(r.astype(int) - s.astype(int))[:, band].mean())
                      for s, r in zip(source, _frames(out))]
        runs[name + "_share"] = [f["new_share"] for f in report["per_frame"]]
    assert all(g < 2 for g in runs["grow"][:2]), runs  # outside the matte on frames 0-1: the source
    assert runs["grow_share"][2] > runs["half_share"][2] + 0.15, runs  # the band counts as new content
    for g, r in zip(runs["grow"][2:], runs["half"][2:]):
        assert g > 0.85 * r, runs


def test_pixels_that_change_region_are_new_content(media_dir: Path, tmp_path: Path) -> None:
    """Region styles: a pixel that leaves or enters the matte is not held by the temporal terms (its
    reliability is 0, so it also starts from the frame and counts in the focus); with a composited matte only
    the pixels entering it are (leaving ones are outside the matte, where nothing is held anyway)."""
    from videostyle.video.controls import Controls

    before = np.zeros((8, 8), np.float32)
    before[:, :4] = 1.0
    now = np.zeros((8, 8), np.float32)
    now[:, 2:6] = 1.0  # columns 0-1 leave the matte, 4-5 enter it
    flows = {1: (np.zeros((8, 8, 2), np.float32), np.ones((8, 8), np.float32))}
    base = _config(media_dir, tmp_path / "o.mkv", mask=str(media_dir / "matte"))
    regions = Controls(dataclasses.replace(base, outside_style=str(media_dir / "b.png")), 24)
    held = regions.new_content(flows, now, [before])[1][1]
    assert (held[:, [0, 1, 4, 5]] == 0).all() and (held[:, [2, 3, 6, 7]] == 1).all()
    held = Controls(base, 24).new_content(flows, now, [before])[1][1]
    assert (held[:, [4, 5]] == 0).all() and (held[:, [0, 1, 2, 3, 6, 7]] == 1).all()


def test_a_folder_updated_in_place_is_a_new_input_or_matte(media_dir: Path, tmp_path: Path) -> None:
    """The frame store's settings identify a folder (input or matte) by its member files, not by the folder's
    own time: a member rewritten in place (the folder's time put back) makes it a new job."""
    import os

    matte = tmp_path / "matte"
    matte.mkdir()
    for i in range(5):
        (matte / f"m.{i + 1:04d}.png").write_bytes((media_dir / "matte" / "matte.0001.png").read_bytes())
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, image in enumerate(_frames(media_dir / "clip.mkv")):
        media.write_image(frames / f"f.{i + 1:04d}.png", image)
    config = _config(media_dir, tmp_path / "o.mkv", input=frames, mask=str(matte))
    settings = _run_settings(config)
    for folder, name in ((matte, "m.0003.png"), (frames, "f.0003.png")):
        stat = folder.stat()
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data)  # the same bytes, written again: a newer file
        os.utime(folder / name, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        os.utime(folder, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the folder's own time unchanged
        changed = _run_settings(config)
        assert changed != settings, folder
        settings = changed


def test_a_matte_damaged_during_the_run_says_what_happens_to_the_finished_frames(tmp_path: Path) -> None:
    from videostyle.errors import MatteError
    from videostyle.media.mattes import Mattes

    folder = Path(_matte_sequence(tmp_path / "m", [W // 2] * 3)).parent
    with Mattes(str(folder), size=(W, H)) as mattes:
        mattes.at(0)
        (folder / "m.0002.png").write_bytes(b"garbage")
        with pytest.raises(MatteError, match="m.0002.png: .*finished so far are kept.* only if the matte is unchanged"):
            mattes.at(1)


def test_a_new_feather_reencodes_from_the_frame_store(media_dir: Path, tmp_path: Path) -> None:
    """The guide's way to try another --mask-feather: delete the output, rerun; every frame is resumed."""
    out = tmp_path / "feather.mkv"
    config = _config(media_dir, out, mask=str(media_dir / "matte"), first=3, it=2, size=32)
    first = _frames(out) if stylize(config, backbone=tiny_backbone(0)) else None
    out.unlink()
    report = stylize(dataclasses.replace(config, encode=EncodeConfig(mask_feather=0.0)), backbone=tiny_backbone(0))
    assert report["frames_resumed"] == 5 and report["frames_computed"] == 0
    assert any(not np.array_equal(a, b) for a, b in zip(first, _frames(out)))  # the edge changed


def test_later_passes_do_not_hold_pixels_entering_the_matte_to_their_neighbour(media_dir: Path,
                                                                                tmp_path: Path) -> None:
    """A matte that shrinks from the left half (frames 0-1) to the left quarter: the backward pass 2 visits frame 1
    after frame 2, so the band frame 1 has and frame 2 lacks enters the matte: its temporal mask is 0 there."""
    from videostyle.style import Stylizer

    masks: list[np.ndarray] = []
    run = Stylizer.run

    def spy(self, content, **kw):
        masks.append(kw["temporal"][0][1] if kw.get("temporal") else None)
        return run(self, content, **kw)

    matte = _matte_sequence(tmp_path / "shrink", [W // 2, W // 2, W // 4, W // 4, W // 4])
    config = _config(media_dir, tmp_path / "o.mkv", mask=matte, first=3, it=2, size=48)
    config = dataclasses.replace(config, video=dataclasses.replace(config.video, passes=2, pass_iterations=2))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Stylizer, "run", spy)
        stylize(config, backbone=tiny_backbone(0))
    frame1 = masks[5 + 3]  # pass 2 visits 4, 3, 2, 1, 0
    w = frame1.shape[1]
    assert frame1[:, w // 4 + 2:w // 2 - 2].max() == 0 and frame1[:, 2:w // 4 - 2].mean() > 0.5


def test_plates_take_the_matte_of_their_own_frame_number(media_dir: Path, tmp_path: Path) -> None:
    """Plates 1001-1003 and a matte numbered 1000-1003 whose width tells its number: each written plate is
    stylised over its own matte's width (plate 1002 over matte 1002, not the matte's second member)."""
    (tmp_path / "plates").mkdir()
    for n, image in zip((1001, 1002, 1003), _frames(media_dir / "clip.mkv")):
        media.write_image(tmp_path / "plates" / f"p.{n}.png", image)
    widths = {1000: 8, 1001: 24, 1002: 48, 1003: 72}
    (tmp_path / "m").mkdir()
    for n, width in widths.items():
        m = np.zeros((H, W, 3), np.uint8)
        m[:, :width] = 255
        media.write_image(tmp_path / "m" / f"m.{n}.png", m)
    config = _config(media_dir, tmp_path / "out" / "o.####.png", input=tmp_path / "plates" / "p.####.png",
                     mask=str(tmp_path / "m"), first=3, it=2, size=W, encode=EncodeConfig(mask_feather=0.0))
    config = dataclasses.replace(config, video=dataclasses.replace(config.video, temporal_weight=0.0))  # all cold
    stylize(config, backbone=tiny_backbone(0))
    for n in (1001, 1002, 1003):
        src = media.read_image(tmp_path / "plates" / f"p.{n}.png").astype(int)
        out = media.read_image(tmp_path / "out" / f"o.{n}.png").astype(int)
        changed = np.abs(out - src).max(axis=(0, 2)) > 2
        assert not changed[widths[n]:].any() and changed[:widths[n]].mean() > 0.5, (n, np.nonzero(changed)[0].max())
