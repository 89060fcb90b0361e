"""Truncation visible in a container's structure, found without decoding (ISO-BMFF boxes, Matroska segment size).

FFmpeg reports a cut-short file as a generic read error, or not at all until the frames run out; these checks name
what is missing (``the 'moov' index box is missing``) so that :func:`videostyle.media.probe.media_error` can say
"truncated" instead of "unreadable".
"""

from __future__ import annotations

import struct
from pathlib import Path


def _mp4_damage(path: Path) -> str | None:
    """For ISO-BMFF files (mp4/mov/m4a): a description of truncation found in the top-level boxes, else None."""
    size = path.stat().st_size
    pos, boxes = 0, []
    with open(path, "rb") as fh:
        while pos + 8 <= size:
            fh.seek(pos)
            header = fh.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) >= 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - pos
            if box_size < 8:
                return None
            boxes.append(kind)
            if pos + box_size > size:
                what = kind.decode("latin-1", "replace")
                return f"file is truncated: the '{what}' box needs {pos + box_size} bytes but the file has {size}"
            pos += box_size
    if boxes and boxes[0] == b"ftyp" and b"moov" not in boxes:
        return "file is truncated or incomplete: the 'moov' index box is missing"
    return None


_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MKV_SEGMENT = 0x18538067


def _ebml_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int, bool] | None:
    """(value, length, all_ones) of the EBML variable-length integer at ``pos``; None when malformed."""
    if pos >= len(data) or data[pos] == 0:
        return None
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for b in data[pos + 1 : pos + length]:
        value = (value << 8) | b
    all_ones = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, all_ones


def _mkv_damage(path: Path) -> str | None:
    """For Matroska/WebM: a description of truncation (the Segment is longer than the file), else None.

    Only a Segment of known size can be checked (live-streamed files declare an unknown size).
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head.startswith(_EBML_MAGIC):
        return None
    pos = 4
    header = _ebml_vint(head, pos, keep_marker=False)
    if header is None:
        return None
    pos += header[1] + header[0]  # skip the EBML header element
    seg_id = _ebml_vint(head, pos, keep_marker=True)
    if seg_id is None or seg_id[0] != _MKV_SEGMENT:
        return None
    pos += seg_id[1]
    seg_size = _ebml_vint(head, pos, keep_marker=False)
    if seg_size is None or seg_size[2]:
        return None
    needed = pos + seg_size[1] + seg_size[0]
    if needed > size:
        return f"file is truncated: the Matroska segment needs {needed} bytes but the file has {size}"
    return None


def container_damage(path: Path) -> str | None:
    """Truncation visible in the container structure (ISO-BMFF boxes, Matroska segment size), else None."""
    try:
        if _looks_like_bmff(path):
            return _mp4_damage(path)
        return _mkv_damage(path)
    except (OSError, struct.error):
        return None


def _looks_like_bmff(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
