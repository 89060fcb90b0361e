"""Executors without stylisation: joining Ray (unreachable addresses fail fast with one line), progress across
jobs, and the local executor's one-worker-per-GPU pool.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from videostyle.batch import executors
from videostyle.batch.executors import ClusterError, _PoolBackend, _Progress, _SerialBackend, connect_ray, make_backend
from videostyle.media import write_image
from synthetic import moving_scene, write_clip


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch_exec")
    write_clip(root / "c.mp4", moving_scene(4, (64, 48)).frames, fps=12, audio=False)
    write_image(root / "s.png", (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8))
    path = root / "m.toml"
    path.write_text('[defaults]\nstyle = "s.png"\nsize = 32\n\n[[job]]\ninput = "c.mp4"\noutput = "o.mkv"\n')
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "videostyle", "batch", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return proc, time.monotonic() - t0


# --- joining Ray ---------------------------------------------------------------------------------------------------
@pytest.mark.ray
def test_unreachable_ray_address_is_one_line_exit_1_at_once(manifest: Path) -> None:
    address = f"ray://127.0.0.1:{closed_port()}"
    proc, seconds = run_cli(os.fspath(manifest), "--executor", "ray", "--ray-address", address)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"videostyle batch: error: cannot reach the Ray cluster at {address}: ")
    assert "connection refused" in lines[0] and "--ray-address" in lines[0] and "ray start --head" in lines[0]
    assert proc.stdout == ""  # nothing ran: no summary
    assert not (manifest.parent / "o.mkv").exists() and not (manifest.parent / "o.mkv.videostyle-work").exists()
    assert seconds < 60  # Ray's client alone would retry for about 30 s


@pytest.mark.ray
def test_silent_ray_address_times_out_with_one_line(manifest: Path) -> None:
    # A port that accepts connections but never speaks gRPC: Ray's client would keep retrying.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):  # the server is closed under it when the test ends
            for _ in range(8):
                accepted.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    address = f"ray://127.0.0.1:{server.getsockname()[1]}"
    try:
        proc, _ = run_cli(os.fspath(manifest), "--executor", "ray", "--ray-address", address, "--ray-timeout", "2")
    finally:
        server.close()
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"cannot reach the Ray cluster at {address}: ray.init did not finish within 2 s" in lines[0]
    assert "--ray-address" in lines[0]


@pytest.mark.ray
def test_cli_ray_executor_starts_a_local_instance(manifest: Path) -> None:
    # ray.init runs in the main thread here: Ray's processes die with the thread that started them.
    tiny = manifest.parent / "tiny.toml"
    tiny.write_text('[defaults]\nstyle = "s.png"\nsize = 32\nmodel = "vgg16-hed"\nfirst_iterations = 2\n'
                    'iterations = 1\n\n[[job]]\ninput = "c.mp4"\noutput = "ray_local.mkv"\n')
    proc, _ = run_cli(os.fspath(tiny), "--executor", "ray", "--workers", "1", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "1 jobs: 1 ok, 0 skipped, 0 failed" in proc.stdout and "(ray executor)" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith("batch: jobs 1/1  frames 4/4  "), proc.stderr
    assert "Traceback" not in proc.stderr and "Token authentication" not in proc.stderr, proc.stderr
    assert (manifest.parent / "ray_local.mkv").is_file()


class FakeRay:
    def __init__(self, init: object) -> None:
        self.init = init


def test_connect_ray_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_cluster(**kw: object) -> None:
        raise ConnectionError("Could not find any running Ray instance. Please specify the one to connect to ...")

    with pytest.raises(ClusterError, match=r"--ray-address auto: no running Ray cluster found on this machine; "
                                           r"check --ray-address, or start the cluster") as info:
        connect_ray(FakeRay(no_cluster), "auto")
    assert info.value.exit_code == 1

    def hangs(**kw: object) -> None:
        time.sleep(30)

    t0 = time.monotonic()
    with pytest.raises(ClusterError, match=r"cannot reach the Ray cluster at auto: ray.init did not finish within "
                                           r"0.5 s"):
        connect_ray(FakeRay(hangs), "auto", timeout=0.5)
    assert time.monotonic() - t0 < 5

    seen: dict[str, object] = {}

    def records(**kw: object) -> None:
        seen.update(kw)

    connect_ray(FakeRay(records), None, workers=2)
    # no address: always a new local instance (never a cluster named by RAY_ADDRESS), videostyle importable
    assert seen["address"] == "local" and seen["num_cpus"] == 2
    assert "PYTHONPATH" in seen["runtime_env"]["env_vars"]  # type: ignore[index]

    def breaks(**kw: object) -> None:
        raise RuntimeError("raylet failed to start\nlong details")

    with pytest.raises(ClusterError, match=r"^cannot start a local Ray instance: raylet failed to start$"):
        connect_ray(FakeRay(breaks), None)


# --- progress --------------------------------------------------------------------------------------------------------
def fake_job(index: int, work_dir: Path, frames: int | None) -> SimpleNamespace:
    return SimpleNamespace(job=SimpleNamespace(index=index), config=SimpleNamespace(force=False), work_dir=work_dir,
                           frames=frames, passes=1)


def store_frames(work_dir: Path, indices: range) -> None:
    folder = work_dir / "frames" / "p1"
    folder.mkdir(parents=True, exist_ok=True)
    for i in indices:
        (folder / f"{i:06d}.json").write_text(json.dumps({"index": i}))


def test_progress_counts_jobs_and_frames_with_an_eta(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    store_frames(a, range(2))  # resumed frames count as done but not towards the rate
    stream = io.StringIO()
    jobs: list = [fake_job(1, a, 10), fake_job(2, b, 10)]
    progress = _Progress(jobs, quiet=False, stream=stream, interval=3600)
    try:
        time.sleep(0.2)
        store_frames(a, range(2, 6))
        line = progress.status()
        assert line.startswith("batch: jobs 0/2  frames 6/20  ") and re.search(r"ETA \d+:\d\d$", line), line
        progress.job_done(1, "failed")  # its 4 missing frames will not come
        store_frames(b, range(10))
        progress.job_done(2, "ok")
    finally:
        progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("batch: jobs 1/2 (1 failed)  frames 6/16  ")
    assert lines[1].startswith("batch: jobs 2/2 (1 failed)  frames 16/16  ") and " done in 0:0" in lines[1]


def test_progress_unknown_frame_counts_and_terminal(tmp_path: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    jobs: list = [fake_job(1, tmp_path / "a", None), fake_job(2, tmp_path / "b", None)]
    progress = _Progress(jobs, quiet=False, stream=stream, interval=3600)
    assert progress.status() == "batch: jobs 0/2  frames 0/?  ETA ?"
    store_frames(tmp_path / "a", range(3))
    progress.job_done(1, "ok")
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\rbatch: jobs 1/2  frames 3/?  ") and "ETA ~0:0" in text and text.endswith("\n")


def test_quiet_progress_writes_nothing(tmp_path: Path) -> None:
    stream = io.StringIO()
    jobs: list = [fake_job(1, tmp_path, 4)]
    progress = _Progress(jobs, quiet=True, stream=stream, interval=0.01)
    time.sleep(0.1)
    progress.job_done(1, "ok")
    progress.close()
    assert stream.getvalue() == "" and progress.lines == []


# --- the local executor ------------------------------------------------------------------------------------------
def report_gpu(delay: float, threads: int | None = None) -> tuple[int, str | None]:
    """Runs in a pool worker: which GPU the worker was pinned to."""
    time.sleep(delay)  # long enough that both workers take a task
    return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")


def test_local_executor_is_one_worker_per_visible_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "visible_gpus", lambda: 0)
    assert isinstance(make_backend("local"), _SerialBackend)  # no GPU: sequential in this process
    monkeypatch.setattr(executors, "visible_gpus", lambda: 1)
    assert isinstance(make_backend("local"), _SerialBackend)
    monkeypatch.setattr(executors, "visible_gpus", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,7")  # a scheduler gave this job GPUs 3 and 7
    backend = make_backend("local")
    assert isinstance(backend, _PoolBackend) and backend.max_in_flight == 2 and backend.threads == 1
    try:
        handles = [backend.submit(report_gpu, (3.0,), f"job {i}") for i in range(2)]  # type: ignore[arg-type]
        results = [h.result(timeout=120) for h in handles]
    finally:
        backend.close()
    assert len({pid for pid, _ in results}) == 2, results
    assert sorted(gpu for _, gpu in results) == ["3", "7"], results  # each worker pinned to its own GPU
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")  # one GPU: nothing to pin, sequential in this process
    assert isinstance(make_backend("local"), _SerialBackend)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    make_backend("local", workers=3).close()  # --workers overrides the GPU count
