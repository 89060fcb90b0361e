"""The work-directory lock (videostyle.video.lock): held, refused with the holder named, taken over from a run
that is gone (a dead process here, a lock of another host left untouched), refreshed, and what --force and a batch
do with it. The two-process cases (two runs at once, --wait-lock, kill -9 then a rerun) are in
tests/test_reliability_faults.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from videostyle._fs import host_name
from videostyle.errors import WorkDirLockedError
from videostyle.video.lock import LOCK_NAME, STALE_SECONDS, WorkDirLock
from videostyle.video.store import FrameStore


def _write_lock(work: Path, host: str, pid: int, age: float = 0.0) -> Path:
    """A lock file as another run would have left it, last touched ``age`` seconds ago."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / LOCK_NAME
    path.write_text(json.dumps({"host": host, "pid": pid, "started": time.time() - age - 60, "token": "theirs"}))
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_held_work_dir_is_refused_naming_the_holder_and_freed_on_release(tmp_path):
    work = tmp_path / "out.mkv.videostyle-work"
    with WorkDirLock(work) as held:
        mine = json.loads((work / LOCK_NAME).read_text())
        assert (mine["host"], mine["pid"]) == (host_name(), os.getpid())
        with pytest.raises(WorkDirLockedError) as err:
            WorkDirLock(work).acquire()
        message = str(err.value)
        assert message.startswith(f"{work}: work directory is in use by another run (host {host_name()}, "
                                  f"process {os.getpid()}, started ")
        assert "--wait-lock" in message and "\n" not in message
        FrameStore(work, "abc", force=True)  # --force empties the work directory but keeps the lock
        assert json.loads((work / LOCK_NAME).read_text())["token"] == held.holder.token
    assert not (work / LOCK_NAME).exists()
    WorkDirLock(work).acquire().release()


def test_a_work_dir_made_for_the_lock_alone_is_removed_with_it(tmp_path):
    with WorkDirLock(tmp_path / "w"):
        pass
    assert not (tmp_path / "w").exists()


def test_the_lock_of_a_dead_process_on_this_host_is_taken_over_with_a_warning(tmp_path):
    pid = _dead_pid()
    _write_lock(tmp_path, host_name(), pid)
    with pytest.warns(RuntimeWarning, match=rf"took the work directory over from a run that is gone \(host "
                                            rf"{host_name()}, process {pid}, "):
        lock = WorkDirLock(tmp_path).acquire()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()


def test_another_hosts_lock_holds_until_it_has_not_been_touched_for_minutes(tmp_path):
    _write_lock(tmp_path, "render-07", 4242, age=STALE_SECONDS - 30)
    with pytest.raises(WorkDirLockedError, match="host render-07, process 4242"):
        WorkDirLock(tmp_path).acquire()
    _write_lock(tmp_path, "render-07", 4242, age=STALE_SECONDS + 30)
    with pytest.warns(RuntimeWarning, match="took the work directory over .*host render-07, process 4242"):
        WorkDirLock(tmp_path).acquire().release()


def test_a_live_holder_on_this_host_is_never_stale(tmp_path):
    _write_lock(tmp_path, host_name(), os.getppid(), age=10 * STALE_SECONDS)
    with pytest.raises(WorkDirLockedError, match=f"process {os.getppid()}"):
        WorkDirLock(tmp_path).acquire()


def test_waiting_warns_once_and_takes_the_lock_when_it_is_free(tmp_path):
    holder = WorkDirLock(tmp_path).acquire()
    waiter = WorkDirLock(tmp_path, wait=True)
    with pytest.warns(RuntimeWarning, match=f"waiting for the run that holds the work directory .*process "
                                            f"{os.getpid()}") as seen:
        assert not waiter.try_acquire()
        assert not waiter.try_acquire()
    assert len(seen) == 1
    holder.release()
    assert waiter.try_acquire()
    waiter.release()


def test_touch_refreshes_the_lock_and_notices_a_takeover(tmp_path):
    lock = WorkDirLock(tmp_path, refresh=3600).acquire()
    path = tmp_path / LOCK_NAME
    os.utime(path, (time.time() - 1000, time.time() - 1000))
    lock.touch()
    assert time.time() - path.stat().st_mtime < 100
    _write_lock(tmp_path, "render-07", 4242)  # judged gone meanwhile, and taken over
    with pytest.warns(RuntimeWarning, match="another run took the work directory over .*render-07"):
        lock.touch()
    assert lock.lost is not None and lock.lost.host == "render-07"
    lock.release()
    assert json.loads(path.read_text())["host"] == "render-07"  # not ours to remove


def test_a_batch_job_whose_work_dir_is_held_fails_alone_or_waits(tmp_path, tiny_stylizers):
    """The batch driver holds each job's lock (its tasks run wherever the executor puts them)."""
    import synthetic
    from videostyle.batch import load_manifest, plan_batch, run_batch
    from videostyle.media import write_image

    scene = synthetic.moving_scene(frames=3, size=(48, 32), occluder=False)
    synthetic.write_clip(tmp_path / "a.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    synthetic.write_clip(tmp_path / "b.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    write_image(tmp_path / "style.png", scene.frames[0])
    def batch(*defaults: str):  # noqa: ANN202
        (tmp_path / "jobs.toml").write_text(
            '[defaults]\nstyle = "style.png"\nsize = 32\niterations = 1\nfirst_iterations = 1\n'
            + "".join(f"{line}\n" for line in defaults)
            + '[[job]]\ninput = "a.mkv"\noutput = "a_out.mkv"\n[[job]]\ninput = "b.mkv"\noutput = "b_out.mkv"\n')
        return run_batch(plan_batch(load_manifest(tmp_path / "jobs.toml")), quiet=True)

    with WorkDirLock(tmp_path / "a_out.mkv.videostyle-work"):
        result = batch()
    held, free = result.results
    assert (held.status, free.status) == ("failed", "ok")
    assert "work directory is in use by another run" in held.message and f"process {os.getpid()}" in held.message
    assert not (tmp_path / "a_out.mkv").exists() and not (tmp_path / "b_out.mkv.videostyle-work" / LOCK_NAME).exists()

    holder = WorkDirLock(tmp_path / "a_out.mkv.videostyle-work").acquire()
    threading.Timer(1.0, holder.release).start()  # the other run ends a moment later
    with pytest.warns(RuntimeWarning, match="waiting for the run that holds the work directory"):
        result = batch("wait_lock = true")
    assert [r.status for r in result.results] == ["ok", "skipped"] and (tmp_path / "a_out.mkv").exists()
