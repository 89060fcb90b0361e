"""VFX plates: EXR / TIFF / DPX sequences in and out (OpenImageIO), colour (OpenColorIO), alpha, frame numbers.

Plates are generated here with OpenImageIO directly (not with the code under test). The stylised image is
stood in for by the reader's own display image, which is what an unstylised pass (0 iterations) stores; the
engine end to end is in tests/test_video_plates.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from plate_files import read, srgb_error, to_srgb, write
from videostyle.errors import InputError, NoFramesError, UnsupportedOutputError, UsageError
from videostyle.media import colour, open_reader, open_writer, probe

H, W = 24, 32
NUMBERS = (1001, 1002, 1003, 1004)


def _linear_frame(seed: int, *, highlights: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(scene-linear RGB with a few values above 1, alpha with transparent, opaque and soft parts)."""
    rng = np.random.default_rng(seed)
    rgb = (rng.random((H, W, 3)) ** 2.2 * 0.9).astype(np.float32)
    if highlights:
        rgb[2:6, 2:10] = 4.0  # a light source: 4× display white
    alpha = rng.random((H, W)).astype(np.float32)
    alpha[:, :4] = 0.0
    alpha[:, -4:] = 1.0
    return rgb, alpha


def _unstylised_copy(src: str, dst: str, **reader_kw) -> list:
    """What an unstylised run does: read the plate, write its display image back with the source's extras."""
    with open_reader(src, **reader_kw) as reader, open_writer(dst, like=reader) as writer:
        frames = list(reader)
        for f in frames:
            writer.write(f.image, pts_ticks=f.pts_ticks, number=f.number, alpha=f.alpha, residual=f.residual)
    return frames


@pytest.fixture(scope="module")
def exr_plates(tmp_path_factory) -> tuple[Path, dict[int, np.ndarray]]:
    """Half-float premultiplied RGBA EXR plates numbered 1001–1004 (PIZ), scene-linear Rec.709."""
    root = tmp_path_factory.mktemp("plates")
    frames = {}
    for n in NUMBERS:
        rgb, alpha = _linear_frame(n)
        premult = np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1)
        write(root / f"plate.{n}.exr", premult, "half", "piz")
        frames[n] = read(root / f"plate.{n}.exr")[0]  # as stored (half precision)
    return root, frames


# --- OpenColorIO -------------------------------------------------------------------------------------------------
def test_ocio_known_values():
    lin = colour.default_colorspace(True)
    grey = colour.convert(np.full((1, 1, 3), 0.18, np.float32), lin, colour.srgb())
    assert grey[0, 0] == pytest.approx([0.4614] * 3, abs=5e-4)
    half = colour.convert(np.full((1, 1, 3), 0.5, np.float32), colour.srgb(), lin)
    assert half[0, 0] == pytest.approx([0.2140] * 3, abs=5e-4)
    # ACEScg red in linear Rec.709: outside the Rec.709 gamut (a negative green), a known matrix row
    red = colour.convert(np.array([[[1.0, 0.0, 0.0]]], np.float32), colour.resolve("ACEScg"), lin)
    assert red[0, 0] == pytest.approx([1.7051, -0.1302, -0.0240], abs=2e-3)


def test_ocio_names_resolve_and_unknown_names_fail_with_a_suggestion():
    assert colour.resolve("acescg") == "ACEScg"
    assert colour.resolve("lin_rec709") == colour.default_colorspace(True)
    with pytest.raises(UsageError, match=r"unknown colour space 'ACEScgg'.*did you mean"):
        colour.resolve("ACEScgg")


def test_ocio_environment_config_is_honoured(tmp_path, monkeypatch):
    cfg = tmp_path / "tiny.ocio"
    cfg.write_text(
        "ocio_profile_version: 2\nroles:\n  default: raw\n  scene_linear: lin\n"
        "colorspaces:\n"
        "  - !<ColorSpace> {name: raw, isdata: true}\n"
        "  - !<ColorSpace> {name: lin}\n"
        "  - !<ColorSpace>\n    name: srgb_tx\n"
        "    from_scene_reference: !<ExponentWithLinearTransform> {gamma: 2.4, offset: 0.055, "
        "direction: inverse}\n")
    monkeypatch.setenv("OCIO", str(cfg))
    assert colour.config().getColorSpace("lin") is not None
    assert colour.default_colorspace(True) == "lin"  # the config's scene_linear role
    assert colour.srgb() == "srgb_tx"
    out = colour.convert(np.full((1, 1, 3), 0.18, np.float32), "lin", "srgb_tx")
    assert out[0, 0, 0] == pytest.approx(0.4614, abs=5e-4)


# --- EXR in and out ----------------------------------------------------------------------------------------------
def test_exr_sequence_keeps_frame_numbers_alpha_and_picture(tmp_path, exr_plates):
    root, stored = exr_plates
    out_dir = tmp_path / "out"
    frames = _unstylised_copy(str(root / "plate.%04d.exr"), str(out_dir / "out.####.exr"))
    assert [f.number for f in frames] == list(NUMBERS)
    assert sorted(os.listdir(out_dir)) == [f"out.{n}.exr" for n in NUMBERS]
    for n in NUMBERS:
        src = stored[n]
        out, spec = read(out_dir / f"out.{n}.exr")
        assert str(spec.format) == "half" and spec.nchannels == 4 and spec.alpha_channel == 3
        assert spec.get_string_attribute("compression") == "piz"  # kept from the source
        assert np.max(np.abs(out[..., 3] - src[..., 3])) <= 1e-3  # alpha passes through
        assert srgb_error(out, src) <= 1.5, f"frame {n}: {srgb_error(out, src):.2f}/255 in sRGB"
        # the light source (4.0, beyond display white) comes back, not clipped to 1
        lit = (src[2:6, 2:10, 3] > 0.5)
        assert np.allclose(out[2:6, 2:10, 0][lit] / src[2:6, 2:10, 3][lit], 4.0, rtol=2e-3)


def test_reader_unpremultiplies_for_the_network(exr_plates):
    root, stored = exr_plates
    with open_reader(root / "plate.1001.exr") as reader:
        frame = next(reader)
    src = stored[1001]
    alpha = src[..., 3]
    soft = (alpha > 0.2) & (src[..., 0] * 1 < alpha * 0.99)  # unpremultiplied value inside [0, 1)
    expected = to_srgb(src[..., 0][soft] / alpha[soft]) * 255
    assert np.max(np.abs(frame.image[..., 0][soft] - expected)) <= 1.0
    assert frame.alpha is not None and np.array_equal(frame.alpha, alpha)
    assert frame.residual is not None and frame.residual[3, 6, 0] > 0.5  # the highlight is kept aside


def test_frames_selects_by_number_and_probe_reports_numbers(tmp_path, exr_plates):
    root, _ = exr_plates
    info = probe(root / "plate.####.exr")
    assert info.numbers == NUMBERS and info.plate.sample == "half" and info.plate.has_alpha
    assert info.to_dict()["frame_numbers"] == [1001, 1004]
    frames = _unstylised_copy(str(root / "plate.####.exr"), str(tmp_path / "sel" / "sel.%04d.exr"),
                              frames=(1002, 1003))
    assert [f.number for f in frames] == [1002, 1003]
    assert sorted(os.listdir(tmp_path / "sel")) == ["sel.1002.exr", "sel.1003.exr"]
    with pytest.raises(NoFramesError, match=r"no frames numbered 2000-2010 \(the sequence has 1001-1004\)"):
        open_reader(root / "plate.####.exr", frames=(2000, 2010))
    with pytest.raises(UsageError, match="selects frame numbers of an image sequence"):
        open_reader(root / "plate.1001.exr", frames=(1001, 1001))


@pytest.mark.parametrize("pixel_type", ["half", "float"])
@pytest.mark.parametrize("compression", ["none", "rle", "zip", "piz"])
def test_exr_rgb_pixel_types_and_compressions_round_trip(tmp_path, pixel_type, compression):
    rgb, _ = _linear_frame(7)
    write(tmp_path / "in.exr", rgb, pixel_type, compression)
    _unstylised_copy(str(tmp_path / "in.exr"), str(tmp_path / "out.exr"))
    src, _ = read(tmp_path / "in.exr")
    out, spec = read(tmp_path / "out.exr")
    assert str(spec.format) == pixel_type and spec.nchannels == 3
    assert spec.get_string_attribute("compression") == compression
    assert srgb_error(out, src) <= 1.5


def test_acescg_plate_is_recognised_from_its_chromaticities(tmp_path):
    ap1 = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)
    write(tmp_path / "aces.exr", np.full((4, 4, 3), 0.18, np.float32), "half", chromaticities=ap1)
    with open_reader(tmp_path / "aces.exr") as reader:
        assert reader.colour.colorspace == "ACEScg"
        frame = next(reader)
    # ACEScg grey is grey in any RGB space: 0.18 → sRGB 0.4614 (118/255)
    assert np.abs(frame.image.astype(int) - 118).max() <= 1
    # an explicit --input-colorspace wins over the file
    with open_reader(tmp_path / "aces.exr", colorspace="lin_rec709") as reader:
        assert reader.colour.colorspace == colour.default_colorspace(True)


def test_output_colorspace_converts_the_result(tmp_path, exr_plates):
    root, stored = exr_plates
    with open_reader(root / "plate.1004.exr") as reader, \
            open_writer(tmp_path / "cg.exr", like=reader, output_colorspace="ACEScg") as writer:
        f = next(reader)
        writer.write(f.image, number=f.number, alpha=f.alpha, residual=f.residual)
    out, spec = read(tmp_path / "cg.exr")
    back = colour.convert(out[..., :3], "ACEScg", colour.default_colorspace(True))
    src = stored[1004]
    assert srgb_error(back, src) <= 2.0
    assert "ACEScg" in spec.get_string_attribute("oiio:ColorSpace") or \
        spec.get_string_attribute("oiio:ColorSpace") in ("lin_ap1_scene", "lin_ap1")


def test_exr_to_png_is_display_srgb(tmp_path, exr_plates):
    root, stored = exr_plates
    frames = _unstylised_copy(str(root / "plate.####.exr"), str(tmp_path / "png" / "f.%04d.png"))
    assert sorted(os.listdir(tmp_path / "png")) == [f"f.{n}.png" for n in NUMBERS]
    assert frames[0].image.dtype == np.uint8


# --- TIFF and DPX ------------------------------------------------------------------------------------------------
def test_16bit_tiff_rgba_round_trip_keeps_alpha_and_depth(tmp_path):
    for n in NUMBERS:
        rgb, alpha = _linear_frame(n, highlights=False)
        srgb = np.clip(to_srgb(rgb), 0, 1)  # integer TIFFs are display-referred (sRGB)
        write(tmp_path / f"tif.{n}.tif", np.concatenate([srgb * alpha[..., None], alpha[..., None]], -1),
               "uint16")
    _unstylised_copy(str(tmp_path / "tif.####.tif"), str(tmp_path / "out" / "o.####.tif"))
    assert sorted(os.listdir(tmp_path / "out")) == [f"o.{n}.tif" for n in NUMBERS]
    for n in NUMBERS:
        src, _ = read(tmp_path / f"tif.{n}.tif")
        out, spec = read(tmp_path / "out" / f"o.{n}.tif")
        assert str(spec.format) == "uint16" and spec.nchannels == 4
        assert np.abs(out[..., 3] - src[..., 3]).max() <= 1e-3
        assert np.abs(out[..., :3] - src[..., :3]).max() * 255 <= 1.5


def test_dpx_10bit_round_trip(tmp_path):
    rgb, _ = _linear_frame(3, highlights=False)
    srgb = np.clip(to_srgb(rgb), 0, 1).astype(np.float32)
    write(tmp_path / "d.1001.dpx", srgb, "uint16", **{"oiio:BitsPerSample": 10})
    _unstylised_copy(str(tmp_path / "d.####.dpx"), str(tmp_path / "o.####.dpx"))
    out, spec = read(tmp_path / "o.1001.dpx")
    assert spec.get_int_attribute("oiio:BitsPerSample") == 10
    assert np.abs(out - read(tmp_path / "d.1001.dpx")[0]).max() * 255 <= 1.5


# --- bad input ---------------------------------------------------------------------------------------------------
def test_damaged_exr_is_a_one_line_input_error(tmp_path):
    bad = tmp_path / "bad.1001.exr"
    bad.write_bytes(b"not an exr at all" * 8)
    with pytest.raises(InputError, match="not a readable image") as err:
        probe(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


def test_plate_outputs_take_no_codec(tmp_path):
    with pytest.raises(UnsupportedOutputError, match="does not apply to .exr plates"):
        open_writer(tmp_path / "x.####.exr", size=(8, 8), codec="png16")


def test_channels_are_picked_by_name(tmp_path):
    """An EXR with a depth channel besides RGB: Z is neither colour nor alpha; a luminance (Y) plate is grey."""
    rgbz = np.zeros((4, 4, 4), np.float32)
    rgbz[..., 0], rgbz[..., 1], rgbz[..., 2], rgbz[..., 3] = 0.18, 0.5, 1.0, 7.0
    write(tmp_path / "z.exr", rgbz, "half", channels=("R", "G", "B", "Z"))
    assert not probe(tmp_path / "z.exr").plate.has_alpha
    with open_reader(tmp_path / "z.exr") as reader:
        frame = next(reader)
    assert frame.alpha is None
    assert frame.image[0, 0].tolist() == pytest.approx([118, 188, 255], abs=1)  # sRGB of 0.18, 0.5, 1.0
    ya = np.stack([np.full((4, 4), 0.09, np.float32), np.full((4, 4), 0.5, np.float32)], -1)  # Y 0.18, premult
    write(tmp_path / "y.exr", ya, "half", channels=("Y", "A"))
    with open_reader(tmp_path / "y.exr") as reader:
        frame = next(reader)
    assert frame.image[0, 0].tolist() == [118, 118, 118] and frame.alpha is not None


def test_a_bad_ocio_config_is_a_one_line_usage_error(tmp_path, monkeypatch):
    bad = tmp_path / "bad.ocio"
    bad.write_text("this is not an OCIO config\n")
    monkeypatch.setenv("OCIO", str(bad))
    with pytest.raises(UsageError, match="OpenColorIO config .*bad.ocio.* cannot be used") as err:
        colour.srgb()
    assert "\n" not in str(err.value)


def test_a_data_window_is_placed_in_the_display_window(tmp_path):
    """A CG render's bounding box (EXR data window inside the display window) and overscan (outside it)."""
    import OpenImageIO as oiio

    def render(path: Path, x: int, y: int, w: int, h: int) -> None:
        spec = oiio.ImageSpec(w, h, 4, "half")
        spec.x, spec.y, spec.full_x, spec.full_y, spec.full_width, spec.full_height = x, y, 0, 0, 8, 6
        spec.channelnames, spec.alpha_channel = ("R", "G", "B", "A"), 3
        out = oiio.ImageOutput.create(str(path))
        assert out.open(str(path), spec) and out.write_image(np.ones((h, w, 4), np.float32))
        out.close()

    render(tmp_path / "bbox.1001.exr", 2, 1, 4, 3)
    render(tmp_path / "bbox.1002.exr", -2, -1, 12, 8)  # overscan: 2 px beyond every edge
    assert (probe(tmp_path / "bbox.####.exr").video.width, probe(tmp_path / "bbox.####.exr").video.height) == (8, 6)
    with open_reader(tmp_path / "bbox.####.exr") as reader:
        inside, overscan = list(reader)
    expected = np.zeros((6, 8), np.float32)
    expected[1:4, 2:6] = 1.0
    assert np.array_equal(inside.alpha, expected)
    assert np.array_equal(overscan.alpha, np.ones((6, 8), np.float32))


def test_out_of_gamut_colours_survive_the_round_trip(tmp_path):
    """ACEScg primaries lie outside sRGB (negative components): kept in the residual, not clipped away."""
    ap1 = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)
    plate = np.zeros((4, 6, 3), np.float32)
    plate[:, :2] = (1.0, 0.0, 0.0)
    plate[:, 2:4] = (0.0, 0.8, 0.0)
    plate[:, 4:] = (0.05, 0.05, 0.9)
    write(tmp_path / "cg.exr", plate, "float", chromaticities=ap1)
    frames = _unstylised_copy(str(tmp_path / "cg.exr"), str(tmp_path / "out.exr"))
    assert frames[0].residual is not None and frames[0].residual.min() < -0.05  # negative in sRGB
    out, _ = read(tmp_path / "out.exr")
    assert np.abs(out - plate).max() < 0.01  # back in ACEScg, the same colours


def test_hash_padding_is_a_pattern_only_right_before_an_image_extension():
    from videostyle.media import output_kind

    assert output_kind("shots/plate.####.exr")[0] == "sequence"
    assert output_kind("shots/take_##.png")[0] == "sequence"
    assert output_kind("clips/take#1.mp4")[0] == "video"  # a '#' in a video's name is just a character
    assert output_kind("stills/#1.png")[0] == "image"


def test_exr_outputs_name_their_primaries_in_chromaticities(tmp_path, exr_plates):
    root, _ = exr_plates
    with open_reader(root / "plate.1001.exr") as reader, \
            open_writer(tmp_path / "cg.exr", like=reader, output_colorspace="ACEScg") as writer:
        f = next(reader)
        writer.write(f.image, alpha=f.alpha, residual=f.residual)
    _, spec = read(tmp_path / "cg.exr")
    assert tuple(spec.getattribute("chromaticities")) == pytest.approx(
        (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767), abs=1e-5)
    with open_reader(tmp_path / "cg.exr") as reader:  # and it reads back as ACEScg
        assert reader.colour.colorspace == "ACEScg"


# --- PNG alpha -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_alpha_is_read_straight_and_written_back_to_png_exr_but_not_jpeg(tmp_path, dtype):
    top = np.iinfo(dtype).max
    rgba = (np.random.default_rng(7).random((H, W, 4)) * top).astype(dtype)  # any colour, even where alpha is 0
    rgba[:, :4, 3] = 0
    rgba[:, -4:, 3] = top
    for n in NUMBERS[:2]:
        assert cv2.imwrite(str(tmp_path / f"p.{n}.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    src = str(tmp_path / "p.####.png")
    info = probe(src)
    assert info.has_alpha and info.video.pix_fmt == ("rgba" if dtype == np.uint8 else "rgba64")
    frames = _unstylised_copy(src, str(tmp_path / "png" / "o.####.png"))
    assert np.allclose(frames[0].alpha * top, rgba[..., 3], atol=1e-2)
    eight = rgba if dtype == np.uint8 else ((rgba.astype(np.uint32) + 128) // 257).astype(np.uint8)
    assert np.array_equal(frames[0].image, eight[..., :3])  # straight: the colour as stored, not divided by alpha
    out = cv2.imread(str(tmp_path / "png" / "o.1001.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (H, W, 4) and out.dtype == np.uint8  # a PNG output is 8-bit unless png16
    assert np.array_equal(out[..., 3], rgba[..., 3] if dtype == np.uint8 else (rgba[..., 3] / 257 + 0.5).astype(int))
    _unstylised_copy(src, str(tmp_path / "exr" / "o.####.exr"))
    exr, spec = read(tmp_path / "exr" / "o.1001.exr")
    assert spec.nchannels == 4 and np.abs(exr[..., 3] - rgba[..., 3] / top).max() <= 1e-3
    assert np.all(exr[..., :3][rgba[..., 3] == 0] == 0)  # an EXR is premultiplied
    _unstylised_copy(src.replace("####", "1001"), str(tmp_path / "o.jpg"))
    assert cv2.imread(str(tmp_path / "o.jpg"), cv2.IMREAD_UNCHANGED).shape == (H, W, 3)  # JPEG: alpha dropped


def test_bad_values_are_counted_per_kind():
    from videostyle.media.plates import BadValues, bad_values

    pixels = np.ones((4, 5, 4), np.float32)
    pixels[0, :3, 0] = np.nan
    pixels[1, 0, 1] = -np.inf
    pixels[2, :2, 2] = -0.25  # out of gamut in a scene-linear plate: legitimate, counted apart
    counts = bad_values(pixels)
    assert counts == BadValues(nan=3, infinite=1, negative=2) and counts.broken == 4
    assert counts.describe() == "3 NaN, 1 infinite and 2 negative pixel values"
    assert bad_values(np.abs(pixels[2:])).broken == 0
