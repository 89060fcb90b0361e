"""Path classification shared by the probe, the reader and the writer (no media decoding here)."""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Extensions read and written as still images (lower case, with the dot).
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr", ".dpx")

#: Extensions an image sequence (or a single image) can be written as.
SEQUENCE_EXTS = (".png", ".exr", ".tif", ".tiff", ".dpx")

#: Video output extensions and the codec each one uses by default.
VIDEO_OUTPUTS = {".mp4": "h264", ".mov": "prores", ".mkv": "ffv1"}

#: Which codecs each video container accepts (``codec=`` overrides of the default).
VIDEO_CODECS_BY_EXT = {".mp4": ("h264",), ".mov": ("prores", "h264"), ".mkv": ("ffv1", "h264", "prores")}

#: Codecs accepted for still images and image sequences.
IMAGE_CODECS = ("png", "png16")

_PRINTF = re.compile(r"%0?(\d*)d")
#: a run of hashes right before the extension of an image (``plate.####.exr``, ``shot_####.png``)
_HASHES = re.compile(r"#+(?=\.[A-Za-z0-9]+\Z)")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def hashes_to_printf(path: str) -> str:
    """Nuke/Houdini-style padding in the file name (``plate.####.exr``) as a printf pattern (``plate.%04d.exr``)."""
    directory, base = os.path.split(path)
    match = _HASHES.search(base)
    if "%" in base or match is None or not is_image_path(base):
        return path
    base = base[: match.start()] + f"%0{len(match.group(0))}d" + base[match.end() :]
    return os.path.join(directory, base) if directory else base


def frame_number(path: str | os.PathLike[str]) -> int | None:
    """The frame number of a sequence member: the last group of digits in its file name (``plate.1001.exr``)."""
    match = _LAST_NUMBER.search(Path(path).name)
    return int(match.group(1)) if match else None


def is_pattern(path: str | os.PathLike[str]) -> bool:
    """True for an image sequence pattern: printf-style ``shot/%05d.png`` or hashes ``plate.####.exr``."""
    return _PRINTF.search(os.path.basename(hashes_to_printf(os.fspath(path)))) is not None


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the extension is one of :data:`IMAGE_EXTS`."""
    return Path(path).suffix.lower() in IMAGE_EXTS


def natural_key(name: str) -> list[object]:
    """Sort key that orders ``f2.png`` before ``f10.png``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_directory_images(directory: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``directory`` (hidden files skipped), in natural order."""
    names = [
        entry.name
        for entry in os.scandir(directory)
        if entry.is_file() and not entry.name.startswith(".") and is_image_path(entry.name)
    ]
    return [Path(directory) / name for name in sorted(names, key=natural_key)]


def list_pattern_images(pattern: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(number, path)`` of the files matching a printf pattern, sorted by number.

    ``shot/%05d.png`` matches ``shot/00001.png``; ``%d`` matches any number of digits.
    """
    pattern = hashes_to_printf(os.fspath(pattern))
    directory, base = os.path.split(pattern)
    match = _PRINTF.search(base)
    if match is None:
        raise ValueError(f"not a printf pattern: {pattern}")
    width = match.group(1)
    digits = rf"(\d{{{int(width)}}})" if width else r"(\d+)"
    regex = re.compile(re.escape(base[: match.start()]) + digits + re.escape(base[match.end() :]) + r"\Z")
    found: list[tuple[int, Path]] = []
    scan_dir = directory or "."
    if not os.path.isdir(scan_dir):
        return found
    for entry in os.scandir(scan_dir):
        m = regex.match(entry.name)
        if m and entry.is_file():
            found.append((int(m.group(1)), Path(directory) / entry.name if directory else Path(entry.name)))
    found.sort()
    return found


def format_pattern(pattern: str, number: int) -> str:
    """The file name of frame ``number`` of a printf pattern (only the ``%0Nd`` field is substituted)."""
    directory, base = os.path.split(hashes_to_printf(pattern))
    match = _PRINTF.search(base)
    assert match is not None
    name = base[: match.start()] + (match.group(0) % number) + base[match.end() :]
    return os.path.join(directory, name) if directory else name
