"""Small filesystem helpers shared by the stages: atomic writes (temp file in the same folder, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.

    The file gets the usual permissions (``0666 & ~umask``). An OS error (no space left, read-only file system,
    permission denied) leaves ``path`` untouched, removes the temporary file and is raised as a one-line
    :class:`~videostyle.errors.OutputNotWritableError` naming ``path``.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_error(path, err) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise _write_error(path, err) from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_error(path: Path, err: OSError) -> Exception:
    from .errors import OutputNotWritableError

    reason = err.strerror or type(err).__name__
    return OutputNotWritableError(f"cannot write this file ({reason})", path=path)
