"""Reliability suite, fast part: hostile inputs and faults through the CLI, in-process.

Every failing case asserts the contract of a trusted media tool: the documented exit code (1 a job failed,
2 usage), exactly one line on stderr with no traceback that names the file or option at fault, and nothing
written: no output, no temporary file beside it. Awkward-but-valid inputs (10-bit, yuv444, 1×1, odd sizes,
grayscale/RGBA/16-bit/huge style images) must simply work.

The slow part (SIGKILL/SIGINT/SIGTERM at chosen points, a real full tmpfs) is tests/test_reliability_faults.py.
docs/reliability.md lists every case with the behaviour observed (``python tests/reliability_table.py``).
Cases shared with the table generator live in tests/reliability_cases.py.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reliability_cases import BAD_CASES, GOOD_CASES, build_media, temporaries
from videostyle import media
from videostyle.cli import main
from videostyle.config import RangeConfig, StyleConfig, StylizeConfig, VideoConfig
from videostyle._fs import host_name
from videostyle.style import memory
from videostyle.style.backbones import tiny_backbone
from videostyle.video import open_store, run_frames, stylize


pytestmark = pytest.mark.usefixtures("tiny_stylizers")  # these tests check plumbing and messages, not looks


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    return build_media(tmp_path_factory.mktemp("hostile"))


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.err


def assert_one_line(err: str, words: tuple[str, ...]) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.id for c in BAD_CASES])
def test_bad_input_fails_cleanly(case, src, tmp_path, capsys):
    argv, outputs = case.argv(src, tmp_path)
    before = {p: p.read_bytes() for p in map(Path, outputs) if p.is_file()}
    code, err = run_cli(argv, capsys)
    assert code == case.code, err
    assert_one_line(err, case.words(src, tmp_path))
    for out in map(Path, outputs):
        if out in before:
            assert out.read_bytes() == before[out], f"{out} was modified"
        else:
            assert not out.exists(), f"{out} was created"
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("case", GOOD_CASES, ids=[c.id for c in GOOD_CASES])
def test_awkward_input_works(case, src, tmp_path, capsys):
    argv, outputs = case.argv(src, tmp_path)
    code, err = run_cli(argv, capsys)
    assert code == 0, err
    out = Path(outputs[0])
    info = media.probe(out)
    assert info.video is not None and info.video.frames == case.frames
    w, h = info.video.display_width, info.video.display_height
    assert max(w, h) in (32, 33) and w % 2 == 0 and h % 2 == 0
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # not the 0600 of a temporary file
    assert temporaries(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- memory ------------------------------------------------------------------------------------------------------
def test_working_size_that_cannot_fit_is_refused_before_work(src, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device="cpu": 3 * 2**30)
    out = tmp_path / "big.mkv"
    code, err = run_cli(["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out),
                         "--size", "4096", "--quiet"], capsys)
    assert code == 1
    assert_one_line(err, ("--size 4096", "working size 4096x3072", "GiB", "would fit"))
    suggested = int(err.split("--size ")[-1].split()[0])
    assert 256 <= suggested < 4096
    # the suggestion really fits, the next step up does not
    size_for = lambda side: media.working_size(64, 48, side)  # noqa: E731
    assert memory.estimate_bytes(size_for(suggested), source=(64, 48)) <= 3 * 2**30
    assert memory.estimate_bytes(size_for(suggested + 16), source=(64, 48)) > 3 * 2**30
    assert not out.exists() and not Path(str(out) + ".videostyle-work").exists()


# --- full disk (injected), leftovers of killed writers, damaged frame store -----------------------------------------
def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_in_the_frame_store_is_one_line(src, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.mkv"
    monkeypatch.setattr(os, "fsync", _enospc)  # every atomic write of the store hits "no space left"
    code, err = run_cli(["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out),
                         "--size", "32", "--iterations", "2", "--first-iterations", "2", "--quiet"], capsys)
    assert code == 1
    assert_one_line(err, ("No space left on device", "videostyle-work"))
    assert not out.exists()
    assert not Path(str(out) + ".videostyle-work").exists()  # not even an empty work directory


def test_full_disk_while_writing_the_report_keeps_the_finished_output(src, tmp_path, capsys, monkeypatch):
    out, report = tmp_path / "out.mkv", tmp_path / "report.json"
    real_fsync = os.fsync

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp") and "report.json" in os.readlink(f"/proc/self/fd/{fd}"):
            _enospc()
        return real_fsync(fd)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    monkeypatch.setattr(os, "fsync", fsync)
    code, err = run_cli(["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out),
                         "--report", str(report), "--size", "32", "--iterations", "2", "--first-iterations", "2",
                         "--quiet"], capsys)
    assert code == 1
    assert_one_line(err, ("report.json", "No space left on device"))
    assert not report.exists() and temporaries(tmp_path) == []
    assert media.probe(out).video.frames == 6  # the output is complete (it was renamed before the report)


def test_stale_temporary_output_of_a_killed_writer_is_removed(src, tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process id that has just exited
    host = host_name()
    stale = tmp_path / f".out.tmp-{host}-{pid}-abc123.mkv"
    stale.write_bytes(b"half an output")
    alive = tmp_path / f".out.tmp-{host}-{os.getppid()}-def456.mkv"  # a live process: must be left alone
    alive.write_bytes(b"someone else is writing")
    out = tmp_path / "out.mkv"
    code, err = run_cli(["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out),
                         "--size", "32", "--iterations", "2", "--first-iterations", "2", "--quiet"], capsys)
    assert code == 0, err
    assert not stale.exists() and alive.exists()
    assert media.probe(out).video.frames == 6


@pytest.mark.parametrize("damage", ["png_truncated", "png_empty", "record_truncated", "record_missing"])
def test_damaged_last_frame_in_the_store_is_recomputed(src, tmp_path, damage):
    def config(out: Path) -> StylizeConfig:
        return StylizeConfig(input=str(src / "clip.mp4"), output=str(out), styles=(str(src / "style.png"),),
                             video=VideoConfig(size=32, iterations=2, first_iterations=3, seed=1),
                             style=StyleConfig(model="vgg16"), range=RangeConfig(max_frames=4), quiet=True)

    reference = config(tmp_path / "ref.mkv")
    stylize(reference, backbone=tiny_backbone(0))
    damaged = config(tmp_path / "out.mkv")
    run_frames(damaged, frame_range=(0, 3), backbone=tiny_backbone(0))
    folder = Path(damaged.default_work_dir()) / "frames" / "p1"
    png, rec = folder / "000002.png", folder / "000002.json"
    (folder / ".000002.png.leftover.tmp").write_bytes(b"a temporary file of a killed write")
    if damage == "png_truncated":
        png.write_bytes(png.read_bytes()[: len(png.read_bytes()) // 2])
    elif damage == "png_empty":
        png.write_bytes(b"")
    elif damage == "record_truncated":
        rec.write_text(rec.read_text()[:20])
    else:
        rec.unlink()
    report = stylize(damaged, backbone=tiny_backbone(0))
    assert report["frames_resumed"] == 2 and report["frames_computed"] == 2
    for i in range(4):
        np.testing.assert_array_equal(open_store(damaged).get(i), open_store(reference).get(i))


def test_interrupt_message_says_how_to_resume(src, tmp_path, capsys, monkeypatch):
    from videostyle.media.writer import VideoWriter

    def interrupted(*_a, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(VideoWriter, "_encode", interrupted)  # Ctrl-C while encoding, after every frame is stored
    out = tmp_path / "out.mkv"
    code, err = run_cli(["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out),
                         "--size", "32", "--iterations", "2", "--first-iterations", "2", "--quiet"], capsys)
    assert code == 130
    assert_one_line(err, ("interrupted", "rerun the same command to resume"))
    assert not out.exists() and temporaries(tmp_path) == []
    store = json.loads((Path(str(out) + ".videostyle-work") / "store.json").read_text())
    assert store["config_hash"]
