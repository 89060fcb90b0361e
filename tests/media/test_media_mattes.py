"""Mattes (``--mask``): reading them aligned with the input, their pre-flight, feathering and the composite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import synthetic
from videostyle.errors import MatteError
from videostyle.media import probe, write_image
from videostyle.media.mattes import Mattes, check_matte, composite, feather


def _half_matte(w: int = 96, h: int = 64, value: int = 255) -> np.ndarray:
    m = np.zeros((h, w, 3), np.uint8)
    m[:, w // 2:] = value
    return m


def _sequence(folder: Path, frames: int, first: int = 1, **kw) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        write_image(folder / f"matte.{first + i:04d}.png", _half_matte(**kw))
    return str(folder / "matte.%04d.png")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scene = synthetic.moving_scene(frames=4, size=(96, 64))
    return synthetic.write_clip(tmp_path_factory.mktemp("clip") / "clip.mkv", scene.frames, fps=24, audio=False,
                                codec="ffv1")


def test_a_sequence_matte_is_read_as_its_first_channel_at_the_working_size(tmp_path: Path) -> None:
    pattern = _sequence(tmp_path / "m", 3)
    with Mattes(pattern, size=(48, 32)) as mattes:
        for i in range(3):
            m = mattes.at(i)
            assert m.shape == (32, 48) and m.dtype == np.float32
            assert m[:, :23].max() == 0.0 and m[:, 25:].min() == 1.0
        with pytest.raises(MatteError, match="the matte has no member for input frame 3"):
            mattes.at(3)


def test_a_video_matte_and_a_still_matte(tmp_path: Path) -> None:
    video = synthetic.write_clip(tmp_path / "matte.mkv", [_half_matte()] * 3, fps=24, audio=False, codec="ffv1")
    with Mattes(str(video), size=(96, 64), max_frames=2) as mattes:
        assert mattes.at(1)[:, 60:].min() > 0.99 and mattes.at(1)[:, :40].max() < 0.01
    still = tmp_path / "still.png"
    write_image(still, _half_matte(value=128))
    with Mattes(str(still), size=(96, 64), frames=(1001, 1003)) as mattes:  # one matte for every frame
        assert np.allclose(mattes.at(0)[:, 60:], 128 / 255) and mattes.at(7) is mattes.at(0)


def test_an_exr_matte_is_data_not_a_picture(tmp_path: Path) -> None:
    """A float matte is used as stored: 0.25 stays 0.25 (no scene-linear to sRGB conversion)."""
    from plate_files import write

    folder = tmp_path / "exr"
    folder.mkdir()
    for n in (1001, 1002):
        write(folder / f"matte.{n}.exr", np.full((16, 24, 1), 0.25, np.float32), "half", channels=("Y",))
    with Mattes(str(folder / "matte.####.exr"), size=(24, 16), frames=(1001, 1002)) as mattes:
        assert np.allclose(mattes.at(1), 0.25, atol=1e-3)


def test_the_preflight_refuses_a_missing_unreadable_or_misaligned_matte(clip: Path, tmp_path: Path) -> None:
    info = probe(clip)
    with pytest.raises(MatteError, match=r"^--mask .*nope\.%04d\.png: no image files match"):
        check_matte(str(tmp_path / "nope.%04d.png"), info)
    with pytest.raises(MatteError, match="3 matte frames, but the input.s selection needs frame index 3"):
        check_matte(_sequence(tmp_path / "short", 3), info)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(MatteError, match="bad.png: not a readable image"):
        check_matte(str(bad), info)
    assert check_matte(_sequence(tmp_path / "ok", 4), info).kind == "sequence"
    assert check_matte(_sequence(tmp_path / "proxy", 4, w=48, h=32), info).kind == "sequence"  # half resolution
    with pytest.raises(MatteError, match="the matte is 64x64 and the input 96x64; a matte must have the input's"):
        check_matte(_sequence(tmp_path / "square", 4, w=64, h=64), info)
    assert check_matte(_sequence(tmp_path / "short2", 3), info, max_frames=3).kind == "sequence"
    # trimmed by time: counted by decoding both (frames at 0, 1/24 s)
    video = synthetic.write_clip(tmp_path / "m.mkv", [_half_matte()] * 4, fps=24, audio=False, codec="ffv1")
    check_matte(str(video), info, start=0.0, duration=0.08)


def test_plate_numbers_select_the_mattes_numbered_like_the_plates(tmp_path: Path) -> None:
    plates = _sequence(tmp_path / "plates", 6, first=1001)
    info = probe(plates)
    check_matte(_sequence(tmp_path / "m", 6, first=1001), info, frames=(1002, 1004))
    with pytest.raises(MatteError, match=r"the matte has no frame 1002 .*the matte has 1-6\)"):
        check_matte(_sequence(tmp_path / "m1", 6, first=1), info, frames=(1002, 1004))
    video = synthetic.write_clip(tmp_path / "m.mkv", [_half_matte()] * 6, fps=24, audio=False, codec="ffv1")
    with pytest.raises(MatteError, match="numbered like the plates"):
        check_matte(str(video), info, frames=(1002, 1004))


def test_feather_is_a_ramp_inside_the_matte_and_zero_outside() -> None:
    m = np.zeros((8, 20), np.float32)
    m[:, 10:] = 1.0
    a = feather(m, 4.0)
    assert (a[:, :10] == 0).all() and (a[:, 14:] == 1).all()
    assert np.all(np.diff(a[4, 9:14]) > 0)  # rises across the edge, inside it
    np.testing.assert_array_equal(feather(m, 0.0), m)
    soft = np.full((8, 20), 0.5, np.float32)
    np.testing.assert_array_equal(feather(soft, 4.0), soft)  # a matte without a zero has no edge to feather


def test_composite_keeps_the_source_where_alpha_is_zero() -> None:
    src = np.full((4, 4, 3), 10, np.uint8)
    sty = np.full((4, 4, 3), 250, np.uint8)
    alpha = np.array([[0, 0.5, 1, 1]] * 4, np.float32)
    out = composite(sty, src, alpha)
    assert (out[:, 0] == 10).all() and (out[:, 1] == 130).all() and (out[:, 2:] == 250).all()


def test_numbered_mattes_pair_with_numbered_plates_by_frame_number(tmp_path: Path) -> None:
    """Plates 1001-1006 with a matte numbered 1003-1008: plate 1003 takes matte 1003 (not the matte's first member),
    with or without --frames; a plate number the matte lacks is refused in the pre-flight."""
    plates = _sequence(tmp_path / "plates", 6, first=1001)
    folder = tmp_path / "m"
    folder.mkdir()
    for n in range(1003, 1009):
        write_image(folder / f"matte.{n}.png", _half_matte(value=n - 1000))  # each member tells its number
    info = probe(plates)
    with Mattes(str(folder), size=(96, 64), input_info=info) as mattes:
        assert mattes.mode == "number"
        assert round(float(mattes.at(0, number=1004, pts=0.0).max()) * 255) == 4
    check_matte(str(folder), info, frames=(1003, 1006))
    with pytest.raises(MatteError, match=r"the matte has no frame 1001 .*the matte has 1003-1008"):
        check_matte(str(folder), info)  # the whole plate range: 1001 and 1002 have no matte
    with pytest.raises(MatteError, match="the matte has no frame 1002"):
        check_matte(str(folder), info, frames=(1002, 1004))


def test_a_matte_sequence_pairs_with_a_video_by_frame_index(tmp_path: Path) -> None:
    """Matte member k is the video's frame k (counted from 0 in the whole video): with --start the kept frames
    take the members at their own index, found with the input's frame rate (30 fps here, not 24)."""
    clip = synthetic.write_clip(tmp_path / "clip.mkv", [_half_matte()] * 6, fps=30, audio=False, codec="ffv1")
    folder = tmp_path / "m"
    folder.mkdir()
    for k in range(6):
        write_image(folder / f"m.{k:04d}.png", _half_matte(value=10 + k))
    info = probe(clip)
    check_matte(str(folder), info, start=2 / 30)
    with Mattes(str(folder), size=(96, 64), start=2 / 30, input_info=info) as mattes:
        assert mattes.mode == "position"
        assert round(float(mattes.at(0, pts=2 / 30).max()) * 255) == 12  # the first kept frame is frame 2
    (folder / "m.0003.png").unlink()
    with pytest.raises(MatteError, match=r"numbering has a gap \(4 after 2\)"):
        check_matte(str(folder), info)


def test_the_preflight_reads_every_matte_header_and_refuses_an_empty_matte(clip: Path, tmp_path: Path) -> None:
    info = probe(clip)
    pattern = _sequence(tmp_path / "damaged", 4)
    (tmp_path / "damaged" / "matte.0003.png").write_bytes(b"\x89PNG garbage")  # a member in the middle
    with pytest.raises(MatteError, match=r"matte\.0003\.png: not a readable image"):
        check_matte(pattern, info)
    pattern = _sequence(tmp_path / "sizes", 4)
    write_image(tmp_path / "sizes" / "matte.0004.png", _half_matte(48, 32))
    with pytest.raises(MatteError, match="matte.0004.png is 48x32 but matte.0001.png is 96x64; every matte frame"):
        check_matte(pattern, info)
    with pytest.raises(MatteError, match=r"the matte is empty \(0 everywhere"):
        check_matte(_sequence(tmp_path / "black", 4, value=0), info)
    still = tmp_path / "black.png"
    write_image(still, _half_matte(value=0))
    with pytest.raises(MatteError, match=r"the matte is empty"):
        check_matte(str(still), info)
    video = synthetic.write_clip(tmp_path / "black.mkv", [_half_matte(value=0)] * 4, fps=24, audio=False,
                                 codec="ffv1")
    with pytest.raises(MatteError, match=r"the matte is empty"):
        check_matte(str(video), info)
    one = _sequence(tmp_path / "one", 4, value=0)  # 0 on every frame but one in the middle: not empty
    write_image(tmp_path / "one" / "matte.0002.png", _half_matte())
    check_matte(one, info)


def test_a_matte_with_an_alpha_channel_is_read_from_its_alpha(tmp_path: Path) -> None:
    """An RGBA matte (RGB white everywhere, the shape in alpha) is its alpha; an RGB one its first channel."""
    import cv2

    rgba = np.full((64, 96, 4), 255, np.uint8)
    rgba[:, :48, 3] = 0
    assert cv2.imwrite(str(tmp_path / "rgba.png"), rgba)  # BGRA, as OpenCV writes it
    with Mattes(str(tmp_path / "rgba.png"), size=(96, 64)) as mattes:
        m = mattes.at(0)
        assert m[:, :47].max() == 0.0 and m[:, 49:].min() == 1.0
