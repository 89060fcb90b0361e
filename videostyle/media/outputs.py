"""Output kinds: what an output path asks for (a video of a codec, an image, an image sequence), the video encoders
and their settings, and the checks that run before any work (:func:`validate_output`, :func:`check_encoder`)."""

from __future__ import annotations

import os
from collections.abc import Collection
from fractions import Fraction
from pathlib import Path

import av
import av.error

from ..config import DEFAULT_CRF, DEFAULT_PRESET
from ..errors import OutputNotWritableError, UnsupportedOutputError
from ._paths import (
    IMAGE_CODECS,
    IMAGE_EXTS,
    SEQUENCE_EXTS,
    VIDEO_CODECS_BY_EXT,
    VIDEO_OUTPUTS,
    is_pattern,
    list_pattern_images,
)
from .plates import is_plate_path

SEQUENCE_PATTERN = "%05d.png"



def sequence_members(pattern: str | os.PathLike[str]) -> list[Path]:
    """The existing files of an image sequence pattern (``dir/%05d.png``, ``plate.####.exr``), in number order."""
    return [path for _number, path in list_pattern_images(pattern)]


def output_kind(path: str | os.PathLike[str], codec: str | None = None) -> tuple[str, str, str]:
    """``(kind, codec, target)`` for an output path; ``kind`` is ``"video"``, ``"image"`` or ``"sequence"``.

    ``target`` is the file path, or the printf pattern for sequences. Raises UnsupportedOutputError.
    """
    spath = os.fspath(path)
    if spath.endswith(("/", os.sep)) or (os.path.isdir(spath) and not is_pattern(spath)):
        spath = os.path.join(spath, SEQUENCE_PATTERN)
    ext = Path(spath).suffix.lower()
    supported = ("supported: .mp4 (H.264), .mov (ProRes), .mkv (FFV1), .png/.jpg/.tif/.exr/.dpx image, "
                 "dir/%05d.png or plate.####.exr sequence")
    if is_plate_path(spath):
        if codec is not None:
            raise UnsupportedOutputError(f"codec {codec} does not apply to {ext} plates (they are written like "
                                         "the source plate, see docs/guide.md, VFX plates)", path=spath)
        return ("sequence" if is_pattern(spath) else "image"), ext.lstrip(".").replace("tiff", "tif"), spath
    if is_pattern(spath):
        if ext not in SEQUENCE_EXTS:
            raise UnsupportedOutputError(f"image sequences are written as PNG, EXR, TIFF or DPX "
                                         f"({' '.join(SEQUENCE_EXTS)}), not {ext or 'no extension'}", path=spath)
        if codec not in (None, *IMAGE_CODECS):
            raise UnsupportedOutputError(f"codec {codec} cannot write an image sequence (use png or png16)", path=spath)
        return "sequence", codec or "png", spath
    if ext in VIDEO_OUTPUTS:
        chosen = codec or VIDEO_OUTPUTS[ext]
        if chosen not in VIDEO_CODECS_BY_EXT[ext]:
            allowed = ", ".join(VIDEO_CODECS_BY_EXT[ext])
            raise UnsupportedOutputError(f"codec {chosen} cannot be written to {ext} (use {allowed})", path=spath)
        return "video", chosen, spath
    if ext in IMAGE_EXTS:
        if codec not in (None, *IMAGE_CODECS):
            raise UnsupportedOutputError(f"codec {codec} cannot write an image", path=spath)
        return "image", codec or "png", spath
    raise UnsupportedOutputError(f"unsupported output extension {ext or '(none)'!r}; {supported}", path=spath)


def video_encoder(codec: str, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET) -> tuple[str, dict[str, str], str]:
    """``(encoder, options, pix_fmt)`` that write the video ``codec`` (h264, prores, ffv1)."""
    if codec == "h264":
        return "libx264", {"crf": str(crf), "preset": preset}, "yuv420p"
    if codec == "prores":
        return "prores_ks", {"profile": "3", "vendor": "apl0"}, "yuv422p10le"
    return "ffv1", {"level": "3", "slicecrc": "1"}, "bgr0"


def check_encoder(codec: str, size: tuple[int, int], *, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET,
                  path: str | os.PathLike[str] | None = None) -> None:
    """Open the encoder of the video ``codec`` at ``size`` = (w, h) with these settings, writing nothing.

    Raises :class:`UnsupportedOutputError` (naming ``path``) when the encoder is missing or refuses the settings,
    so that a bad setting fails before any frame is stylised rather than when the result is encoded.
    """
    encoder, options, pix_fmt = video_encoder(codec, crf, preset)
    try:
        ctx = av.CodecContext.create(encoder, "w")
    except (av.error.FFmpegError, ValueError) as err:
        raise UnsupportedOutputError(f"the {encoder} encoder is not available in this PyAV build ({err})",
                                     path=path) from None
    w, h = size
    ctx.width, ctx.height = w + w % 2, h + h % 2
    ctx.pix_fmt = pix_fmt
    ctx.time_base = Fraction(1, 24)
    ctx.framerate = Fraction(24)
    ctx.options = options
    try:
        ctx.open()
    except av.error.FFmpegError as err:
        settings = " ".join(f"{k}={v}" for k, v in options.items())
        raise UnsupportedOutputError(f"the {encoder} encoder refuses {settings} at {w}x{h} "
                                     f"({getattr(err, 'strerror', None) or type(err).__name__})", path=path) from None


def check_output_dir(directory: Path, shown: str) -> None:
    """Raise OutputNotWritableError unless ``directory`` exists and is writable."""
    if not directory.exists():
        raise OutputNotWritableError(f"output directory {os.fspath(directory)} does not exist", path=shown)
    if not directory.is_dir():
        raise OutputNotWritableError(f"{os.fspath(directory)} is not a directory", path=shown)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputNotWritableError(f"output directory {os.fspath(directory)} is not writable", path=shown)


def validate_output(path: str | os.PathLike[str], codec: str | None = None) -> tuple[str, str, str]:
    """Check an output path before any work: supported kind and a writable destination directory."""
    kind, chosen, target = output_kind(path, codec)
    if kind == "sequence":
        seq_dir = Path(os.path.dirname(target) or ".")
        check_output_dir(seq_dir if seq_dir.exists() else seq_dir.parent, target)
    else:
        check_output_dir(Path(os.path.dirname(os.path.abspath(target))), target)
    return kind, chosen, target


def publish_sequence(tmp: str, target: str, numbers: Collection[int]) -> None:
    """Move the frames written into the folder ``tmp`` into place as the sequence ``target``; frames of an older,
    longer sequence with the same pattern are removed.

    When the frames carry the source's numbers (``numbers``, from ``write(number=...)``), only stale members
    numbered within the written range are removed: a re-render of frames 1050–1060 leaves the rest alone.
    """
    seq_dir = Path(os.path.dirname(target) or ".")
    if not seq_dir.exists():
        os.replace(tmp, seq_dir)
        return
    written = set(os.listdir(tmp))
    for name in sorted(written):
        os.replace(os.path.join(tmp, name), seq_dir / name)
    os.rmdir(tmp)
    lo, hi = (min(numbers), max(numbers)) if numbers else (None, None)
    for number, stale in list_pattern_images(target):
        if stale.name not in written and (lo is None or lo <= number <= hi):
            stale.unlink()
