"""Runs one small stylisation job with the tiny random backbone, for tests that kill or interrupt a real process.

Usage: python tests/video_job.py INPUT STYLE OUTPUT WORK_DIR [--iterations N] [--first-iterations N]
       [--temporal-weight W] [--long-term 1,2] [--change-tolerance LEVELS] [--fast STEPS]
With ``--fast STEPS`` the job runs in fast mode (keyframes every 4 frames, STEPS training steps, a checkpoint after
every step so that a kill mid-training finds one).
Exit codes and messages go through the CLI's error boundary, as a user would see them.
"""

from __future__ import annotations

import argparse
import signal
import sys

from videostyle.cli import main as cli_main


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("style")
    ap.add_argument("output")
    ap.add_argument("work_dir")
    ap.add_argument("--iterations", default="4")
    ap.add_argument("--first-iterations", default="8")
    ap.add_argument("--temporal-weight", default="200")
    ap.add_argument("--long-term", default="1")
    ap.add_argument("--size", default="64")
    ap.add_argument("--change-tolerance", default="1.0")
    ap.add_argument("--fast", default=None, metavar="STEPS")
    ns = ap.parse_args()
    # As if started from a terminal: a job launched in the background by a non-interactive shell (CI, nohup)
    # inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    import videostyle.video.engine as engine
    from videostyle.style.backbones import tiny_backbone

    original = engine.run_frames

    def run_frames_tiny(config, **kw):  # the tiny backbone stands in for VGG: plumbing, not quality
        if kw.get("backbone") is None:
            kw["backbone"] = tiny_backbone(0)
        return original(config, **kw)

    engine.run_frames = run_frames_tiny
    fast = []
    if ns.fast is not None:
        import videostyle.fast.train as train

        train.CHECKPOINT_SECONDS = 0.0
        fast = ["--mode", "fast", "--train-steps", ns.fast, "--keyframe-every", "4"]
    return cli_main([
        "stylize", ns.input, "--style", ns.style, "-o", ns.output, "--work-dir", ns.work_dir,
        "--size", ns.size, "--iterations", ns.iterations, "--first-iterations", ns.first_iterations,
        "--temporal-weight", ns.temporal_weight, "--long-term", ns.long_term, "--change-tolerance", ns.change_tolerance,
        "--quiet", "--seed", "3", *fast,
    ])


if __name__ == "__main__":
    sys.exit(main())
