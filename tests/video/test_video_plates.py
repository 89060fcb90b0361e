"""VFX plates through the whole job (tiny random backbone): EXR / 16-bit TIFF sequences numbered 1001…, colour,
alpha, frame numbers kept and selected; an unstylised pass returns the plate."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from plate_files import read, srgb_error, to_srgb, write
from videostyle.cli import main
from videostyle.errors import OutputExistsError
from videostyle.config import EncodeConfig, RangeConfig, StylizeConfig, VideoConfig
from videostyle.style.backbones import tiny_backbone
from videostyle.video import stylize

W, H = 64, 48
NUMBERS = (1001, 1002, 1003, 1004)


def _scene(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured scene-linear frame moving 2 px per frame, a light at 3× white, a soft-edged alpha."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    x = xx + 2 * (n - NUMBERS[0])
    rgb = np.stack([0.5 + 0.4 * np.sin(x / 5), 0.5 + 0.4 * np.cos(yy / 4), 0.3 + 0.25 * np.sin((x + yy) / 7)], -1)
    rgb = rgb ** 2.2
    rgb[4:10, 40:52] = 3.0
    alpha = np.clip((xx - 6) / 12, 0, 1) * np.clip((H - 2 - yy) / 6, 0, 1)
    return rgb.astype(np.float32), alpha.astype(np.float32)


@pytest.fixture(scope="module")
def style_png(tmp_path_factory) -> Path:
    yy, xx = np.mgrid[0:48, 0:48]
    style = np.stack([np.sin(xx / 3.0) * 127 + 128, np.cos(yy / 5.0) * 127 + 128, (xx + yy) % 32 * 8], -1)
    path = tmp_path_factory.mktemp("style") / "style.png"
    cv2.imwrite(str(path), cv2.cvtColor(style.astype(np.uint8), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def exr_plates(tmp_path_factory) -> Path:
    """Half-float premultiplied RGBA EXR plates numbered 1001–1004."""
    root = tmp_path_factory.mktemp("exr")
    for n in NUMBERS:
        rgb, alpha = _scene(n)
        write(root / f"plate.{n}.exr", np.concatenate([rgb * alpha[..., None], alpha[..., None]], -1), "half")
    return root


def _job(src: str, out: Path, style: Path, **kw) -> StylizeConfig:
    video = dict(size=W, iterations=0, first_iterations=0, seed=1)
    video.update(kw.pop("video", {}))
    return StylizeConfig(input=src, output=str(out), styles=(str(style),), video=VideoConfig(**video),
                         work_dir=str(out.parent.parent / f"{out.parent.name}.work"), quiet=True, **kw)


def test_unstylised_exr_plates_come_back_under_their_numbers(tmp_path, exr_plates, style_png):
    # 0 iterations everywhere and no temporal term: every frame is its content (with the temporal term, a warm
    # frame at 0 iterations is by design the previous frame warped onto it, not the plate)
    out = tmp_path / "out" / "out.####.exr"
    report = stylize(_job(str(exr_plates / "plate.%04d.exr"), out, style_png, video=dict(temporal_weight=0)),
                     backbone=tiny_backbone(0))
    assert report["frames"] == 4
    for src, res in _same_plates(exr_plates / "plate.{}.exr", out.parent / "out.{}.exr", "half", srgb_error):
        assert res[6, 46, 0] == pytest.approx(src[6, 46, 0], rel=2e-3) and src[6, 46, 0] > 2.5  # highlight kept


def _same_plates(source: Path, result: Path, pixel_type: str, error) -> list[tuple[np.ndarray, np.ndarray]]:
    """Check the result plates (named like ``result`` with each of NUMBERS) against the sources: the same names,
    pixel type and alpha (1e-3), the picture within 1.5/255 by ``error``; returns the (source, result) pairs."""
    assert sorted(os.listdir(result.parent)) == [result.name.format(n) for n in NUMBERS]
    pairs = []
    for n in NUMBERS:
        src, _ = read(Path(str(source).format(n)))
        res, spec = read(Path(str(result).format(n)))
        assert str(spec.format) == pixel_type and spec.nchannels == 4
        assert np.abs(res[..., 3] - src[..., 3]).max() <= 1e-3
        assert error(res, src) <= 1.5, f"frame {n}: {error(res, src):.2f}/255"
        pairs.append((src, res))
    return pairs


def test_stylised_exr_plates_keep_alpha_and_change_colour(tmp_path, exr_plates, style_png):
    out = tmp_path / "out.####.exr"
    config = _job(str(exr_plates / "plate.####.exr"), out, style_png,
                  video=dict(iterations=4, first_iterations=8), range=RangeConfig(frames="1002-1003"))
    stylize(config, backbone=tiny_backbone(0))
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith(".exr")) == ["out.1002.exr", "out.1003.exr"]
    src, _ = read(exr_plates / "plate.1002.exr")
    res, _ = read(tmp_path / "out.1002.exr")
    assert np.abs(res[..., 3] - src[..., 3]).max() <= 1e-3  # alpha passes through stylisation unchanged
    assert np.all(res[..., :3][src[..., 3] == 0] == 0)  # transparent stays transparent (premultiplied)
    opaque = src[..., 3] > 0.99
    change = np.abs(to_srgb(res[..., :3]) - to_srgb(src[..., :3]))[opaque].mean() * 255
    assert change > 3.0  # the colour was stylised


def _tiffs(folder: Path, pixel_type: str, numbers=NUMBERS) -> None:
    """Integer (display sRGB) premultiplied RGBA TIFFs ``t.<n>.tif``."""
    for n in numbers:
        rgb, alpha = _scene(n)
        disp = np.clip(to_srgb(rgb), 0, 1)
        write(folder / f"t.{n}.tif", np.concatenate([disp * alpha[..., None], alpha[..., None]], -1), pixel_type)


def test_16bit_tiff_sequence_round_trip(tmp_path, style_png):
    _tiffs(tmp_path, "uint16")
    out = tmp_path / "o" / "o.%04d.tif"
    stylize(_job(str(tmp_path / "t.%04d.tif"), out, style_png, video=dict(temporal_weight=0)),
            backbone=tiny_backbone(0))
    # integer TIFFs are sRGB already: compared as stored
    _same_plates(tmp_path / "t.{}.tif", out.parent / "o.{}.tif", "uint16",
                 lambda res, src: float(np.abs(res[..., :3] - src[..., :3]).max() * 255))


def test_png_sequence_keeps_numbers(tmp_path, style_png):
    for n in NUMBERS:
        rgb, _ = _scene(n)
        img = (np.clip(to_srgb(rgb), 0, 1) * 255 + 0.5).astype(np.uint8)
        cv2.imwrite(str(tmp_path / f"plate.{n}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    out = tmp_path / "o" / "out.%04d.png"
    stylize(_job(str(tmp_path / "plate.%04d.png"), out, style_png), backbone=tiny_backbone(0))
    assert sorted(os.listdir(out.parent)) == [f"out.{n}.png" for n in NUMBERS]


@pytest.mark.parametrize(("args", "words"), [
    (["--frames", "1004-1001"], "invalid frames '1004-1001'"),
    (["--frames", "2001-2004"], "no frames numbered 2001-2004"),
    (["--input-colorspace", "ACEScgg"], "unknown colour space 'ACEScgg'"),
    (["--output-colorspace", "nope_space"], "unknown colour space 'nope_space'"),
])
def test_bad_plate_options_fail_before_work(tmp_path, exr_plates, style_png, capsys, args, words):
    out = tmp_path / "o.####.exr"
    code = main(["stylize", str(exr_plates / "plate.####.exr"), "--style", str(style_png), "-o", str(out),
                 "--work-dir", str(tmp_path / "work"), "--quiet", *args])
    err = capsys.readouterr().err
    assert code in (1, 2) and words in err and err.count("\n") == 1, err
    assert not (tmp_path / "work").exists() and not list(tmp_path.glob("o.*"))


def test_full_resolution_keeps_the_plate_size_and_its_alpha(tmp_path, exr_plates, style_png):
    out = tmp_path / "full" / "f.####.exr"
    config = _job(str(exr_plates / "plate.####.exr"), out, style_png,
                  video=dict(size=32, temporal_weight=0), range=RangeConfig(frames="1001-1001"),
                  encode=EncodeConfig(full_resolution=True))
    report = stylize(config, backbone=tiny_backbone(0))
    assert report["size"] == [32, 24]  # worked at 32 px …
    src, _ = read(exr_plates / "plate.1001.exr")
    res, spec = read(out.parent / "f.1001.exr")
    assert (spec.width, spec.height) == (W, H)  # … written at the plate's 64×48
    assert np.abs(res[..., 3] - src[..., 3]).max() <= 1e-3  # alpha at full resolution, unchanged
    # the unstylised picture, only softened by the 2× scale (edges of the light and of the matte move most)
    soft = np.abs(to_srgb(res[..., :3]) - to_srgb(src[..., :3])).mean() * 255
    assert soft < 4.0, soft


def test_a_bad_ocio_config_fails_a_plate_job_before_work(tmp_path, exr_plates, style_png, capsys, monkeypatch):
    bad = tmp_path / "bad.ocio"
    bad.write_text("not a config\n")
    monkeypatch.setenv("OCIO", str(bad))
    code = main(["stylize", str(exr_plates / "plate.####.exr"), "--style", str(style_png), "-o",
                 str(tmp_path / "o.####.exr"), "--work-dir", str(tmp_path / "work"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot be used" in err and err.count("\n") == 1, err
    assert not (tmp_path / "work").exists()


def test_an_existing_plate_output_needs_force_and_a_rerender_keeps_the_other_frames(tmp_path, exr_plates, style_png):
    out = tmp_path / "o" / "o.####.exr"
    src = str(exr_plates / "plate.####.exr")
    stylize(_job(src, out, style_png, video=dict(temporal_weight=0)), backbone=tiny_backbone(0))
    with pytest.raises(OutputExistsError):  # o.1001.exr … exist: the pattern's members count, not o.0001.exr
        stylize(_job(src, out, style_png, video=dict(temporal_weight=0)), backbone=tiny_backbone(0))
    kept = {n: (out.parent / f"o.{n}.exr").stat().st_mtime_ns for n in (1001, 1004)}
    stylize(_job(src, out, style_png, video=dict(temporal_weight=0), range=RangeConfig(frames="1002-1003"),
                 force=True), backbone=tiny_backbone(0))
    assert sorted(os.listdir(out.parent)) == [f"o.{n}.exr" for n in NUMBERS]  # 1001 and 1004 left alone
    assert {n: (out.parent / f"o.{n}.exr").stat().st_mtime_ns for n in (1001, 1004)} == kept


# --- PNG alpha (straight, not premultiplied) -----------------------------------------------------------------------
def _rgba_pngs(folder: Path, dtype=np.uint8, numbers=NUMBERS[:3]) -> Path:
    """RGBA PNGs ``p.<n>.png`` (straight alpha: a soft-edged matte over transparent pixels of any colour)."""
    top = np.iinfo(dtype).max
    for n in numbers:
        rgb, alpha = _scene(n)
        pixels = np.concatenate([np.clip(to_srgb(rgb), 0, 1), alpha[..., None]], -1)
        cv2.imwrite(str(folder / f"p.{n}.png"), cv2.cvtColor((pixels * top + 0.5).astype(dtype), cv2.COLOR_RGBA2BGRA))
    return folder / "p.####.png"


def _png(path: Path) -> np.ndarray:
    """RGBA (or RGB) as stored."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA if raw.shape[2] == 4 else cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize(("dtype", "codec"), [(np.uint8, None), (np.uint16, "png16")])
def test_a_png_rgba_sequence_keeps_its_alpha_and_numbers_and_is_stylised(tmp_path, style_png, dtype, codec):
    src = _rgba_pngs(tmp_path, dtype)
    out = tmp_path / "o" / "o.####.png"
    stylize(_job(str(src), out, style_png, video=dict(iterations=4, first_iterations=8),
                 encode=EncodeConfig(codec=codec)), backbone=tiny_backbone(0))
    assert sorted(os.listdir(out.parent)) == [f"o.{n}.png" for n in NUMBERS[:3]]
    for n in NUMBERS[:3]:
        before, after = _png(tmp_path / f"p.{n}.png"), _png(out.parent / f"o.{n}.png")
        assert after.shape == (H, W, 4) and after.dtype == dtype
        assert np.array_equal(after[..., 3], before[..., 3])  # straight alpha, as stored, not premultiplied
        opaque = before[..., 3] == np.iinfo(dtype).max
        change = np.abs(after[..., :3].astype(float) - before[..., :3])[opaque].mean() / np.iinfo(dtype).max * 255
        assert change > 3.0, change  # the colour was stylised


def test_a_single_rgba_png_at_full_resolution_keeps_its_alpha(tmp_path, style_png):
    src = _rgba_pngs(tmp_path, numbers=(1001,))
    out = tmp_path / "o.png"
    report = stylize(_job(str(src).replace("####", "1001"), out, style_png, video=dict(size=32, temporal_weight=0),
                          encode=EncodeConfig(full_resolution=True)), backbone=tiny_backbone(0))
    assert report["size"] == [32, 24]
    before, after = _png(tmp_path / "p.1001.png"), _png(out)
    assert after.shape == (H, W, 4) and np.array_equal(after[..., 3], before[..., 3])  # the source's, full size


def test_a_png_rgba_sequence_to_a_video_drops_the_alpha(tmp_path, style_png):
    out = tmp_path / "o.mp4"
    report = stylize(_job(str(_rgba_pngs(tmp_path)), out, style_png), backbone=tiny_backbone(0))
    assert report["frames"] == 3 and out.stat().st_size > 0


def test_an_8bit_tiff_rgba_sequence_to_png_keeps_its_alpha(tmp_path, style_png):
    _tiffs(tmp_path, "uint8", NUMBERS[:2])
    out = tmp_path / "o" / "o.####.png"
    stylize(_job(str(tmp_path / "t.####.tif"), out, style_png, video=dict(temporal_weight=0)),
            backbone=tiny_backbone(0))
    for n in NUMBERS[:2]:
        src, _ = read(tmp_path / f"t.{n}.tif")
        after = _png(out.parent / f"o.{n}.png")
        assert after.shape == (H, W, 4) and np.array_equal(after[..., 3], np.round(src[..., 3] * 255))


def test_nan_and_infinite_plate_values_are_named_once_and_pass_through(tmp_path, style_png):
    """A bad render: two plates hold NaN (one also an infinite value). The run warns once, naming the first such
    plate and its count, with no numpy warning of its own; the values pass through at their pixels, the rest of the
    picture comes back as it went in (no iterations, no temporal term), exit 0."""
    import subprocess
    import sys

    src = tmp_path / "src"
    src.mkdir()
    bad = np.zeros((H, W), bool)
    for n in NUMBERS:
        rgb, alpha = _scene(n)
        pixels = np.concatenate([rgb * alpha[..., None], alpha[..., None]], -1)
        if n == 1002:
            pixels[20:22, 20:23, 0] = np.nan  # 6 NaN
            pixels[30, 30, 1] = np.inf
        if n == 1003:
            pixels[25, 12, :3] = np.nan
        bad |= ~np.isfinite(pixels).all(-1)
        write(src / f"plate.{n}.exr", pixels, "half")
    out = tmp_path / "out" / "out.####.exr"
    job = Path(__file__).resolve().parents[1] / "video_job.py"
    done = subprocess.run([sys.executable, str(job), str(src / "plate.####.exr"), str(style_png), str(out),
                           str(tmp_path / "work"), "--temporal-weight", "0", "--iterations", "0",
                           "--first-iterations", "0"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"videostyle: warning: {src / 'plate.1002.exr'}: 6 NaN and 1 infinite pixel "
                                        "values, passed through unchanged (the first plate of the input with NaN or "
                                        "infinite values; later ones are not reported)"]
    for n in NUMBERS:
        source, _ = read(src / f"plate.{n}.exr")
        result, _ = read(out.parent / f"out.{n}.exr")
        np.testing.assert_array_equal(np.isnan(result[..., :3]), np.isnan(source[..., :3]))  # NaN stays NaN
        assert np.all(result[..., :3][np.isinf(source[..., :3])] == np.inf)
        assert np.abs(to_srgb(result[~bad, :3]) - to_srgb(source[~bad, :3])).max() * 255 <= 1.5
