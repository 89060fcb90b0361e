"""Command-line interface: the single place that turns exceptions into one-line errors and exit codes.

Exit codes: 0 success, 1 a job failed (message on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__
from .config import (
    COLOR_MODES,
    CUT_DETECTORS,
    DEVICES,
    FILLS,
    FLOW_METHODS,
    MODELS,
    OPTIMIZERS,
    EncodeConfig,
    RangeConfig,
    StyleConfig,
    StylizeConfig,
    VideoConfig,
)
from .errors import UsageError, VideostyleError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (with a suggestion for unknown options) and exits 2."""

    def error(self, message: str) -> NoReturn:
        if "unrecognized arguments:" in message:
            unknown = message.split("unrecognized arguments:", 1)[1].split()
            known = [opt for action in self._actions for opt in action.option_strings]
            for arg in unknown:
                if arg.startswith("-"):
                    close = difflib.get_close_matches(arg.split("=")[0], known, n=1)
                    if close:
                        message += f" (did you mean {close[0]}?)"
                        break
        elif "invalid choice:" in message and "(did you mean" not in message:
            match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
            if match:
                choices = [c.strip().strip("'") for c in match.group(2).split(",")]
                close = difflib.get_close_matches(match.group(1), choices, n=1)
                if close:
                    message += f" (did you mean {close[0]}?)"
        self.exit(2, f"{self.prog}: error: {message}\n")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return values


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _add_stylize_options(p: argparse.ArgumentParser) -> None:
    d_style, d_video, d_enc = StyleConfig(), VideoConfig(), EncodeConfig()
    p.add_argument("input", help="video file, image sequence (pattern like shot/%%05d.png, or a folder) or image")
    p.add_argument("--style", action="append", required=True, metavar="IMG",
                   help="style image; repeat for several styles")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4 .mov .mkv), image, or image sequence")
    g = p.add_argument_group("video")
    g.add_argument("--size", type=int, default=d_video.size, help="long side of the working resolution (px)")
    g.add_argument("--iterations", type=int, default=d_video.iterations, help="iteration budget per warm frame")
    g.add_argument("--first-iterations", type=int, default=d_video.first_iterations,
                   help="iteration budget for the first frame of each shot")
    g.add_argument("--temporal-weight", type=float, default=d_video.temporal_weight,
                   help="weight of the temporal loss; 0 = independent per-frame stylisation")
    g.add_argument("--long-term", type=_int_list, default=d_video.long_term, metavar="K[,K...]",
                   help="frame offsets of temporal terms, e.g. 1,2,4")
    g.add_argument("--flow", choices=FLOW_METHODS, default=d_video.flow, help="optical-flow backend")
    g.add_argument("--fill", choices=FILLS, default=d_video.fill, help="what fills unreliable pixels of the init")
    g.add_argument("--cut-detector", choices=CUT_DETECTORS, default=d_video.cut_detector)
    g.add_argument("--cut-threshold", type=float, default=None)
    g.add_argument("--passes", type=int, default=d_video.passes,
                   help="sweeps over each shot: 1 forward pass, more alternate backward/forward (Ruder et al.)")
    g.add_argument("--pass-iterations", type=int, default=d_video.pass_iterations,
                   help="iteration budget per frame in passes 2 and later")
    g.add_argument("--seed", type=int, default=d_video.seed)
    g = p.add_argument_group("range")
    g.add_argument("--start", type=float, default=None, metavar="SEC")
    g.add_argument("--duration", type=float, default=None, metavar="SEC")
    g.add_argument("--max-frames", type=int, default=None)
    g = p.add_argument_group("style")
    g.add_argument("--model", choices=MODELS, default=None,
                   help="backbone (default vgg19, falling back to vgg16-hed when offline)")
    g.add_argument("--weights", default=None, metavar="PATH", help="backbone weights file")
    g.add_argument("--device", default=d_style.device, help=f"one of {', '.join(DEVICES)} (or cuda:N)")
    g.add_argument("--pooling", choices=("max", "avg"), default=d_style.pooling)
    g.add_argument("--content-weight", type=float, default=d_style.content_weight)
    g.add_argument("--style-weight", type=float, default=d_style.style_weight)
    g.add_argument("--tv-weight", type=float, default=d_style.tv_weight)
    g.add_argument("--style-blend-weights", type=_float_list, default=None, metavar="W[,W...]")
    g.add_argument("--style-scale", type=float, default=d_style.style_scale)
    g.add_argument("--content-layers", default=",".join(d_style.content_layers))
    g.add_argument("--style-layers", default=",".join(d_style.style_layers))
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=d_style.optimizer)
    g.add_argument("--learning-rate", type=float, default=d_style.learning_rate)
    g.add_argument("--init", choices=("content", "noise"), default=d_style.init)
    g.add_argument("--tolerance", type=float, default=d_style.tolerance,
                   help="stop when the loss improves by less than this (relative) over 50 iterations")
    g.add_argument("--change-tolerance", type=float, default=d_style.change_tolerance, metavar="LEVELS",
                   help="stop when 10 iterations move the image by less than this many 8-bit levels on average "
                        "(0: off)")
    g.add_argument("--levels", type=int, default=d_style.levels, help="coarse-to-fine levels")
    g.add_argument("--color", choices=COLOR_MODES, default=d_style.color, help="colour preservation")
    g.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    g.add_argument("--channels-last", action="store_true")
    g = p.add_argument_group("output")
    g.add_argument("--codec", choices=("h264", "prores", "ffv1", "png", "png16"), default=None)
    g.add_argument("--crf", type=int, default=d_enc.crf)
    g.add_argument("--preset", default=d_enc.preset)
    g.add_argument("--no-audio", action="store_true", help="do not copy the source's audio")
    g.add_argument("--report", default=None, metavar="FILE.json", help="write a JSON report")
    g.add_argument("--preview", default=None, metavar="FILE", help="side-by-side (source | stylised) video")
    g.add_argument("--work-dir", default=None, metavar="DIR", help="frame store (default: beside the output)")
    g.add_argument("--force", action="store_true", help="overwrite the output and restart the frame store")
    g.add_argument("--quiet", action="store_true", help="no progress display")


def stylize_config_from_args(ns: argparse.Namespace) -> StylizeConfig:
    """Build the frozen job configuration from parsed ``stylize`` arguments."""
    style = StyleConfig(
        model=ns.model, weights=ns.weights, pooling=ns.pooling,
        content_layers=tuple(x for x in ns.content_layers.split(",") if x),
        style_layers=tuple(x for x in ns.style_layers.split(",") if x),
        content_weight=ns.content_weight, style_weight=ns.style_weight, tv_weight=ns.tv_weight,
        style_blend_weights=ns.style_blend_weights, style_scale=ns.style_scale,
        optimizer=ns.optimizer, learning_rate=ns.learning_rate, init=ns.init, tolerance=ns.tolerance,
        change_tolerance=ns.change_tolerance,
        levels=ns.levels, color=ns.color, device=ns.device, amp=ns.amp, channels_last=ns.channels_last,
    )
    video = VideoConfig(
        size=ns.size, iterations=ns.iterations, first_iterations=ns.first_iterations,
        temporal_weight=ns.temporal_weight, long_term=ns.long_term, flow=ns.flow, fill=ns.fill,
        cut_detector=ns.cut_detector, cut_threshold=ns.cut_threshold, passes=ns.passes,
        pass_iterations=ns.pass_iterations, seed=ns.seed,
    )
    encode = EncodeConfig(codec=ns.codec, crf=ns.crf, preset=ns.preset, audio=not ns.no_audio)
    rng = RangeConfig(start=ns.start, duration=ns.duration, max_frames=ns.max_frames)
    return StylizeConfig(
        input=ns.input, output=ns.output, styles=tuple(ns.style), style=style, video=video, encode=encode,
        range=rng, work_dir=ns.work_dir, report=ns.report, preview=ns.preview, force=ns.force, quiet=ns.quiet,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="videostyle", description="Turn a video clip into a painting in motion.", allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"videostyle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    parser._commands = sub.choices  # type: ignore[attr-defined]  # for unknown-option suggestions (_parse)

    p = sub.add_parser("stylize", help="stylise a video, image sequence or image")
    _add_stylize_options(p)

    p = sub.add_parser("batch", help="run a manifest (TOML/JSON/YAML) of stylize jobs locally or on Ray")
    p.add_argument("manifest", help="[defaults] + [[job]] tables; keys are stylize options with underscores")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: sequential (or one worker per GPU); ray: a Ray task per job or shot")
    p.add_argument("--ray-address", default=None, metavar="auto|ray://HOST:PORT",
                   help="join this Ray cluster (default: start a local instance)")
    p.add_argument("--workers", type=int, default=None, help="parallel workers (local pool, or local Ray CPUs)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per worker (default 1 in workers)")
    p.add_argument("--max-retries", type=int, default=3, help="Ray retries of a task whose worker died")
    p.add_argument("--ray-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up joining the --ray-address cluster after this long (default 60)")
    p.add_argument("--shot-parallel", action="store_true", help="run each shot of a clip as its own task")
    p.add_argument("--dry-run", action="store_true", help="validate and print the plan; run nothing")
    p.add_argument("--force", action="store_true", help="redo finished outputs and restart their frame stores")
    p.add_argument("--quiet", action="store_true", help="no progress display")

    p = sub.add_parser("probe", help="what a job would see: streams, frames, sizes, shots (no optimisation)")
    p.add_argument("input")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--shots", action="store_true", help="also detect cuts (decodes the whole clip)")
    p.add_argument("--size", type=int, default=None, help="show the working size for this long side")

    p = sub.add_parser("metrics", help="temporal consistency (warping error) and style measures of a result")
    p.add_argument("input", help="the source clip")
    p.add_argument("stylised", help="the stylised clip")
    p.add_argument("--style", default=None, metavar="IMG", help="also measure style/content feature distances")
    p.add_argument("--model", choices=MODELS, default="vgg16-hed", help="backbone for feature distances")
    p.add_argument("--offsets", type=_int_list, default=(1, 2, 4), metavar="K[,K...]",
                   help="frame offsets of the warping error (1 = short-term)")
    p.add_argument("--flow", choices=FLOW_METHODS, default="dis-medium")
    p.add_argument("--every", type=int, default=1, help="feature distances on every N-th frame")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="plot warping error over time")
    return parser


def _print_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _cmd_probe(ns: argparse.Namespace) -> int:
    from .media import probe, working_size

    info = probe(ns.input)
    payload = info.to_dict()
    if ns.size is not None and info.video is not None:
        w, h = working_size(info.video.display_width, info.video.display_height, ns.size)
        payload["working_size"] = [w, h]
    if ns.shots:
        from .video.shots import detect_shots

        payload["shots"] = detect_shots(ns.input)
    if ns.json:
        _print_json(payload)
    else:
        sys.stdout.write(info.describe())
        if "working_size" in payload:
            sys.stdout.write(f"working size: {payload['working_size'][0]}x{payload['working_size'][1]}\n")
        if "shots" in payload:
            sys.stdout.write(f"shots start at frames: {', '.join(map(str, payload['shots']))}\n")
    return 0


def _cmd_stylize(ns: argparse.Namespace) -> int:
    from .video import stylize

    config = stylize_config_from_args(ns)
    stylize(config)
    return 0


def _cmd_metrics(ns: argparse.Namespace) -> int:
    from .metrics import measure_clips, plot_warping_error

    if ns.every < 1:
        raise UsageError(f"invalid --every {ns.every}: must be >= 1")
    if ns.plot:
        from .media import validate_output

        validate_output(ns.plot)
    report = measure_clips(ns.input, ns.stylised, offsets=ns.offsets, method=ns.flow, style=ns.style,
                           model=ns.model, every=ns.every, max_frames=ns.max_frames)
    if ns.plot:
        plot_warping_error(report, ns.plot)
    if ns.json:
        _print_json(report)
        return 0
    lines = [f"{report['stylised']} against {report['input']} at {report['size'][0]}x{report['size'][1]}",
             f"shots start at frames: {', '.join(map(str, report['shots']))}"]
    for k, values in report["warping_error"].items():
        floor = report["input_warping_error"][k]["mean"]
        lines.append(f"warping error k={k}: {values['mean']:.6f}   (input floor {floor:.6f})")
    if "style_distance" in report:
        lines.append(f"style distance ({report['model']}): {report['style_distance']['mean']:.4f}")
        lines.append(f"content distance ({report['model']}): {report['content_distance']['mean']:.4f}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _cmd_batch(ns: argparse.Namespace) -> int:
    from .batch import format_plan, format_summary, load_manifest, plan_batch, run_batch
    from .batch.executors import check_options

    check_options(ns.executor, workers=ns.workers, threads=ns.threads, ray_address=ns.ray_address,
                  max_retries=ns.max_retries, connect_timeout=ns.ray_timeout)
    plan = plan_batch(load_manifest(ns.manifest), force=ns.force, detect_shots=ns.dry_run and ns.shot_parallel)
    if ns.dry_run:
        sys.stdout.write(format_plan(plan, shot_parallel=ns.shot_parallel, executor=ns.executor) + "\n")
        return 0
    result = run_batch(plan, executor=ns.executor, workers=ns.workers, threads=ns.threads,
                       ray_address=ns.ray_address, max_retries=ns.max_retries, shot_parallel=ns.shot_parallel,
                       quiet=ns.quiet, connect_timeout=ns.ray_timeout)
    sys.stdout.write(format_summary(result) + "\n")
    for row in result.failed:
        sys.stderr.write(f"videostyle batch: error: {row.label}: {row.message}\n")
    return result.exit_code


COMMANDS = {"stylize": _cmd_stylize, "probe": _cmd_probe, "metrics": _cmd_metrics, "batch": _cmd_batch}


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; unknown options are reported by the subcommand's parser, which knows its options (suggestion)."""
    ns, extras = parser.parse_known_args(argv)
    if extras:
        sub = getattr(parser, "_commands", {}).get(getattr(ns, "command", None), parser)
        sub.error(f"unrecognized arguments: {' '.join(extras)}")
    return ns


def _terminate(_signum: int, _frame: Any) -> None:
    """SIGTERM (a scheduler pre-empting the job) stops like Ctrl-C: finished frames kept, temporary files removed."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = _parse(parser, argv)
    debug = os.environ.get("VIDEOSTYLE_DEBUG") == "1"
    if not debug:  # warnings as one line each, e.g. the offline backbone fallback
        warnings.formatwarning = lambda message, *_args, **_kw: f"videostyle: warning: {message}\n"
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main else None
    try:
        return COMMANDS[ns.command](ns)
    except VideostyleError as err:
        if debug:
            raise
        sys.stderr.write(f"videostyle {ns.command}: error: {err}\n")
        return err.exit_code
    except KeyboardInterrupt:
        hint = " (finished frames are kept; rerun the same command to resume)" if ns.command in (
            "stylize", "batch") else ""
        sys.stderr.write(f"videostyle {ns.command}: interrupted{hint}\n")
        return 130
    except OSError as err:  # a last line of defence: OS errors no module turned into a message
        if debug:
            raise
        where = f"{err.filename}: " if err.filename else ""
        sys.stderr.write(f"videostyle {ns.command}: error: {where}{err.strerror or err}\n")
        return 1
    except MemoryError:
        sys.stderr.write(f"videostyle {ns.command}: error: out of memory (try a smaller --size)\n")
        return 1
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def run() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
