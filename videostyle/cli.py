"""Command-line interface: the single place that turns exceptions into one-line errors and exit codes.

Exit codes: 0 success, 1 a job failed (message on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__
from . import _schema
from ._checks import did_you_mean
from .config import RAY_CONNECT_TIMEOUT, RAY_MAX_RETRIES, StyleConfig, StylizeConfig
from .errors import UsageError, VideostyleError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exits 2 (suggestions are added by :func:`_parse`)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _list_of(kind: type, words: str) -> Any:
    """argparse ``type=`` for a non-empty comma-separated list of ``kind`` (``1,2,4``)."""
    def parse(text: str) -> tuple[Any, ...]:
        try:
            values = tuple(kind(part) for part in text.split(",") if part.strip())
        except ValueError:
            values = ()
        if not values:
            raise argparse.ArgumentTypeError(f"expected comma-separated {words}, got {text!r}")
        return values

    return parse


_int_list = _list_of(int, "integers")
_number_list = _list_of(float, "numbers")

#: ``stylize`` options that ``metrics`` and ``look`` take too (from the schema: same flags, defaults and checks)
METRICS_OPTIONS = ("model", "flow", "max_frames")
LOOK_OPTIONS = ("model", "weights", "device", "input_colorspace", "seed")


#: groups of the ``stylize`` help, by the config field holding the options (top-level fields: "output")
_GROUPS = {"video": "video", "range": "range", "style": "style", "encode": "output", "fast": "fast mode"}
#: options grouped by their key instead (the artists' controls, from several config classes)
_KEY_GROUPS = dict.fromkeys(("mask", "mask_feather", "outside_style", "style_schedule"),
                             "mattes and style schedules")


def _converter(option: _schema.Option, *, check: bool = False) -> Any:
    """argparse ``type=`` for an option: the schema's conversion (validation happens in the config; ``check``:
    here, for commands that build no config)."""
    def convert(text: str) -> Any:
        try:
            value = option.convert(text)
            if check:
                option.check(value)
            return value
        except UsageError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix(f"key {option.key!r}: ")) from None

    convert.__name__ = option.kind.__name__  # argparse names the type in some messages
    return convert


def add_options(parser: argparse.ArgumentParser, cls: type = StylizeConfig, *,
                only: Sequence[str] | None = None) -> None:
    """Add an argument for every option of the config class ``cls`` (the schema in :mod:`videostyle.config`).

    ``only``: just these keys, in one group, each checked as it is parsed (``look`` and ``metrics`` share
    ``stylize``'s options this way: the same flags, help, defaults and checks)."""
    groups: dict[str, Any] = {}
    order = list(_KEY_GROUPS)  # the controls' group in this order, after the others
    chosen = [o for o in _schema.options(cls) if only is None or o.key in only]
    if only is not None and len(chosen) != len(only):
        raise TypeError(f"unknown option keys {sorted(set(only) - {o.key for o in chosen})}")
    for option in sorted(chosen, key=lambda o: order.index(o.key) if o.key in order else -1):
        spec = option.spec
        kwargs: dict[str, Any] = {"help": spec.help or None, "dest": option.key}
        if spec.positional:
            del kwargs["dest"]
            parser.add_argument(option.key, type=_converter(option), **kwargs)
            continue
        names = [n for n in (spec.short, option.flag) if n]
        if option.kind is bool:
            kwargs["action"] = "store_true"
        else:
            kwargs["type"] = _converter(option, check=only is not None) if not spec.repeat else str
            kwargs["action"] = "append" if spec.repeat else "store"
            kwargs["default"] = None if spec.repeat else option.default
            kwargs["metavar"] = spec.metavar or ("{" + ",".join(spec.choices) + "}" if spec.choices else None)
        kwargs["required"] = spec.required
        group_name = "shared with stylize" if only is not None else _KEY_GROUPS.get(option.key) or (
            _GROUPS.get(option.path[0]) if len(option.path) > 1 else ("output" if not spec.required else None))
        if group_name is None:
            target: Any = parser
        else:
            target = groups.get(group_name) or groups.setdefault(group_name, parser.add_argument_group(group_name))
        target.add_argument(*names, **kwargs)


def config_from_args(ns: argparse.Namespace, cls: type = StylizeConfig) -> Any:
    """The config of parsed arguments (:func:`add_options`); values are validated by the config itself."""
    values = {}
    for option in _schema.options(cls):
        value = getattr(ns, option.key)
        if option.kind is bool and not value:
            continue  # an absent flag: the field's default
        values[option.key] = value
    return cls.from_mapping(values, name_keys=False)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="videostyle", description="Turn a video clip into a painting in motion.", allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"videostyle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    parser._commands = sub.choices  # type: ignore[attr-defined]  # for unknown-option suggestions (_parse)

    p = sub.add_parser("stylize", help="stylise a video, image sequence or image")
    add_options(p)
    p.add_argument("--amp", dest="precision", action="store_const", const="bf16", help="alias of --precision bf16")

    p = sub.add_parser("batch", help="run a manifest (TOML/JSON/YAML) of stylize jobs locally or on Ray")
    p.add_argument("manifest", help="[defaults] + [[job]] tables; keys are stylize options with underscores")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: sequential (or one worker per GPU); ray: a Ray task per job or shot")
    p.add_argument("--ray-address", default=None, metavar="auto|ray://HOST:PORT",
                   help="join this Ray cluster (default: start a local instance)")
    p.add_argument("--workers", type=int, default=None, help="parallel workers (local pool, or local Ray CPUs)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per worker (default 1 in workers)")
    p.add_argument("--max-retries", type=int, default=RAY_MAX_RETRIES,
                   help="Ray retries of a task whose worker died")
    p.add_argument("--ray-timeout", type=float, default=RAY_CONNECT_TIMEOUT, metavar="SECONDS",
                   help=f"give up joining the --ray-address cluster after this long (default {RAY_CONNECT_TIMEOUT:g})")
    p.add_argument("--shot-parallel", action="store_true", help="run each shot of a clip as its own task")
    p.add_argument("--dry-run", action="store_true", help="validate and print the plan; run nothing")
    p.add_argument("--strict", action="store_true",
                   help="refuse the whole batch when any job is invalid (default: invalid jobs fail alone)")
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
    p.add_argument("--offsets", type=_int_list, default=(1, 2, 4), metavar="K[,K...]",
                   help="frame offsets of the warping error (1 = short-term)")
    p.add_argument("--every", type=int, default=1, help="feature distances on every N-th frame")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_options(p, only=METRICS_OPTIONS)
    p.add_argument("--plot", default=None, metavar="FILE.png", help="plot warping error over time")

    from .look import LOOK_ITERATIONS, LOOK_SIZE, default_weights

    p = sub.add_parser("look", help="one keyframe per style x style weight in a labelled sheet, to choose a look")
    p.add_argument("input", help="video, image sequence or image")
    p.add_argument("--style", action="append", required=True, metavar="IMG", help="style image; repeat for more")
    p.add_argument("-o", "--output", required=True, metavar="SHEET.png", help="the contact sheet (.png or .jpg)")
    p.add_argument("--style-weight", type=_number_list, default=None, metavar="W[,W...]",
                   help=f"style weights to try (default {','.join(f'{w:g}' for w in default_weights())}: "
                        "the stylize default x0.2, x1, x5)")
    p.add_argument("--at", type=float, default=None, metavar="SEC", help="keyframe time (default: mid-clip)")
    p.add_argument("--size", type=int, default=LOOK_SIZE, help=f"long side of each cell (default {LOOK_SIZE})")
    p.add_argument("--iterations", type=int, default=LOOK_ITERATIONS,
                   help=f"iteration budget per cell (default {LOOK_ITERATIONS})")
    p.add_argument("--force", action="store_true", help="overwrite the sheet")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    add_options(p, only=LOOK_OPTIONS)
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

    config = config_from_args(ns)
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
    start = f" from {report['source_start']:.3f} s" if report["source_start"] else ""
    lines = [f"{report['stylised']} against {report['input']}{start} at {report['size'][0]}x{report['size'][1]}, "
             f"{report['frames']} frames",
             f"shots start at frames: {', '.join(map(str, report['shots']))}"]
    for k, values in report["warping_error"].items():
        floor = report["input_warping_error"][k]["mean"]
        boundary = report["warping_error_boundary_masked"][k]["mean"]
        lines.append(f"warping error k={k}: {values['mean']:.6f}   (input floor {floor:.6f}; "
                     f"{boundary:.6f} with motion boundaries left out too)")
    moving = report["moving_stylization"]
    if moving["ratio"] is not None:
        lines.append(f"moving-content stylisation: {moving['ratio']:.3f}   (moving/new pixels against static ones, "
                     f"{100 * moving['moving_share']:.0f} % of the pixels; ~1 = painted alike)")
    if "style_distance" in report:
        grid_free = report["style_distance_grid_free"]["mean"]
        lines.append(f"style distance ({report['model']}): {report['style_distance']['mean']:.4f}" + (
            f"   ({grid_free:.4f} grid-free: at pixel alignments no frame was optimised at)"
            if grid_free is not None else ""))
        lines.append(f"content distance ({report['model']}): {report['content_distance']['mean']:.4f}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _cmd_batch(ns: argparse.Namespace) -> int:
    from .batch import format_plan, format_summary, load_manifest, plan_batch, run_batch
    from .batch.executors import check_options

    check_options(ns.executor, workers=ns.workers, threads=ns.threads, ray_address=ns.ray_address,
                  max_retries=ns.max_retries, connect_timeout=ns.ray_timeout)
    plan = plan_batch(load_manifest(ns.manifest), force=ns.force, detect_shots=ns.dry_run and ns.shot_parallel,
                      strict=ns.strict or ns.dry_run, create_dirs=True)
    if ns.dry_run:
        sys.stdout.write(format_plan(plan, shot_parallel=ns.shot_parallel, executor=ns.executor) + "\n")
        return 0
    for pj in plan.invalid:  # reported before any work starts; they fail alone
        sys.stderr.write(f"videostyle batch: error: {pj.reason}\n")
    result = run_batch(plan, executor=ns.executor, workers=ns.workers, threads=ns.threads,
                       ray_address=ns.ray_address, max_retries=ns.max_retries, shot_parallel=ns.shot_parallel,
                       quiet=ns.quiet, connect_timeout=ns.ray_timeout)
    sys.stdout.write(format_summary(result) + "\n")
    invalid = {pj.job.index for pj in plan.invalid}
    for row in (r for r in result.failed if r.index not in invalid):
        sys.stderr.write(f"videostyle batch: error: {row.label}: {row.message}\n")
    return result.exit_code


def _cmd_look(ns: argparse.Namespace) -> int:
    from .look import check_look, render_look

    style = StyleConfig(model=ns.model, weights=ns.weights, device=ns.device)
    check_look(ns.input, ns.style, ns.output, weights=ns.style_weight, at=ns.at, size=ns.size, style=style,
               colorspace=ns.input_colorspace, force=ns.force)  # before the progress bar
    bar = None
    if not ns.quiet:
        from tqdm import tqdm

        count = len(ns.style) * len(ns.style_weight or (0, 0, 0))
        bar = tqdm(total=count, unit="cell", file=sys.stderr, desc="look", dynamic_ncols=True)
    try:
        report = render_look(ns.input, ns.style, ns.output, weights=ns.style_weight, at=ns.at, size=ns.size,
                             iterations=ns.iterations, style=style, colorspace=ns.input_colorspace, seed=ns.seed,
                             force=ns.force, on_cell=(lambda _cell: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    lines = [f"{report['output']}: frame at {report['at']:.2f} s, {report['size'][0]}x{report['size'][1]}, "
             f"{report['iterations']} iterations, {report['model']}, {report['seconds']:.0f} s"]
    lines += [f"  {os.path.basename(c['style'])}  style weight {c['weight']:g}  ({c['seconds']:.1f} s)"
              for c in report["cells"]]
    lines.append(f"use a look: videostyle stylize {ns.input} --style STYLE --style-weight W -o OUTPUT")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


COMMANDS = {"stylize": _cmd_stylize, "probe": _cmd_probe, "metrics": _cmd_metrics, "batch": _cmd_batch,
            "look": _cmd_look}


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; an unknown command or option is reported with the closest known one."""
    args = list(sys.argv[1:] if argv is None else argv)
    commands = getattr(parser, "_commands", {})
    first = next((a for a in args if not a.startswith("-")), None)
    if first is not None and first not in commands and not any(a in ("-h", "--help", "--version") for a in args):
        parser.error(f"argument command: invalid choice: {first!r} (choose from {', '.join(commands)})"
                     + did_you_mean(first, commands, quote=False))
    ns, extras = parser.parse_known_args(args)
    if extras:
        sub = commands.get(getattr(ns, "command", None), parser)
        known = [opt for action in sub._actions for opt in action.option_strings]
        unknown = next((a.split("=")[0] for a in extras if a.startswith("-")), "")
        sub.error(f"unrecognized arguments: {' '.join(extras)}" + did_you_mean(unknown, known, quote=False))
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
