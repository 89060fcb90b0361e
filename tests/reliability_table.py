"""Runs every reliability case for real and prints the tables of docs/reliability.md (Markdown on stdout).

Usage: python tests/reliability_table.py > docs/reliability.md   (about 3 minutes on 2 CPU cores)

Each case runs the same command as the test suite (tests/reliability_cases.py, tests/reliability_job.py) with
the tiny random backbone; the table shows the message actually printed, the exit code and the files left
behind. Temporary paths are shown as ``<tmp>`` (the case's own folder) and ``<media>`` (the generated inputs);
process ids and random suffixes of leftover temporary names, and the host, process and start time of a work
directory's lock, as ``*``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # the generated test media (synthetic/ at the root)

from reliability_cases import BAD_CASES, FAST, GOOD_CASES, build_media  # noqa: E402
from reliability_job import use_tiny_backbone  # noqa: E402

from videostyle.cli import main  # noqa: E402


def _clean(text: str, src: Path, tmp: Path) -> str:
    text = text.replace(str(tmp), "<tmp>").replace(str(src), "<media>")
    text = re.sub(r"\.tmp-[A-Za-z0-9_]+-\d+-[A-Za-z0-9_]+", ".tmp-*", text)
    text = re.sub(r"host \S+, process \d+, started [\d-]+ [\d:]+", "host *, process *, started *", text)
    return text.strip().replace("|", "\\|")


def _left(tmp: Path, before: set[str]) -> str:
    """What a command left in its folder: files and work directories (with their finished frames)."""
    items = []
    for name in sorted(os.listdir(tmp)):
        if name in before:
            continue
        path = tmp / name
        if name.endswith(".videostyle-work"):
            frames = len(list((path / "frames" / "p1").glob("*.json"))) if (path / "frames" / "p1").exists() else 0
            items.append(f"`{name}/` ({frames} finished frames)")
        elif path.is_dir():
            items.append(f"`{name}/` ({len(os.listdir(path))} files)")
        else:
            items.append(f"`{re.sub(r'.tmp-[A-Za-z0-9_]+-[0-9]+-[A-Za-z0-9_]+', '.tmp-*', name)}`")
    return ", ".join(items) or "nothing"


def _in_process(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _command(argv: list[str], src: Path, tmp: Path) -> str:
    shown = list(argv)
    for i in range(len(shown) - len(FAST) + 1):
        if shown[i:i + len(FAST)] == FAST:
            del shown[i:i + len(FAST)]
            break
    return "`videostyle " + _clean(" ".join(shown), src, tmp) + "`"


def main_table() -> None:
    use_tiny_backbone()
    work = Path(tempfile.mkdtemp(prefix="videostyle-reliability-"))
    (work / "media").mkdir()
    src = build_media(work / "media")
    out: list[str] = [
        "# Reliability: hostile inputs and faults",
        "",
        "What videostyle does with bad inputs and when it is killed or interrupted, as observed by",
        "`python tests/reliability_table.py` (which generated this page; the same cases are asserted by",
        "`tests/test_reliability.py`, in `make test`, and `tests/test_reliability_faults.py`, in `make reliability`).",
        "Jobs ran with the tiny random backbone at `--size 32` (shown commands omit the `--size 32 --iterations 2",
        "--first-iterations 2 --quiet` every job had). `<media>` is the folder of generated inputs, `<tmp>` the case's",
        "own folder; *files left* lists what the command created there.",
        "",
        "The contract: exit 0 success, 1 a job failed, 2 usage error, 130 interrupted; a failure prints exactly one",
        "line on stderr (no traceback) naming the file or option; the output path never holds a partial file.",
        "",
    ]
    areas: dict[str, list[str]] = {}
    for case in BAD_CASES + GOOD_CASES:
        tmp = work / case.id
        tmp.mkdir()
        argv, _outputs = case.argv(src, tmp)
        before = set(os.listdir(tmp))
        code, err = _in_process(argv)
        message = _clean(err, src, tmp) or "(nothing on stderr)"
        if code == 0:
            message = "(nothing on stderr)" if not err.strip() else message
        areas.setdefault(case.area, []).append(
            _row(case.what, _command(argv, src, tmp), message, str(code), _left(tmp, before)))
    titles = {"input": "Inputs", "style": "Style images", "output": "Outputs", "options": "Options",
              "probe": "probe", "metrics": "metrics", "batch": "batch (manifests)"}
    header = [_row("case", "command", "observed message (stderr)", "exit", "files left"),
              _row("---", "---", "---", "---", "---")]
    for area, title in titles.items():
        out += [f"## {title}", "", *header, *areas.get(area, []), ""]
    out += _memory(src, work) + _disk(src, work) + _faults(src, work) + _two_runs(src, work) + LIMITS
    sys.stdout.write("\n".join(out) + "\n")
    shutil.rmtree(work, ignore_errors=True)


LIMITS = [
    "## Known limits", "",
    "- A full disk while the JSON report is written, after the output was renamed into place: the output is complete,",
    "  the report is missing, exit 1 with one line naming the report (`test_full_disk_while_writing_the_report...`).",
    "- An image sequence written into an existing directory is moved into place frame by frame on close; a kill",
    "  during that move leaves a mix of old and new frames (the rerun replaces them all). Video files are atomic.",
    "- Only the first file of an image sequence is read before work starts; a later member that cannot be read stops",
    "  the job when the reader reaches it (exit 1, the file named) and leaves the work directory as the resume point.",
    "- Truncation is detected from the container structure of MP4/MOV (box sizes, missing `moov`) and Matroska",
    "  (segment size); damaged packets inside an intact container are decoded as FFmpeg conceals them.",
    "- A temporary output left by a killed writer is removed by the next writer of the same output on the same host",
    "  (its process id is gone); one from another host (shared storage) only once it is a day old.",
    "- The memory estimate was calibrated on CPU (VGG16 at 256-768 px); on CUDA the same model is compared with",
    "  `torch.cuda.mem_get_info` and has not been measured on a GPU here.",
    "",
]


def _memory(src: Path, work: Path) -> list[str]:
    from videostyle.style import memory

    tmp = work / "memory"
    tmp.mkdir()
    saved = memory.available_memory
    memory.available_memory = lambda device="cpu": 3 * 2**30  # as on a node with 3 GiB free
    try:
        argv = ["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(tmp / "out.mkv"),
                "--size", "4096", "--quiet"]
        code, err = _in_process(argv)
    finally:
        memory.available_memory = saved
    return ["## Memory", "",
            "The peak memory of the optimisation is estimated from the working size before any work starts",
            "(`videostyle/style/memory.py`: measured ≈ 2.4 kB per pixel for VGG16 plus a fixed part, with a 30 % margin)",
            "and compared with `MemAvailable` (capped by the cgroup limit) or free CUDA memory. Here the available",
            "memory was injected as 3 GiB.", "",
            _row("case", "command", "observed message (stderr)", "exit", "files left"),
            _row("---", "---", "---", "---", "---"),
            _row("working size cannot fit", _command(argv, src, tmp), _clean(err, src, tmp), str(code),
                 _left(tmp, set())), ""]


def _disk(src: Path, work: Path) -> list[str]:
    rows = []
    tmp = work / "enospc"
    tmp.mkdir()
    real = os.fsync

    def enospc(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    os.fsync = enospc
    try:
        argv = ["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(tmp / "out.mkv"), *FAST]
        code, err = _in_process(argv)
    finally:
        os.fsync = real
    rows.append(_row("frame store hits ENOSPC (injected: `os.fsync` fails)", _command(argv, src, tmp),
                     _clean(err, src, tmp), str(code), _left(tmp, set())))
    mount = tmp.parent / "tmpfs"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode == 0:
        try:
            import numpy as np

            import synthetic

            noisy = synthetic.write_clip(tmp / "noisy.mkv", np.random.default_rng(0).integers(
                0, 256, (6, 120, 160, 3), dtype=np.uint8), fps=24, audio=False)
            for label, out, extra in (
                    ("output on a full 64 kB tmpfs", mount / "out.mkv", ["--work-dir", str(tmp / "w1")]),
                    ("PNG sequence on a full 64 kB tmpfs", mount / "seq" / "%05d.png", ["--work-dir", str(tmp / "w2")]),
                    ("work directory on a full 64 kB tmpfs", tmp / "out2.mkv", ["--work-dir", str(mount / "work")])):
                argv = ["stylize", str(noisy), "--style", str(src / "style.png"), "-o", str(out), *FAST,
                        "--size", "160", *extra]
                code, err = _in_process(argv)
                left = ", ".join(f"`{n}`" for n in sorted(os.listdir(mount))) or "nothing"
                rows.append(_row(label, _command(argv, src, tmp).replace(str(mount), "<tmpfs>"),
                                 _clean(err, src, tmp).replace(str(mount), "<tmpfs>"), str(code),
                                 f"on the tmpfs: {left}"))
                shutil.rmtree(mount / "work", ignore_errors=True)
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False)
        ro = tmp.parent / "read-only"
        ro.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)]).returncode == 0:
            try:
                for label, out, extra in (("output on a read-only file system", ro / "out.mkv", []),
                                          ("work directory on a read-only file system", tmp / "out3.mkv",
                                           ["--work-dir", str(ro / "work")])):
                    argv = ["stylize", str(src / "clip.mp4"), "--style", str(src / "style.png"), "-o", str(out),
                            *FAST, *extra]
                    code, err = _in_process(argv)
                    rows.append(_row(label, _command(argv, src, tmp).replace(str(ro), "<read-only>"),
                                     _clean(err, src, tmp).replace(str(ro), "<read-only>"), str(code),
                                     "nothing" if not out.exists() else f"`{out.name}`"))
            finally:
                subprocess.run(["umount", "-l", str(ro)], check=False)
    return ["## Full disk and read-only file systems", "", _row("case", "command", "observed message (stderr)", "exit", "files left"),
            _row("---", "---", "---", "---", "---"), *rows, ""]


def _faults(src: Path, work: Path) -> list[str]:
    settings = ["--size", "32", "--iterations", "3", "--first-iterations", "4", "--quiet", "--seed", "5"]

    def run(out: Path, at: str | None = None, sig: str = "KILL") -> subprocess.CompletedProcess[str]:
        hook = ["--at", at, "--signal", sig] if at else []
        cmd = [sys.executable, str(HERE / "reliability_job.py"), *hook, "--", "stylize", str(src / "clip.mp4"),
               "--style", str(src / "style.png"), "-o", str(out), *settings]
        return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))

    sys.path.insert(0, str(HERE))
    from test_reliability_faults import contents

    ref_dir = work / "fault-reference"
    ref_dir.mkdir()
    assert run(ref_dir / "out.mkv").returncode == 0
    reference = contents(ref_dir / "out.mkv")
    rows = []
    cases = [("KILL", "decode:3", "SIGKILL while decoding frame 3"),
             ("KILL", "optimise:9", "SIGKILL in the middle of frame 3's optimisation"),
             ("KILL", "store:3", "SIGKILL between frame 2's PNG and its record"),
             ("KILL", "encode:3", "SIGKILL while encoding (3 frames in the temporary output)"),
             ("KILL", "remux:1", "SIGKILL after the audio remux, before the output is closed and renamed"),
             ("INT", "optimise:9", "SIGINT (Ctrl-C) during optimisation"),
             ("TERM", "optimise:9", "SIGTERM (scheduler pre-emption) during optimisation"),
             ("INT", "encode:3", "SIGINT while encoding")]
    for sig, point, label in cases:
        tmp = work / f"fault-{sig}-{point.replace(':', '-')}"
        tmp.mkdir()
        out = tmp / "out.mkv"
        first = run(out, point, sig)
        left = _left(tmp, set())
        message = _clean(first.stderr, src, tmp) or "(nothing: the process was killed)"
        second = run(out)
        same = second.returncode == 0 and contents(out) == reference
        said = f"{_clean(second.stderr, src, tmp)}; " if second.stderr.strip() else ""
        rows.append(_row(label, f"`--at {point} --signal {sig}`", message, str(first.returncode), left,
                         f"exit {second.returncode}; {said}" + ("identical frames, pts and audio packets" if same
                                                                else "**differs**") + f"; left: {_left(tmp, set())}"))
    return ["## Faults: killed or interrupted, then the same command again", "",
            "`tests/reliability_job.py --at POINT:N --signal SIG -- stylize <media>/clip.mp4 --style <media>/style.png "
            "-o <tmp>/out.mkv --size 32 --iterations 3 --first-iterations 4 --seed 5` signals itself at the N-th event;",
            "the rerun is the same command without `--at`. Compared with an uninterrupted run: every decoded frame "
            "(FFV1, lossless) bit for bit, the video pts and the audio packets. Exit -9 = killed by SIGKILL. A killed",
            "run leaves its work directory's lock; the rerun takes it over (its process is gone) with one warning.", "",
            _row("fault", "hook", "observed message (stderr)", "exit", "files left", "rerun"),
            _row("---", "---", "---", "---", "---", "---"), *rows, ""]


def _two_runs(src: Path, work: Path) -> list[str]:
    from test_reliability_faults import two_runs_at_once, waiting_for_the_holder

    tmp = work / "two-at-once"
    tmp.mkdir()
    runs = two_runs_at_once(src, tmp / "out.mkv")
    rows = [_row("the same job twice at once", "(the same)", _clean(runs.other.stderr, src, tmp),
                 str(runs.other.returncode), f"exit {runs.holder.returncode}; left: {_left(tmp, set())}")]
    tmp = work / "wait-lock"
    tmp.mkdir()
    runs, _first = waiting_for_the_holder(src, tmp / "out.mkv", work / "wait-lock-report.json")
    report = json.loads((work / "wait-lock-report.json").read_text())
    rows.append(_row("the same job again while the first holds its work directory", "`--wait-lock`",
                     _clean(runs.other.stderr, src, tmp), f"{runs.other.returncode} (frames computed "
                     f"{report['frames_computed']}, resumed {report['frames_resumed']})",
                     f"exit {runs.holder.returncode}; left: {_left(tmp, set())}"))
    return ["## Two runs on one work directory", "",
            "The same `tests/reliability_job.py` command as above, twice on one work directory: the run that takes the",
            "work directory's lock suspends itself (`--at optimise:9 --signal STOP`) until the other has ended (or, with",
            "`--wait-lock`, has said that it waits), then goes on.", "",
            _row("case", "second run's options", "observed message (stderr)", "exit", "the run holding the lock"),
            _row("---", "---", "---", "---", "---"), *rows, ""]


if __name__ == "__main__":
    main_table()
