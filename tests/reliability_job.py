"""Runs a videostyle command with the tiny random backbone, optionally signalling itself at a chosen point.

Usage: python tests/reliability_job.py [--at POINT:N] [--signal KILL|INT|TERM|STOP] -- videostyle-arguments...

POINT is where the N-th event (1-based) sends the signal to this very process:

* ``decode``   — the N-th frame leaves the reader (background decode thread)
* ``optimise`` — the N-th loss evaluation of the optimiser (in the middle of a frame's optimisation)
* ``store``    — the N-th frame record is about to be written: its PNG is already in place, the record is not
* ``encode``   — the N-th frame goes into the encoder of the output (frames already in the temporary output)
* ``remux``    — the audio remux has muxed every packet, before the container is closed and renamed (N ignored)

``STOP`` suspends the process there (a test continues it with SIGCONT): a run that holds its work directory.

No production code knows about this: the hooks are monkeypatched here, as a user's crash would find them. Exit
codes and messages go through the CLI's error boundary, as a user would see them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from videostyle.cli import main as cli_main

SIGNALS = {"KILL": signal.SIGKILL, "INT": signal.SIGINT, "TERM": signal.SIGTERM, "STOP": signal.SIGSTOP}


def use_tiny_backbone() -> None:
    """Every Stylizer of this process gets the tiny random backbone (plumbing, not quality; no weights needed)."""
    import videostyle.style.stylizer as stylizer
    from videostyle.style.backbones import tiny_backbone

    stylizer.load_backbone = lambda *_args, **_kw: tiny_backbone(0)


def _install(point: str, n: int, signum: int) -> None:
    import videostyle.media.audio as audio
    import videostyle.media.reader as reader
    import videostyle.media.writer as writer
    import videostyle.style.stylizer as stylizer
    import videostyle.video.store as store

    count = {"n": 0}
    fired = {"done": False}

    def tick() -> None:
        count["n"] += 1
        if count["n"] == n and not fired["done"]:
            fired["done"] = True
            os.kill(os.getpid(), signum)

    if point == "decode":
        original_next = reader.FrameReader.__next__

        def next_frame(self):  # type: ignore[no-untyped-def]
            frame = original_next(self)
            tick()
            return frame

        reader.FrameReader.__next__ = next_frame  # type: ignore[method-assign]
    elif point == "optimise":
        original_optimize = stylizer.optimize

        def optimize(x0, loss_fn, **kw):  # type: ignore[no-untyped-def]
            def counted(x):  # type: ignore[no-untyped-def]
                tick()
                return loss_fn(x)

            return original_optimize(x0, counted, **kw)

        stylizer.optimize = optimize
    elif point == "store":
        original_write = store._atomic_write

        def atomic_write(path, data):  # type: ignore[no-untyped-def]
            if str(path).endswith(".json") and os.path.basename(os.path.dirname(str(path))).startswith("p"):
                tick()
            return original_write(path, data)

        store._atomic_write = atomic_write
    elif point == "encode":
        original_encode = writer.VideoWriter._encode

        def encode(self, *args, **kw):  # type: ignore[no-untyped-def]
            result = original_encode(self, *args, **kw)
            tick()
            return result

        writer.VideoWriter._encode = encode  # type: ignore[method-assign]
    elif point == "remux":
        original_close = audio.AudioCopier.close

        def close(self):  # type: ignore[no-untyped-def]
            if self.done:  # every packet muxed: the container is about to be finalised and renamed
                os.kill(os.getpid(), signum)
            return original_close(self)

        audio.AudioCopier.close = close  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown point {point!r}")


def main() -> int:
    argv = sys.argv[1:]
    if "--" not in argv:
        raise SystemExit(__doc__)
    split = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--at", default=None, metavar="POINT:N")
    ap.add_argument("--signal", default="KILL", choices=sorted(SIGNALS))
    ns = ap.parse_args(argv[:split])
    # As if started from a terminal: a job launched in the background by a non-interactive shell (CI, nohup)
    # inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    use_tiny_backbone()
    if ns.at:
        point, _, n = ns.at.partition(":")
        _install(point, int(n or 1), SIGNALS[ns.signal])
    return cli_main(argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main())
