"""Hostile and awkward inputs of the reliability suite: the media they need and the command of each case.

Shared by tests/test_reliability.py (which asserts the contract) and tests/reliability_table.py (which runs the
same commands and prints the table of docs/reliability.md). Media are generated here with PyAV/OpenCV (see
:mod:`synthetic.media`); nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from media_fixtures import write_audio_only, write_zero_frame_video
from plate_files import write as write_plate
import synthetic

#: fast job settings: tiny sizes and budgets (the tiny random backbone is injected by the callers)
FAST = ["--size", "32", "--iterations", "2", "--first-iterations", "2", "--quiet"]
FRAMES = 6


def _encode(path: Path, frames: list[np.ndarray], codec: str, pix_fmt: str) -> Path:
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = pix_fmt
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims ``width``×``height`` (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _absurd_mkv(folder: Path) -> Path:
    """An FFV1 Matroska file whose header claims 16000×16000 pixels (the coded frames are 320×256)."""
    scene = synthetic.moving_scene(frames=3, size=(320, 256), occluder=False)
    base = synthetic.write_clip(folder / "big.mkv", scene.frames, fps=24, audio=False)
    data = bytearray(base.read_bytes())
    for element, old in ((0xB0, 320), (0xBA, 256)):  # PixelWidth, PixelHeight with 2-byte payloads
        at = data.find(bytes([element, 0x82]) + old.to_bytes(2, "big"))
        assert at >= 0, "Matroska pixel size element not found"
        data[at + 2 : at + 4] = (16000).to_bytes(2, "big")
    path = folder / "absurd_header.mkv"
    path.write_bytes(bytes(data))
    base.unlink()
    return path


def build_media(folder: Path) -> Path:
    """Write every input of the suite into ``folder`` and return it."""
    scene = synthetic.moving_scene(frames=FRAMES, size=(64, 48))
    clip = synthetic.write_clip(folder / "clip.mp4", scene.frames, fps=24)
    mkv = synthetic.write_clip(folder / "clip.mkv", scene.frames, fps=24)
    style = synthetic.brush_painting((64, 64))
    cv2.imwrite(str(folder / "style.png"), cv2.cvtColor(style, cv2.COLOR_RGB2BGR))
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "garbage.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    data = clip.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    data = mkv.read_bytes()
    (folder / "truncated.mkv").write_bytes(data[: len(data) * 2 // 3])
    write_audio_only(folder / "audio_only.m4a")
    write_zero_frame_video(folder / "zero_frames.mkv")
    _absurd_mkv(folder)
    (folder / "absurd_header.png").write_bytes(_png_claiming(60000, 60000))
    frames = list(scene.frames)
    for name, broken in (("sequence", None), ("sequence_broken", 3)):
        (folder / name).mkdir()
        for i, image in enumerate(frames, start=1):
            cv2.imwrite(str(folder / name / f"{i:05d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if broken:
            (folder / name / f"{broken:05d}.png").write_bytes(b"not a PNG")
    for name, broken in (("plates", None), ("plates_broken", 1003)):  # half-float RGBA EXR, numbered from 1001
        (folder / name).mkdir()
        for number, image in enumerate(frames, start=1001):
            rgba = np.dstack([(image / 255.0) ** 2.2, np.ones(image.shape[:2])])
            write_plate(folder / name / f"plate.{number}.exr", rgba, "half", "zip")
        if broken:
            (folder / name / f"plate.{broken}.exr").write_bytes(b"not an EXR plate" * 16)
    synthetic.write_clip(folder / "short.mp4", scene.frames[:3], fps=24)
    _encode(folder / "ten_bit.mp4", frames, "libx264", "yuv420p10le")
    _encode(folder / "yuv444.mp4", frames, "libx264", "yuv444p")
    _encode(folder / "one_pixel.mkv", [f[:1, :1].copy() for f in frames], "ffv1", "yuv444p")
    _encode(folder / "odd_size.mkv", [np.ascontiguousarray(f[:47, :63]) for f in frames], "ffv1", "yuv420p")
    cv2.imwrite(str(folder / "style_gray.png"), cv2.cvtColor(style, cv2.COLOR_RGB2GRAY))
    bgra = np.dstack([cv2.cvtColor(style, cv2.COLOR_RGB2BGR), np.full(style.shape[:2], 128, np.uint8)])
    cv2.imwrite(str(folder / "style_rgba.png"), bgra)
    cv2.imwrite(str(folder / "style_16bit.png"), cv2.cvtColor(style, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    huge = cv2.resize(cv2.cvtColor(style, cv2.COLOR_RGB2BGR), (6000, 4000), interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(str(folder / "style_huge.jpg"), huge, [cv2.IMWRITE_JPEG_QUALITY, 80])
    (folder / "manifest_errors.toml").write_text(
        '[defaults]\nstyle = "style.png"\nsize = 32\n\n'
        '[[job]]\ninput = "clip.mp4"\noutput = "a.mkv"\niteratoins = 3\n\n'
        '[[job]]\ninput = "clip.mp4"\noutput = "b.mkv"\nsize = "big"\n')
    (folder / "manifest_missing_input.toml").write_text(
        '[defaults]\nstyle = "style.png"\nsize = 32\n\n'
        '[[job]]\ninput = "clip.mp4"\noutput = "a.mkv"\n\n'
        '[[job]]\ninput = "nowhere.mp4"\noutput = "b.mkv"\n')
    (folder / "manifest_syntax.toml").write_text('[[job]\ninput = "clip.mp4"\n')
    return folder


def temporaries(folder: Path) -> list[str]:
    """Temporary outputs left in ``folder`` (hidden ``.name.tmp-*`` files or directories, any depth but work dirs)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.endswith(".videostyle-work")]
        found += [os.path.join(root, n) for n in files + dirs if re.match(r"\..*\.tmp", n)]
    return sorted(found)


Argv = Callable[[Path, Path], tuple[list[str], list[str]]]


@dataclass(frozen=True)
class Case:
    """One command: ``argv(src, tmp) -> (arguments, outputs that must stay absent or untouched)``."""

    id: str
    area: str
    what: str
    argv: Argv
    code: int = 1
    expect: tuple[str, ...] = ()
    frames: int = FRAMES

    def words(self, src: Path, tmp: Path) -> tuple[str, ...]:
        return tuple(w.replace("{src}", str(src)).replace("{tmp}", str(tmp)) for w in self.expect)


def stylize(inp: str, *, style: str = "style.png", out: str = "out.mkv", extra: tuple[str, ...] = ()) -> Argv:
    def build(src: Path, tmp: Path) -> tuple[list[str], list[str]]:
        o = out if out.startswith("/") else str(tmp / out)
        more = [a.replace("{tmp}", str(tmp)).replace("{src}", str(src)) for a in extra]
        return (["stylize", str(src / inp), "--style", str(src / style), "-o", o, *FAST, *more],
                [o, o + ".videostyle-work"])
    return build


def raw(*args: str, outputs: tuple[str, ...] = ()) -> Argv:
    def build(src: Path, tmp: Path) -> tuple[list[str], list[str]]:
        sub = [a.replace("{src}", str(src)).replace("{tmp}", str(tmp)) for a in args]
        return sub, [o.replace("{src}", str(src)).replace("{tmp}", str(tmp)) for o in outputs]
    return build


def _output_only(build: Argv) -> Argv:
    """A failure found mid-run: the work directory (the resume point of frames already finished) may stay."""
    def only(src: Path, tmp: Path) -> tuple[list[str], list[str]]:
        argv, outputs = build(src, tmp)
        return argv, outputs[:1]
    return only


def _existing_output(src: Path, tmp: Path) -> tuple[list[str], list[str]]:
    out = tmp / "out.mkv"
    out.write_bytes(b"a finished output from yesterday")
    return ["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out), *FAST], [str(out)]


def _output_is_input(src: Path, tmp: Path) -> tuple[list[str], list[str]]:
    same = tmp / "same.mkv"
    same.write_bytes((src / "clip.mkv").read_bytes())
    return ["stylize", str(same), "--style", str(src / "style.png"), "-o", str(tmp / "." / "same.mkv"), *FAST], \
        [str(same)]


def _output_under_a_file(src: Path, tmp: Path) -> tuple[list[str], list[str]]:
    (tmp / "afile").write_text("x")
    return ["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(tmp / "afile" / "o.mkv"),
            *FAST], [str(tmp / "afile" / "o.mkv")]


BAD_CASES: list[Case] = [
    # --- inputs ---------------------------------------------------------------------------------------------------
    Case("missing", "input", "input file does not exist", stylize("nowhere.mp4"), 1, ("nowhere.mp4", "no such file")),
    Case("empty", "input", "0-byte input", stylize("empty.mp4"), 1, ("empty.mp4", "empty (0 bytes)")),
    Case("garbage", "input", "random bytes named .mp4", stylize("garbage.mp4"), 1, ("garbage.mp4", "not a media file")),
    Case("truncated_mp4", "input", "MP4 cut in half", stylize("truncated.mp4"), 1, ("truncated.mp4", "truncated")),
    Case("truncated_mkv", "input", "Matroska cut at 2/3", stylize("truncated.mkv"), 1,
         ("truncated.mkv", "truncated", "Matroska segment")),
    Case("audio_only", "input", "audio-only file", stylize("audio_only.m4a"), 1, ("audio_only.m4a", "no video stream")),
    Case("zero_frames", "input", "video stream without frames", stylize("zero_frames.mkv"), 1,
         ("zero_frames.mkv", "no frames")),
    Case("absurd_video_header", "input", "Matroska header claiming 16000x16000", stylize("absurd_header.mkv"), 1,
         ("absurd_header.mkv", "16000x16000")),
    Case("absurd_image_header", "input", "PNG header claiming 60000x60000", stylize("absurd_header.png",
                                                                                    out="out.png"), 1,
         ("absurd_header.png", "60000x60000")),
    Case("sequence_broken_member", "input", "image sequence whose 3rd file is garbage",
         _output_only(stylize("sequence_broken/%05d.png")), 1, ("00003.png", "not a readable image")),
    Case("plate_broken_member", "input", "EXR plate sequence whose plate 1003 is garbage",
         _output_only(stylize("plates_broken/plate.####.exr", out="out.####.exr")), 1,
         ("plate.1003.exr", "not a readable image")),
    Case("plate_frames_outside", "input", "--frames outside the plate sequence",
         stylize("plates/plate.####.exr", out="out.####.exr", extra=("--frames", "2001-2010")), 1,
         ("no frames numbered 2001-2010", "1001-1006")),
    Case("plate_unknown_colorspace", "options", "misspelt --input-colorspace",
         stylize("plates/plate.####.exr", out="out.####.exr", extra=("--input-colorspace", "ACEScgg")), 2,
         ("ACEScgg", "did you mean")),
    Case("empty_range", "input", "--start after the end", stylize("clip.mp4", extra=("--start", "50")), 1,
         ("clip.mp4", "no frames in the selected range")),
    # --- style images ----------------------------------------------------------------------------------------------
    Case("style_missing", "style", "style image does not exist", stylize("clip.mp4", style="nostyle.png"), 1,
         ("nostyle.png", "does not exist")),
    Case("style_garbage", "style", "style image is not an image", stylize("clip.mp4", style="garbage.mp4"), 1,
         ("garbage.mp4", "not a readable image")),
    Case("style_absurd_header", "style", "style PNG header claiming 60000x60000",
         stylize("clip.mp4", style="absurd_header.png"), 1, ("absurd_header.png", "too large")),
    # --- outputs ---------------------------------------------------------------------------------------------------
    Case("output_is_input", "output", "-o names the input file", _output_is_input, 2, ("same.mkv", "is the input")),
    Case("output_exists", "output", "output exists, no --force", _existing_output, 1, ("out.mkv", "--force")),
    Case("output_dir_missing", "output", "output directory does not exist", stylize("clip.mp4", out="nodir/o.mkv"), 1,
         ("nodir", "does not exist")),
    Case("output_under_file", "output", "output directory is a file", _output_under_a_file, 1,
         ("afile", "not a directory")),
    Case("output_unsupported", "output", "unsupported extension", stylize("clip.mp4", out="o.avi"), 1,
         ("o.avi", ".avi")),
    Case("output_unwritable", "output", "output in a directory that refuses files (/proc)",
         stylize("clip.mp4", out="/proc/videostyle-test.mkv"), 1, ("videostyle-test.mkv",)),
    Case("video_to_image", "output", "many frames into one .png", stylize("clip.mp4", out="o.png"), 2,
         ("o.png", "single image")),
    Case("report_dir_missing", "output", "--report in a missing directory",
         stylize("clip.mp4", extra=("--report", "{tmp}/nodir/r.json")), 1, ("r.json", "not writable")),
    # --- options ---------------------------------------------------------------------------------------------------
    Case("unknown_option", "options", "misspelt option", stylize("clip.mp4", extra=("--iteratoins", "3")), 2,
         ("--iteratoins", "did you mean --iterations?")),
    Case("unknown_command", "options", "misspelt subcommand", raw("stylise", "{src}/clip.mp4"), 2,
         ("stylise", "did you mean stylize?")),
    Case("bad_value", "options", "non-numeric --size", stylize("clip.mp4", extra=("--size", "big")), 2,
         ("--size", "big")),
    Case("size_too_small", "options", "--size 8", stylize("clip.mp4", extra=("--size", "8")), 2, ("size 8", ">= 16")),
    # --- probe, metrics, batch -------------------------------------------------------------------------------------
    Case("probe_truncated_mkv", "probe", "probe a truncated Matroska file", raw("probe", "{src}/truncated.mkv"), 1,
         ("truncated.mkv", "truncated")),
    Case("probe_absurd_image", "probe", "probe a PNG bomb header", raw("probe", "{src}/absurd_header.png"), 1,
         ("absurd_header.png", "60000x60000")),
    Case("probe_unknown_option", "probe", "misspelt probe option", raw("probe", "{src}/clip.mp4", "--jsn"), 2,
         ("did you mean --json?",)),
    Case("metrics_garbage", "metrics", "stylised clip is garbage", raw("metrics", "{src}/clip.mp4", "{src}/garbage.mp4"),
         1, ("garbage.mp4", "not a media file")),
    Case("metrics_longer", "metrics", "stylised clip has more frames than the input",
         raw("metrics", "{src}/short.mp4", "{src}/clip.mp4", "--offsets", "1"), 1, ("clip.mp4", "more frames")),
    Case("metrics_plot_dir_missing", "metrics", "--plot in a missing directory",
         raw("metrics", "{src}/clip.mp4", "{src}/clip.mp4", "--plot", "{tmp}/nodir/p.png"), 1, ("p.png", "does not exist")),
    Case("batch_fields", "batch", "manifest: misspelt key and bad value",
         raw("batch", "{src}/manifest_errors.toml", outputs=("{src}/a.mkv", "{src}/b.mkv")), 2,
         ("job 1", "'iteratoins'", "did you mean 'iterations'", "job 2", "'size'", "'big'")),
    Case("batch_missing_input", "batch", "manifest: a job's input is missing, --strict",
         raw("batch", "{src}/manifest_missing_input.toml", "--strict", outputs=("{src}/a.mkv", "{src}/b.mkv")), 2,
         ("1 problem", "job 2", "nowhere.mp4")),
    Case("batch_syntax", "batch", "manifest: TOML syntax error", raw("batch", "{src}/manifest_syntax.toml"), 2,
         ("manifest_syntax.toml", "line 1")),
    Case("batch_no_manifest", "batch", "manifest does not exist", raw("batch", "{tmp}/none.toml"), 2,
         ("none.toml", "not found")),
]

GOOD_CASES: list[Case] = [
    Case("sequence_pattern", "input", "PNG sequence given as a pattern", stylize("sequence/%05d.png")),
    Case("ten_bit", "input", "10-bit H.264 (yuv420p10le)", stylize("ten_bit.mp4")),
    Case("yuv444", "input", "H.264 yuv444p", stylize("yuv444.mp4")),
    Case("one_pixel", "input", "1x1 FFV1 video", stylize("one_pixel.mkv")),
    Case("odd_size_mkv", "input", "63x47 video to FFV1", stylize("odd_size.mkv")),
    Case("odd_size_mp4", "input", "63x47 video to H.264 (even sides needed)", stylize("odd_size.mkv", out="out.mp4")),
    Case("style_gray", "style", "grayscale style image", stylize("clip.mp4", style="style_gray.png")),
    Case("style_rgba", "style", "RGBA style image", stylize("clip.mp4", style="style_rgba.png")),
    Case("style_16bit", "style", "16-bit style image", stylize("clip.mp4", style="style_16bit.png")),
    Case("style_huge", "style", "6000x4000 style image", stylize("clip.mp4", style="style_huge.jpg")),
]
