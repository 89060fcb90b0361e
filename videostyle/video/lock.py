"""The work-directory lock: one run at a time computes into a frame store.

A run (``stylize``; a batch driver for each of its jobs, whose tasks may run elsewhere) holds ``lock.json`` in the
work directory for the life of the job. The file is created exclusively (``O_CREAT | O_EXCL``) and names the
holder: host, process id, start time and a random token. While the run works a background thread touches it every
:data:`REFRESH_SECONDS`. Another run on the same work directory finds it and stops at once with
:class:`~videostyle.errors.WorkDirLockedError` naming the holder, or (``wait``) polls until the holder is done and
then goes on from the frames it stored.

A lock whose holder is gone is taken over with a warning: on this host when its process no longer exists (a killed
run), from another host (a shared file system) when it has not been touched for :data:`STALE_SECONDS`. A takeover
runs under an exclusive ``flock`` of ``lock.json.takeover``, so that two runs cannot both replace one stale lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .._fs import host_name, process_alive
from ..errors import FrameStoreError, WorkDirLockedError

#: the lock file in the work directory, and the file a takeover holds a ``flock`` on
LOCK_NAME = "lock.json"
TAKEOVER_NAME = LOCK_NAME + ".takeover"
#: seconds between the holder's touches of the lock file
REFRESH_SECONDS = 30.0
#: a lock of another host untouched for this long belongs to a run that is gone
STALE_SECONDS = 300.0
#: seconds between looks at a held lock while waiting for it
POLL_SECONDS = 1.0


def work_dir_error(root: Path, err: OSError) -> FrameStoreError:
    """The one-line error of a work directory that cannot be created or written."""
    return FrameStoreError(f"work directory cannot be created or written ({err.strerror})", path=root)


@dataclass(frozen=True)
class Holder:
    """Who holds a work directory."""

    host: str
    pid: int
    started: float  # seconds since the epoch
    token: str

    def describe(self) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"host {self.host}, process {self.pid}, started {started}"


def _describe(holder: Holder | None) -> str:
    return holder.describe() if holder is not None else "a run still writing its lock file"


class WorkDirLock:
    """The lock of the work directory ``root`` (created when missing): a context manager held for a job's life.

    ``wait``: when another run holds it, poll every ``poll`` seconds (one warning says whom it waits for) instead
    of raising :class:`~videostyle.errors.WorkDirLockedError`. ``refresh`` and ``stale``: see the module doc.
    """

    def __init__(self, root: str | os.PathLike[str], *, wait: bool = False, poll: float = POLL_SECONDS,
                 refresh: float = REFRESH_SECONDS, stale: float = STALE_SECONDS) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self.wait, self.poll, self.refresh, self.stale = wait, poll, refresh, stale
        self.holder = Holder(host_name(), os.getpid(), time.time(), secrets.token_hex(8))
        #: the run that took the lock over from this one (it was judged gone), if that happened
        self.lost: Holder | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._made_root = False  # the work directory was made for this lock
        self._waiting = False  # the warning that this run waits was given

    # --- holding ---------------------------------------------------------------------------------------------------
    def acquire(self) -> WorkDirLock:
        """Take the lock (see the class doc), waiting for it with ``wait``; start refreshing it."""
        while not self.try_acquire():
            time.sleep(self.poll)
        return self

    def try_acquire(self) -> bool:
        """One attempt: True when the lock is now this run's (refreshed from here on). While another run holds it,
        raise :class:`~videostyle.errors.WorkDirLockedError`, or with ``wait`` warn once and return False."""
        if self._thread is not None:
            return True
        try:
            self._made_root = self._made_root or not self.root.exists()
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise work_dir_error(self.root, err) from None
        while not self._create():
            other, age = self._current()
            if age is None:  # released meanwhile
                continue
            if other is None and age < self.poll:  # its writer is still writing it: read it again, to name it
                time.sleep(min(0.02, self.poll))
                continue
            if not self._gone(other, age):
                if not self.wait:
                    raise WorkDirLockedError(f"work directory is in use by another run ({_describe(other)}); rerun "
                                             "with --wait-lock to wait for it, or choose another --work-dir",
                                             path=self.root)
                if not self._waiting:
                    warnings.warn(f"{self.root}: waiting for the run that holds the work directory "
                                  f"({_describe(other)})", RuntimeWarning, stacklevel=2)
                    self._waiting = True
                return False
            if self._take_over(other):
                warnings.warn(f"{self.root}: took the work directory over from a run that is gone "
                              f"({_describe(other)})", RuntimeWarning, stacklevel=2)
                break
        self._thread = threading.Thread(target=self._keep_fresh, name="videostyle-work-dir-lock", daemon=True)
        self._thread.start()
        return True

    def release(self) -> None:
        """Stop refreshing and remove the lock (unless another run took it over); a work directory this lock
        created and nothing else filled is removed too."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        other, _age = self._current()
        if other is not None and other.token == self.holder.token:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        if self._made_root:
            with contextlib.suppress(OSError):
                os.rmdir(self.root)

    def __enter__(self) -> WorkDirLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    # --- the lock file ---------------------------------------------------------------------------------------------
    def _create(self) -> bool:
        """Create the lock file naming this run; False when it exists."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        except OSError as err:
            raise work_dir_error(self.root, err) from None
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(dataclasses.asdict(self.holder), fh)
        except OSError as err:  # a full disk: leave neither the lock nor a work directory made for it
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            if self._made_root:
                with contextlib.suppress(OSError):
                    os.rmdir(self.root)
            raise work_dir_error(self.root, err) from None
        return True

    def _current(self) -> tuple[Holder | None, float | None]:
        """The holder the lock file names (None when it cannot be read: being written, or damaged) and the seconds
        since it was last touched (None when there is no lock file)."""
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return None, None
        except OSError:  # there, but not ours to look at: held, by whom unknown
            return None, 0.0
        try:
            data = json.loads(self.path.read_text())
            return Holder(str(data["host"]), int(data["pid"]), float(data["started"]), str(data["token"])), age
        except (OSError, ValueError, KeyError, TypeError):
            return None, age

    def _gone(self, other: Holder | None, age: float) -> bool:
        """Whether the run holding the lock has gone (see the module doc)."""
        if other is not None and other.host == self.holder.host:
            return not process_alive(other.pid)
        return age > self.stale  # another host's, or a file its writer never finished

    def _take_over(self, seen: Holder | None) -> bool:
        """Replace the lock of a run that is gone by this run's, unless another run did first."""
        with self._takeover_guard():
            other, age = self._current()
            if age is not None and (other != seen or not self._gone(other, age)):
                return False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return self._create()

    @contextlib.contextmanager
    def _takeover_guard(self) -> Iterator[None]:
        """An exclusive ``flock`` of :data:`TAKEOVER_NAME` (best effort where the file system has none)."""
        try:
            import fcntl

            fd = os.open(self.root / TAKEOVER_NAME, os.O_CREAT | os.O_RDWR, 0o644)
        except (ImportError, OSError):
            yield
            return
        try:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    # --- refreshing ------------------------------------------------------------------------------------------------
    def _keep_fresh(self) -> None:
        while not self._stop.wait(self.refresh) and self.lost is None:
            self.touch()

    def touch(self) -> None:
        """Refresh the lock file's time (the background thread calls this every ``refresh`` seconds). When another
        run took it over meanwhile, warn once and record it in :attr:`lost`; a lock file removed under the run is
        made again."""
        other, age = self._current()
        if other is not None and other.token == self.holder.token:
            with contextlib.suppress(OSError):
                os.utime(self.path)
        elif age is None:
            with contextlib.suppress(FrameStoreError):
                self._create()
        elif other is not None:
            self.lost = other
            warnings.warn(f"{self.root}: another run took the work directory over ({other.describe()}); this run "
                          "was judged gone and both now write into it", RuntimeWarning, stacklevel=2)
