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
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from reliability_cases import FAST, build_media, temporaries
from videostyle.video import FrameStore
from videostyle.video.lock import LOCK_NAME

pytestmark = pytest.mark.reliability

HERE = Path(__file__).parent
JOB = HERE / "reliability_job.py"
SETTINGS = ["--size", "32", "--iterations", "3", "--first-iterations", "4", "--quiet", "--seed", "5"]


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    return build_media(tmp_path_factory.mktemp("faults"))


def _command(src: Path, out: Path, at: str | None, sig: str, extra: tuple[str, ...]) -> list[str]:
    hook = ["--at", at, "--signal", sig] if at else []
    return [sys.executable, str(JOB), *hook, "--", "stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"),
            "-o", str(out), *SETTINGS, *extra]


ENV = dict(os.environ, OMP_NUM_THREADS="1")


def job(src: Path, out: Path, *, at: str | None = None, sig: str = "KILL", extra: tuple[str, ...] = ()
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(src, out, at, sig, extra), capture_output=True, text=True, timeout=600, env=ENV)


def start(src: Path, out: Path, *, at: str | None = None, sig: str = "STOP", extra: tuple[str, ...] = ()
          ) -> subprocess.Popen[str]:
    """:func:`job` in the background (by default suspending itself at ``at``)."""
    return subprocess.Popen(_command(src, out, at, sig, extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV)


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
    holder = json.loads((work / LOCK_NAME).read_text())  # the killed run's lock, left behind
    done = job(src, out)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"videostyle: warning: {work}: took the work directory over from a run that is "
                                        f"gone (host {holder['host']}, process {holder['pid']}, started "
                                        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(holder['started']))})"]
    assert not (work / LOCK_NAME).exists()
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


# --- two runs on one work directory (the work-directory lock) ----------------------------------------------------
@dataclass
class TwoRuns:
    holder: subprocess.CompletedProcess[str]  # the run that held the work directory
    other: subprocess.CompletedProcess[str]
    holder_pid: int


def _stopped(proc: subprocess.Popen[str]) -> None:
    """Block until ``proc`` has suspended itself (``--signal STOP``); fail when it ends instead."""
    info = os.waitid(os.P_PID, proc.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
    assert info is not None and info.si_code == os.CLD_STOPPED, proc.communicate()


def _ended(proc: subprocess.Popen[str], before: str = "") -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, before + err)


def two_runs_at_once(src: Path, out: Path) -> TwoRuns:
    """The same job started twice at once. Each would suspend itself at its 9th loss evaluation, so the one that
    takes the work directory cannot end before the other has met its lock; the holder is continued (SIGCONT) once
    the other has ended."""
    runs = [start(src, out, at="optimise:9") for _ in range(2)]
    while all(r.poll() is None for r in runs):
        time.sleep(0.05)
    other = next(r for r in runs if r.returncode is not None)
    holder = next(r for r in runs if r is not other)
    _stopped(holder)
    holder.send_signal(signal.SIGCONT)
    return TwoRuns(_ended(holder), _ended(other), holder.pid)


def waiting_for_the_holder(src: Path, out: Path, report: Path) -> tuple[TwoRuns, str]:
    """A job suspended at its 9th loss evaluation, holding its work directory, and the same job with --wait-lock
    started then; once the second has written its first line (it waits), the first is continued. Returns both
    runs and that line."""
    holder = start(src, out, at="optimise:9")
    _stopped(holder)
    waiter = start(src, out, extra=("--wait-lock", "--report", str(report)))
    first = waiter.stderr.readline()
    holder.send_signal(signal.SIGCONT)
    return TwoRuns(_ended(holder), _ended(waiter, first), holder.pid), first


def test_two_runs_at_once_one_computes_the_other_exits_1_naming_it(src, reference, tmp_path):
    out = tmp_path / "out.mkv"
    runs = two_runs_at_once(src, out)
    work = Path(str(out) + ".videostyle-work")
    assert runs.other.returncode == 1
    [line] = runs.other.stderr.splitlines()
    assert line.startswith(f"videostyle stylize: error: {work}: work directory is in use by another run (host ")
    assert f", process {runs.holder_pid}, started " in line and "--wait-lock" in line
    assert runs.holder.returncode == 0 and runs.holder.stderr == ""
    assert_same_output(out, reference)
    assert not (work / LOCK_NAME).exists()


def test_wait_lock_waits_for_the_holder_then_finds_its_frames_done(src, reference, tmp_path):
    out, report = tmp_path / "out.mkv", tmp_path / "report.json"
    runs, first = waiting_for_the_holder(src, out, report)
    work = Path(str(out) + ".videostyle-work")
    assert first.startswith(f"videostyle: warning: {work}: waiting for the run that holds the work directory "
                            f"(host ") and f", process {runs.holder_pid}, started " in first
    assert runs.holder.returncode == 0, runs.holder.stderr
    assert runs.other.returncode == 0 and runs.other.stderr == first, runs.other.stderr
    done = json.loads(report.read_text())
    assert (done["frames_computed"], done["frames_resumed"]) == (0, 6)  # every frame was the holder's
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
    import synthetic

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
