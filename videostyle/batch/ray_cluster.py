"""Connecting to Ray: import it (or say how to install it), join a cluster or start a local instance, with one-line
:class:`~videostyle.errors.ClusterError` failures (at once for a closed port, else after a timeout)."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from .. import config
from ..errors import ClusterError, UsageError


def require_ray() -> Any:
    """Import Ray or raise a one-line UsageError saying how to install it."""
    try:
        import ray
    except ModuleNotFoundError:
        raise UsageError("the ray executor needs Ray: pip install 'videostyle[ray]' "
                         "(or use --executor local)") from None
    return ray


#: Seconds to wait for ``ray.init`` (joining a cluster or starting a local instance) before giving up.
RAY_CONNECT_TIMEOUT = config.RAY_CONNECT_TIMEOUT

_FIX = "check --ray-address, or start the cluster (`ray start --head`), or omit --ray-address for a local instance"


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``ray://HOST:PORT`` or ``HOST:PORT`` (None for ``auto`` and other forms)."""
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    rest = rest.split("/", 1)[0]
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _probe(address: str, timeout: float) -> None:
    """Fail fast, with one line, when the host:port of ``address`` does not accept TCP connections."""
    import socket

    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except socket.timeout:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: no answer within {timeout:g} s; "
                           f"{_FIX}") from None
    except OSError as err:
        why = err.strerror or type(err).__name__
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {why.lower()}; {_FIX}") from None


def _first_line(err: BaseException) -> str:
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)


def _drop_sigterm_warning(record: logging.LogRecord) -> bool:
    """Ray warns that ``ray.init`` off the main thread leaves SIGTERM alone: expected here, not news to users."""
    return "SIGTERM handler is not set" not in record.getMessage()


def _drop_auth_notice(record: logging.LogRecord) -> bool:
    """Ray's notice that its default token authentication is on: nothing for a batch user to act on."""
    return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


def connect_ray(ray: Any, address: str | None, *, workers: int | None = None, quiet: bool = False,
                timeout: float = RAY_CONNECT_TIMEOUT) -> None:
    """``ray.init``: join the cluster at ``address`` (``auto``, ``ray://HOST:PORT``, ``HOST:PORT``) or start a local
    instance (``num_cpus=workers``); raise :class:`ClusterError` (one line) when that fails, or when joining takes
    over ``timeout`` seconds.

    A ``HOST:PORT`` address is probed over TCP first, so a closed port fails at once. Joining runs in a helper
    thread: Ray's client retries an unanswered ``ray://`` address for about half a minute, and a half-dead cluster
    can block longer; after ``timeout`` the batch gives up (the abandoned attempt dies with the process).
    """
    logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(_drop_auth_notice)
    kwargs: dict[str, Any] = {"logging_level": logging.ERROR if quiet else logging.WARNING,
                              "configure_logging": True}
    where = f"the Ray cluster at {address}" if address else "a local Ray instance"
    if address:
        _probe(address, min(timeout, 10.0))
        init_kwargs = dict(address=address, **kwargs)
    else:
        # Workers of a local instance import videostyle from where this process does (a source checkout works
        # without installing it). An address in RAY_ADDRESS must not be joined with num_cpus: start a local one.
        package_parent = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p)
        init_kwargs = dict(address="local", num_cpus=workers, include_dashboard=False,
                           runtime_env={"env_vars": {"PYTHONPATH": path}}, **kwargs)
    box: dict[str, BaseException] = {}

    def init() -> None:
        try:
            with warnings.catch_warnings():  # Ray client's "connection timed out" UserWarning: we say it ourselves
                warnings.simplefilter("ignore")
                ray.init(**init_kwargs)
        except BaseException as err:  # noqa: BLE001 - reported to the caller's thread
            box["error"] = err

    if not address:
        # A local instance starts in this thread: Ray's processes die with the thread that spawned them
        # (PR_SET_PDEATHSIG), so a helper thread would take them down when it ends.
        init()
    else:
        # Joining starts no processes, so a helper thread can wait for it with a timeout.
        worker_logger = logging.getLogger("ray._private.worker")
        worker_logger.addFilter(_drop_sigterm_warning)
        thread = threading.Thread(target=init, name="videostyle-ray-init", daemon=True)
        thread.start()
        thread.join(timeout)
        worker_logger.removeFilter(_drop_sigterm_warning)
        if thread.is_alive():
            raise ClusterError(f"cannot reach {where}: ray.init did not finish within {timeout:g} s; {_FIX}")
    err = box.get("error")
    if err is None:
        return
    if isinstance(err, KeyboardInterrupt):
        raise err
    text = _first_line(err)
    if address == "auto" and "Could not find any running Ray instance" in text:
        raise ClusterError(f"--ray-address auto: no running Ray cluster found on this machine; {_FIX}") from None
    if address:
        raise ClusterError(f"cannot reach {where}: {text}; {_FIX}") from None
    raise ClusterError(f"cannot start {where}: {text}") from None
