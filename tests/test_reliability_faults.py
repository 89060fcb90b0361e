"""Reliability suite, slow part: a process killed or interrupted at chosen points, and a really full disk.

Each fault runs ``tests/reliability_job.py`` (the CLI with the tiny random backbone) which signals itself at the
N-th event of a point (decode, optimise, store, encode, remux); the same command is then rerun normally and its
output must equal an uninterrupted run's: the same decoded frames bit for bit (FFV1 .mkv, lossless), the same
timestamps and the same audio packets. Run with ``make reliability`` (``pytest -m reliability``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import av
import numpy as np
import pytest

from reliability_cases import FAST, build_media, temporaries
from videostyle.video import FrameStore

pytestmark = pytest.mark.reliability

HERE = Path(__file__).parent
JOB = HERE / "reliability_job.py"
SETTINGS = ["--size", "32", "--iterations", "3", "--first-iterations", "4", "--quiet", "--seed", "5"]


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    return build_media(tmp_path_factory.mktemp("faults"))


def job(src: Path, out: Path, *, at: str | None = None, sig: str = "KILL", extra: tuple[str, ...] = ()
        ) -> subprocess.CompletedProcess[str]:
    hook = ["--at", at, "--signal", sig] if at else []
    cmd = [sys.executable, str(JOB), *hook, "--", "stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"),
           "-o", str(out), *SETTINGS, *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


def contents(path: Path) -> tuple[list[int], list[bytes], list[tuple[int | None, bytes]]]:
    """Video pts, decoded RGB frames (bytes) and audio packets (pts, payload) of a file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [(int(f.pts), f.to_ndarray(format="rgb24").tobytes()) for f in container.decode(video)]
    with av.open(str(path)) as container:
        audio = [(p.pts, bytes(p)) for p in container.demux(*container.streams.audio) if p.size]
    return [p for p, _ in frames], [b for _, b in frames], audio


@pytest.fixture(scope="module")
def reference(src, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out.mkv"
    done = job(src, out)
    assert done.returncode == 0, done.stderr
    return out


def assert_same_output(got: Path, reference: Path) -> None:
    pts_a, frames_a, audio_a = contents(got)
    pts_b, frames_b, audio_b = contents(reference)
    assert pts_a == pts_b and len(frames_a) == 6
    assert all(a == b for a, b in zip(frames_a, frames_b, strict=True)), "stylised frames differ after resuming"
    assert audio_a == audio_b and audio_a


POINTS = ["decode:3", "optimise:9", "store:3", "encode:3", "remux:1"]


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_then_rerun_gives_the_uninterrupted_output(src, reference, tmp_path, point):
    out = tmp_path / "out.mkv"
    killed = job(src, out, at=point)
    assert killed.returncode == -9, killed.stderr
    assert not out.exists()
    leftovers = [Path(p).name for p in temporaries(tmp_path)]
    assert all(n.startswith(".") and n != out.name for n in leftovers)  # hidden, never the output's name
    work = Path(str(out) + ".videostyle-work")
    if point == "store:3":  # killed between the PNG of frame 2 and its record: the frame is not finished
        assert (work / "frames" / "p1" / "000002.png").exists()
        assert not (work / "frames" / "p1" / "000002.json").exists()
    done = job(src, out)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert_same_output(out, reference)
    assert temporaries(tmp_path) == []  # the killed writer's temporary output was cleaned up


@pytest.mark.parametrize(("sig", "point"), [("INT", "optimise:9"), ("TERM", "optimise:9"), ("INT", "encode:3")])
def test_interrupt_stops_cleanly_and_resumes(src, reference, tmp_path, sig, point):
    out = tmp_path / "out.mkv"
    stopped = job(src, out, at=point, sig=sig)
    assert stopped.returncode == 130, stopped.stderr
    lines = stopped.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stopped.stderr
    assert "interrupted" in lines[0] and ("resume" in lines[0])
    assert not out.exists() and temporaries(tmp_path) == []
    work = Path(str(out) + ".videostyle-work")
    store = FrameStore(work, json.loads((work / "store.json").read_text())["config_hash"])
    finished = store.finished_prefix()
    assert finished >= (2 if point.startswith("optimise") else 6)
    done = job(src, out)
    assert done.returncode == 0, done.stderr
    assert_same_output(out, reference)


# --- a real full disk: a small tmpfs ------------------------------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path):
    """A 64 kB tmpfs (needs root and mount rights; skipped elsewhere — test_reliability.py injects ENOSPC)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    from videostyle.cli import main

    import videostyle.style.stylizer as stylizer
    from videostyle.style.backbones import tiny_backbone

    saved = stylizer.load_backbone
    stylizer.load_backbone = lambda *_a, **_kw: tiny_backbone(0)
    try:
        code = main(argv)
    finally:
        stylizer.load_backbone = saved
    return code, capsys.readouterr().err


@pytest.mark.parametrize("target", ["output", "sequence", "work_dir"])
def test_full_disk_fails_in_one_line_and_leaves_nothing(src, tmp_path, capsys, full_disk, target):
    big = build_big_clip(tmp_path)
    if target == "output":
        out, extra = full_disk / "out.mkv", ["--work-dir", str(tmp_path / "work")]
    elif target == "sequence":
        out, extra = full_disk / "seq" / "%05d.png", ["--work-dir", str(tmp_path / "work")]
    else:
        out, extra = tmp_path / "out.mkv", ["--work-dir", str(full_disk / "work")]
    code, err = _cli(["stylize", str(big), "--style", str(src / "style.png"), "-o", str(out), *FAST,
                      "--size", "160", *extra], capsys)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "No space left on device" in err, err
    assert not out.exists()
    if target != "work_dir":
        assert os.listdir(full_disk) == [], os.listdir(full_disk)  # no partial output, no temporary file


def build_big_clip(folder: Path) -> Path:
    """Noisy frames: their stylised PNGs and FFV1 packets are large enough to fill the small tmpfs."""
    from videostyle.media import synthetic

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 120, 160, 3), dtype=np.uint8)
    return synthetic.write_clip(folder / "noisy.mkv", frames, fps=24, audio=False)


# --- a batch killed in its second job ------------------------------------------------------------------------------
MANIFEST = """[defaults]
style = "{style}"
size = 32
iterations = 3
first_iterations = 4
seed = 5

[[job]]
input = "{clip}"
output = "a.mkv"

[[job]]
input = "{clip}"
output = "b.mkv"
style_weight = 20.0
"""


def batch(src: Path, folder: Path, at: str | None = None) -> subprocess.CompletedProcess[str]:
    manifest = folder / "shots.toml"
    manifest.write_text(MANIFEST.format(style=src / "style.png", clip=src / "clip.mp4"))
    hook = ["--at", at] if at else []
    cmd = [sys.executable, str(JOB), *hook, "--", "batch", str(manifest), "--quiet"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))


def test_batch_sigkill_in_the_second_job_then_rerun(src, tmp_path):
    ref, got = tmp_path / "reference", tmp_path / "killed"
    ref.mkdir()
    got.mkdir()
    assert batch(src, ref).returncode == 0
    killed = batch(src, got, at="optimise:25")  # job 1 takes 4 + 5 x 3 = 19 evaluations: this is job 2, frame 2
    assert killed.returncode == -9
    assert (got / "a.mkv").exists() and not (got / "b.mkv").exists()
    a_before = (got / "a.mkv").stat().st_mtime_ns
    done = batch(src, got)
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stdout and (got / "a.mkv").stat().st_mtime_ns == a_before  # finished job not redone
    for name in ("a.mkv", "b.mkv"):
        assert_same_output(got / name, ref / name)
    assert temporaries(got) == []


@pytest.mark.parametrize("target", ["output", "work_dir"])
def test_read_only_file_system_is_refused_before_work(src, tmp_path, capsys, target):
    """Root may write anywhere, except on a read-only mount: the unwritable output a render node really meets."""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)], capture_output=True).returncode:
        pytest.skip("cannot mount a read-only tmpfs here")
    try:
        out = ro / "out.mkv" if target == "output" else tmp_path / "out.mkv"
        extra = ["--work-dir", str(ro / "work")] if target == "work_dir" else []
        code, err = _cli(["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out),
                          *FAST, *extra], capsys)
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert ("not writable" in err) if target == "output" else ("Read-only file system" in err)
    assert not out.exists() and temporaries(tmp_path) == []
