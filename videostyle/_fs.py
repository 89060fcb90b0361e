"""Filesystem helpers shared by the stages: temporary outputs and atomic publishing.

Every output is written under a hidden temporary name beside its final path (``.name.tmp-HOST-PID-XXXX.ext``: same
file system, so the final rename is atomic, and the name says which process owns it) and renamed into place when
complete. Temporaries left by killed processes are removed by the next writer of the same output
(:func:`remove_stale_temporaries`). The media writer (:mod:`videostyle.media.writer`) uses these for streams and
image sequences; :func:`atomic_write` writes a small file at once (``.name.XXXX.tmp``, no scan for stale ones: a
frame store writes thousands).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputNotWritableError


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.

    The file gets the usual permissions (``0666 & ~umask``). An OS error (no space left, read-only file system,
    permission denied) leaves ``path`` untouched, removes the temporary file and is raised as a one-line
    :class:`~videostyle.errors.OutputNotWritableError` naming ``path``.
    """
    path = Path(path)
    try:  # ".name.XXXX.tmp": the whole final name kept, so a frame store's temporaries sort beside their frame
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_error(path, err) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        publishable(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise _write_error(path, err) from None
        raise


def _write_error(path: Path, err: OSError) -> Exception:
    reason = err.strerror or type(err).__name__
    return OutputNotWritableError(f"cannot write this file ({reason})", path=path)


@contextlib.contextmanager
def not_writable(shown: str, directory: str | os.PathLike[str]) -> Iterator[None]:
    """Turn OS errors while creating or moving output files into a one-line OutputNotWritableError."""
    try:
        yield
    except OSError as err:
        raise OutputNotWritableError(
            f"cannot write in {os.fspath(directory)}: {err.strerror or type(err).__name__}", path=shown
        ) from None


def host_name() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:32] or "host"


def temp_prefix(name: str) -> str:
    """``.name.tmp-HOST-PID-``: hidden, and names the process that owns the temporary output."""
    return f".{name}.tmp-{host_name()}-{os.getpid()}-"


def owner_is_gone(entry: str, name: str) -> bool:
    """True for a temporary output of ``name`` written by a process of this host that no longer exists."""
    match = re.match(re.escape(f".{name}.tmp-{host_name()}-") + r"(\d+)-", entry)
    if match is None or int(match.group(1)) == os.getpid():
        return False
    return not process_alive(int(match.group(1)))


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (another user's counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def remove_stale_temporaries(directory: str | os.PathLike[str], name: str, *, max_age: float = 86400.0) -> list[str]:
    """Delete temporary outputs of ``name`` left in ``directory`` by killed writers; returns what was removed.

    A temporary output belongs to a dead writer when it names this host and a process id that no longer exists;
    one from another host (shared storage) is removed only once it is older than ``max_age`` seconds.
    """
    removed: list[str] = []
    head = f".{name}.tmp-"
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(head)]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        try:
            stale = owner_is_gone(entry.name, name) or now - entry.stat(follow_symlinks=False).st_mtime > max_age
            if not stale:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.path)
        except OSError:  # best effort: another process may be cleaning up too
            continue
    return removed


def publishable(tmp: str, *, directory: bool = False) -> None:
    """Give a temporary output the permissions a normally created file would have (mkstemp makes it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, (0o777 if directory else 0o666) & ~umask)


def temp_file(final: Path) -> str:
    """Create ``.name.tmp-HOST-PID-XXXX.ext`` beside ``final`` (same file system, so the final rename is atomic).

    Temporary outputs of ``final`` left by killed runs on this host are deleted first.
    """
    remove_stale_temporaries(final.parent, final.stem)
    with not_writable(os.fspath(final), final.parent):
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(final.stem), suffix=final.suffix, dir=final.parent)
        os.close(fd)
        publishable(tmp)
    return tmp

