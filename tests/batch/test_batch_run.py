"""Running batches end to end on tiny clips with the real offline VGG16-HED backbone (size 32, 3/2 iterations).

Local executor: finished jobs, a bad input failing alone, skipping on rerun, the CLI's exit code and summary.
Ray (a local instance, ``num_cpus=2``): outputs identical to the local executor's, a worker killed mid-job retried
and resumed from the frame store with no frame lost or duplicated, and a two-shot clip run shot-parallel equal to
the sequential result frame for frame.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from synthetic import moving_scene, write_clip
from videostyle.batch import load_manifest, plan_batch, run_batch
from videostyle.batch.executors import BatchResult, count_stored_frames
from videostyle.cli import main
from videostyle.media import open_reader, write_image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
TINY = {"model": "vgg16-hed", "size": 32, "first_iterations": 3, "iterations": 2, "flow": "dis-fast"}


def toml_value(value: object) -> str:
    return f'"{value}"' if isinstance(value, (str, Path)) else str(value)


def write_manifest(path: Path, jobs: list[dict], **defaults: object) -> Path:
    lines = ["[defaults]", *(f"{k} = {toml_value(v)}" for k, v in {**TINY, **defaults}.items())]
    for job in jobs:
        lines += ["", "[[job]]", *(f"{k} = {toml_value(v)}" for k, v in job.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def decode(path: str | os.PathLike[str]) -> tuple[np.ndarray, list[float]]:
    with open_reader(os.fspath(path)) as reader:
        frames = [(f.image, f.pts) for f in reader]
    return np.stack([f[0] for f in frames]), [f[1] for f in frames]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch_run")
    (root / "clips").mkdir()
    for i, name in enumerate(PHOTOS):
        write_clip(root / "clips" / f"c{i}.mp4", moving_scene(6, (64, 48), photo_name=name).frames, fps=12,
                   audio=(i == 0))
    write_clip(root / "clips" / "two_shots.mp4", moving_scene(20, (96, 64), cut_at=10).frames, fps=12, audio=True)
    write_clip(root / "clips" / "long.mp4", moving_scene(40, (64, 48)).frames, fps=12, audio=True)
    # An image sequence whose 4th image is damaged: it probes fine, and fails only when the job reaches it.
    seq = root / "clips" / "damaged"
    seq.mkdir()
    for i, frame in enumerate(moving_scene(6, (64, 48)).frames):
        write_image(seq / f"{i + 1:05d}.png", frame)
    (seq / "00004.png").write_bytes(b"not a png at all")
    rng = np.random.default_rng(0)
    write_image(root / "style.png", (rng.random((48, 48, 3)) * 255).astype(np.uint8))
    return root


def four_jobs_and_a_bad_one(media: Path, out: str) -> list[dict]:
    # FFV1 (.mkv) is lossless, so decoded outputs are exactly the stylised frames (x264 output is not bit-stable
    # across processes, which would hide or fake differences).
    jobs = [{"input": f"clips/c{i}.mp4", "output": f"{out}/c{i}.mkv"} for i in range(4)]
    jobs.insert(2, {"name": "bad", "input": "clips/damaged", "output": f"{out}/bad.mkv"})
    (media / out).mkdir(exist_ok=True)
    return jobs


@pytest.fixture(scope="module")
def local_run(media: Path) -> BatchResult:
    manifest = write_manifest(media / "local.toml", four_jobs_and_a_bad_one(media, "out_local"), style="style.png")
    return run_batch(plan_batch(load_manifest(manifest)), executor="local", threads=1, quiet=True)


def test_local_executor_collects_a_failure_and_finishes_the_rest(media: Path, local_run: BatchResult) -> None:
    statuses = {r.name: r.status for r in local_run.results}
    assert statuses == {"c0.mp4": "ok", "c1.mp4": "ok", "bad": "failed", "c2.mp4": "ok", "c3.mp4": "ok"}
    assert local_run.exit_code == 1
    bad = next(r for r in local_run.results if r.name == "bad")
    assert "00004.png" in bad.message
    assert not (media / "out_local" / "bad.mkv").exists()  # no half-written output
    for i in range(4):
        frames, pts = decode(media / "out_local" / f"c{i}.mkv")
        _, src_pts = decode(media / "clips" / f"c{i}.mp4")
        assert frames.shape[0] == 6 and frames.shape[1:] == (24, 32, 3)
        assert pts == pytest.approx(src_pts, abs=6e-4)  # Matroska keeps milliseconds


def test_cli_rerun_skips_finished_jobs_and_exits_1_for_the_failure(media: Path, local_run: BatchResult,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def files() -> dict[Path, int]:  # files only: taking a work directory's lock touches the folder itself
        return {p: p.stat().st_mtime_ns for p in (media / "out_local").rglob("*") if p.is_file()}

    before = files()
    rc = main(["batch", os.fspath(media / "local.toml"), "--quiet", "--threads", "1"])
    captured = capsys.readouterr()
    assert rc == 1
    rows = {line.split()[2].strip("()"): line for line in captured.out.splitlines() if line.startswith("job ")}
    assert all("skipped" in rows[f"c{i}.mp4"] and "--force" in rows[f"c{i}.mp4"] for i in range(4))
    assert "failed" in rows["bad"]
    assert "4 skipped, 1 failed" in captured.out
    errors = captured.err.strip().splitlines()
    assert errors == [e for e in errors if e.startswith("videostyle batch: error: job 3 (bad)")] and len(errors) == 1
    assert files() == before


def test_local_process_pool_matches_sequential_with_progress(media: Path, local_run: BatchResult,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    jobs = [{"input": f"clips/c{i}.mp4", "output": f"out_pool/c{i}.mkv"} for i in range(2)]
    (media / "out_pool").mkdir()
    manifest = write_manifest(media / "pool.toml", jobs, style="style.png")
    rc = main(["batch", os.fspath(manifest), "--workers", "2"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "2 jobs: 2 ok, 0 skipped, 0 failed" in captured.out and "(local executor)" in captured.out
    # progress across jobs on stderr (not a terminal: a plain line per finished job, and every 30 s)
    progress = captured.err.strip().splitlines()
    assert all(re.fullmatch(r"batch: jobs [012]/2  frames \d+/12  .*", line) for line in progress), progress
    assert re.fullmatch(r"batch: jobs 2/2  frames 12/12  [\d.]+ frame/s  done in \d+:\d\d", progress[-1])
    first = [line for line in progress if line.startswith("batch: jobs 1/2")]
    assert len(first) == 1 and re.fullmatch(r".*frames (6|7|8|9|10|11|12)/12  [\d.]+ frame/s  ETA \d+:\d\d", first[0])
    for i in range(2):
        assert np.array_equal(decode(media / "out_pool" / f"c{i}.mkv")[0],
                              decode(media / "out_local" / f"c{i}.mkv")[0])


# --- Ray -------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_instance():
    import ray  # a test dependency: the Ray tests must run in `make test`, not be skipped

    # address="local": a new instance even when this machine has a (possibly stale) `ray start` cluster
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.mark.ray
def test_ray_outputs_equal_local_and_bad_input_fails_alone(media: Path, local_run: BatchResult,
                                                           ray_instance) -> None:
    manifest = write_manifest(media / "ray.toml", four_jobs_and_a_bad_one(media, "out_ray"), style="style.png")
    result = run_batch(plan_batch(load_manifest(manifest)), executor="ray", quiet=True)
    assert [r.status for r in result.results] == ["ok", "ok", "failed", "ok", "ok"]
    assert "00004.png" in result.results[2].message and result.exit_code == 1
    assert not (media / "out_ray" / "bad.mkv").exists()
    for i in range(4):
        ray_frames, ray_pts = decode(media / "out_ray" / f"c{i}.mkv")
        local_frames, local_pts = decode(media / "out_local" / f"c{i}.mkv")
        assert ray_frames.shape == local_frames.shape
        assert np.array_equal(ray_frames, local_frames), f"c{i}: Ray output differs from the local executor's"
        assert ray_pts == local_pts


def ray_worker_pids(task_name: str) -> list[int]:
    """Ray worker processes (children of this test's Ray instance) currently running ``task_name``."""
    import psutil

    pids = []
    for proc in psutil.Process().children(recursive=True):
        try:
            title = " ".join(proc.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if title.startswith(f"ray::{task_name}"):
            pids.append(proc.pid)
    return pids


@pytest.mark.ray
def test_ray_worker_killed_mid_job_is_retried_and_resumes(media: Path, ray_instance) -> None:
    (media / "out_kill").mkdir()
    manifest = write_manifest(media / "kill.toml", [{"input": "clips/long.mp4", "output": "out_kill/long.mkv"}],
                              style="style.png")
    plan = plan_batch(load_manifest(manifest))
    store = plan.jobs[0].work_dir
    box: dict[str, BatchResult] = {}
    runner = threading.Thread(target=lambda: box.setdefault("r", run_batch(plan, executor="ray", quiet=True)))
    runner.start()
    killed: list[int] = []
    deadline = time.monotonic() + 120
    while runner.is_alive() and time.monotonic() < deadline and not killed:
        if count_stored_frames(store) >= 3:
            pids = ray_worker_pids("videostyle.run_job")
            assert len(pids) == 1, pids
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
        time.sleep(0.05)
    runner.join(timeout=180)
    assert killed, "the job finished before a worker could be killed; make the clip longer"
    result = box["r"].results[0]
    assert result.status == "ok", result.message
    report = result.report
    assert report is not None
    assert report["frames_resumed"] >= 3  # the retry started from the frame store, not from scratch
    assert report["frames_computed"] >= 1  # ... and the worker was killed mid-job, not after the last frame
    assert report["frames_resumed"] + report["frames_computed"] == report["frames"] == 40
    assert result.tasks == 1  # Ray retried the task itself: the driver saw one task
    frames, pts = decode(media / "out_kill" / "long.mkv")
    _, src_pts = decode(media / "clips" / "long.mp4")
    assert frames.shape[0] == 40
    assert pts == pytest.approx(src_pts, abs=6e-4)  # no frame lost or duplicated (Matroska keeps milliseconds)
    # ... and every frame is the one an uninterrupted run makes
    (media / "out_kill_ref").mkdir()
    reference = write_manifest(media / "kill_ref.toml",
                               [{"input": "clips/long.mp4", "output": "out_kill_ref/long.mkv"}], style="style.png")
    ref = run_batch(plan_batch(load_manifest(reference)), executor="local", threads=1, quiet=True)
    assert ref.results[0].status == "ok", ref.results[0].message
    assert np.array_equal(frames, decode(media / "out_kill_ref" / "long.mkv")[0])


@pytest.mark.ray
def test_shot_parallel_equals_sequential(media: Path, ray_instance) -> None:
    (media / "out_shots").mkdir()
    jobs = [{"input": "clips/two_shots.mp4", "output": "out_shots/sequential.mkv"}]
    seq = run_batch(plan_batch(load_manifest(write_manifest(media / "seq.toml", jobs, style="style.png"))),
                    executor="local", threads=1, quiet=True)
    jobs = [{"input": "clips/two_shots.mp4", "output": "out_shots/parallel.mkv"}]
    par = run_batch(plan_batch(load_manifest(write_manifest(media / "par.toml", jobs, style="style.png"))),
                    executor="ray", shot_parallel=True, quiet=True)
    assert seq.results[0].status == par.results[0].status == "ok", (seq.results[0].message, par.results[0].message)
    assert par.results[0].tasks == 4  # shot detection, one task per shot, assembly
    assert par.results[0].report["shots"] == seq.results[0].report["shots"] == [0, 10]
    a, a_pts = decode(media / "out_shots" / "sequential.mkv")
    b, b_pts = decode(media / "out_shots" / "parallel.mkv")
    assert a.shape[0] == b.shape[0] == 20 and a_pts == b_pts
    assert np.array_equal(a, b)
    with open_reader(os.fspath(media / "out_shots" / "parallel.mkv")) as reader:
        assert reader.info.audio, "the assembled clip lost its audio"


def test_shot_parallel_multi_pass_equals_sequential_on_the_local_pool(media: Path) -> None:
    (media / "out_passes").mkdir()
    runs = {}
    for name, kw in (("sequential", {"threads": 1}), ("parallel", {"workers": 2, "shot_parallel": True})):
        jobs = [{"input": "clips/two_shots.mp4", "output": f"out_passes/{name}.mkv"}]
        manifest = write_manifest(media / f"passes_{name}.toml", jobs, style="style.png", passes=2, pass_iterations=1)
        runs[name] = run_batch(plan_batch(load_manifest(manifest)), executor="local", quiet=True, **kw).results[0]
    seq, par = runs["sequential"], runs["parallel"]
    assert seq.status == par.status == "ok", (seq.message, par.message)
    assert par.tasks == 4 and par.report["shots"] == seq.report["shots"] == [0, 10]
    assert [p["frames"] for p in par.report["passes"]] == [p["frames"] for p in seq.report["passes"]] == [20, 20]
    a, a_pts = decode(media / "out_passes" / "sequential.mkv")
    b, b_pts = decode(media / "out_passes" / "parallel.mkv")
    assert a.shape[0] == b.shape[0] == 20 and a_pts == b_pts
    assert np.array_equal(a, b)
