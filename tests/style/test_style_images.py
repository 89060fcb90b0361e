"""Style image loading: odd formats are converted, unusable files give specific one-line errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from videostyle.errors import (
    EmptyInputError,
    InputIsDirectoryError,
    InputNotFoundError,
    TruncatedMediaError,
    UnreadableMediaError,
)
from videostyle.style import load_style_image
from videostyle.style.images import MAX_STYLE_SIDE


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.chelsea()[:200, :300]  # RGB uint8


def _check(img: np.ndarray) -> None:
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_rgb_roundtrip(tmp_path, photo) -> None:
    Image.fromarray(photo).save(tmp_path / "s.png")
    img = load_style_image(tmp_path / "s.png")
    _check(img)
    assert np.array_equal(img, photo)


def test_grayscale_becomes_rgb(tmp_path, photo) -> None:
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    Image.fromarray(gray).save(tmp_path / "g.png")
    img = load_style_image(tmp_path / "g.png")
    _check(img)
    assert np.array_equal(img[..., 0], gray) and np.array_equal(img[..., 2], gray)


def test_rgba_is_composited_on_white(tmp_path, photo) -> None:
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:50, :, 3] = 0  # fully transparent band
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = load_style_image(tmp_path / "a.png")
    _check(img)
    assert (img[:50] == 255).all() and np.array_equal(img[60:], photo[60:])


def test_16bit_grayscale_and_rgb_are_scaled_not_clipped(tmp_path, photo) -> None:
    ramp = (np.linspace(0, 65535, 256)[None, :].repeat(32, 0)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), ramp)
    img = load_style_image(tmp_path / "g16.png")
    _check(img)
    assert img[0, 0, 0] == 0 and img[0, -1, 0] == 255 and abs(int(img[0, 128, 0]) - 128) <= 2
    rgb16 = photo.astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "c16.png"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    img = load_style_image(tmp_path / "c16.png")
    _check(img)
    assert np.abs(img.astype(int) - photo.astype(int)).max() <= 1  # colours and channel order kept


def test_palette_and_cmyk(tmp_path, photo) -> None:
    Image.fromarray(photo).convert("P").save(tmp_path / "p.png")
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "c.jpg")
    for name in ("p.png", "c.jpg"):
        img = load_style_image(tmp_path / name)
        _check(img)
        assert np.abs(img.astype(int) - photo.astype(int)).mean() < 20


def test_huge_image_is_downscaled(tmp_path) -> None:
    big = np.zeros((3000, 6000, 3), np.uint8)
    big[:, :3000] = (200, 30, 30)
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=80)
    img = load_style_image(tmp_path / "big.jpg")
    _check(img)
    assert max(img.shape[:2]) == MAX_STYLE_SIDE and img.shape[1] == 2 * img.shape[0]
    assert img[10, 10, 0] > 150 and img[10, -10, 0] < 50  # left stays red, right black: not flipped or cropped


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda p: None, InputNotFoundError),
        (lambda p: p.mkdir(), InputIsDirectoryError),
        (lambda p: p.write_bytes(b""), EmptyInputError),
        (lambda p: p.write_bytes(b"this is not an image at all" * 10), UnreadableMediaError),
    ],
)
def test_unusable_files_raise_specific_errors(tmp_path, make, error) -> None:
    path = tmp_path / "style.png"
    make(path)
    with pytest.raises(error) as err:
        load_style_image(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_truncated_png_is_reported(tmp_path, photo) -> None:
    Image.fromarray(photo).save(tmp_path / "t.png")
    blob = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(TruncatedMediaError, match="t.png"):
        load_style_image(tmp_path / "t.png")
