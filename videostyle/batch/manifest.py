"""Batch manifests: TOML, JSON (and YAML when PyYAML is installed) lists of ``stylize`` jobs under shared defaults.

TOML shape::

    [defaults]
    style = "styles/starry.jpg"      # a string or a list of strings
    size = 256
    model = "vgg16-hed"

    [[job]]
    input = "shots/sh010.mp4"
    output = "out/sh010.mp4"

    [[job]]
    name = "sh020"                   # optional label for the summary (default: the input's file name)
    input = "shots/sh020.mov"
    output = "out/sh020.mov"
    iterations = 80                  # a job's keys override the defaults

JSON mirrors it: ``{"defaults": {...}, "job": [{...}, ...]}``. Keys are the ``videostyle stylize`` options with
dashes written as underscores (``max_frames``, ``first_iterations``, ``no_audio`` ...). Relative paths resolve
against the manifest's folder.

Each job's merged mapping is turned into a ``stylize`` argument list and parsed by the CLI's own ``stylize`` parser
(:func:`videostyle.cli._add_stylize_options` and :func:`videostyle.cli.stylize_config_from_args`), so defaults,
types and validation are defined once. Every problem of every job is collected and raised together as one
:class:`ManifestError`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ..config import StylizeConfig
from ..errors import ConfigError, VideostyleError

#: Keys whose values are paths (resolved against the manifest's folder when relative).
PATH_KEYS = frozenset({"input", "output", "style", "weights", "report", "preview", "work_dir"})
#: Keys a manifest may use that are not ``stylize`` options.
EXTRA_KEYS = frozenset({"name"})
#: ``stylize`` options that belong to the ``batch`` command line instead of a manifest.
RESERVED_KEYS = {"quiet": "use `videostyle batch --quiet`"}
TOP_LEVEL_KEYS = ("defaults", "job")


class ManifestError(ConfigError):
    """A manifest that cannot be run; ``problems`` lists every problem found (``str()`` joins them on one line)."""

    def __init__(self, path: str | os.PathLike[str], problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"{os.fspath(path)}: {count}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Job:
    """One job of a manifest: its position (1-based), label, merged options and the parsed configuration."""

    index: int
    name: str
    options: Mapping[str, Any]
    config: StylizeConfig

    @property
    def label(self) -> str:
        """How messages name the job, e.g. ``job 2 (sh020)``."""
        return f"job {self.index} ({self.name})"


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: where it came from and its jobs in order."""

    path: Path
    jobs: tuple[Job, ...]


# --- reading -----------------------------------------------------------------------------------------------------
def read_manifest_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw mapping of a manifest file (format from the extension: .toml, .json, .yaml/.yml)."""
    p = Path(path)
    ext = p.suffix.lower()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("manifest not found", path=p) from None
    except IsADirectoryError:
        raise ConfigError("manifest is a directory, expected a .toml, .json or .yaml file", path=p) from None
    except OSError as err:
        raise ConfigError(f"manifest cannot be read ({err.strerror})", path=p) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("manifest is not UTF-8 text", path=p) from None
    if ext == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef,import-not-found]
            except ModuleNotFoundError:
                raise ConfigError("reading TOML on Python 3.10 needs `pip install tomli` (or use a .json manifest)",
                                  path=p) from None
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"invalid TOML: {err}", path=p) from None
    elif ext == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}", path=p) from None
    elif ext in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ModuleNotFoundError:
            raise ConfigError("YAML manifests need PyYAML (`pip install pyyaml`); or use .toml or .json",
                              path=p) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"invalid YAML: {' '.join(str(err).split())}", path=p) from None
    else:
        raise ConfigError(f"unknown manifest format {ext or '(no extension)'!r}: expected .toml, .json, .yaml or .yml",
                          path=p)
    if not isinstance(data, dict):
        raise ConfigError(f"manifest must be a table/object with 'defaults' and 'job', got {type(data).__name__}",
                          path=p)
    return data


# --- the shared stylize parser -----------------------------------------------------------------------------------
class _ArgumentError(Exception):
    pass


class _RaisingParser(argparse.ArgumentParser):
    """The ``stylize`` parser, raising instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:  # e.g. --help in a manifest value
        raise _ArgumentError(message or f"exit {status}")


@dataclass(frozen=True)
class _Option:
    key: str  # manifest key
    flag: str  # long option, or "" for the positional input
    action: argparse.Action


def _stylize_parser() -> tuple[_RaisingParser, dict[str, _Option]]:
    from ..cli import _add_stylize_options

    parser = _RaisingParser(prog="stylize", add_help=False, allow_abbrev=False)
    _add_stylize_options(parser)
    options: dict[str, _Option] = {}
    for action in parser._actions:
        longs = [s for s in action.option_strings if s.startswith("--")]
        if longs:
            options[longs[0][2:].replace("-", "_")] = _Option(longs[0][2:].replace("-", "_"), longs[0], action)
        elif not action.option_strings:
            options[action.dest] = _Option(action.dest, "", action)
    return parser, options


def option_keys() -> list[str]:
    """Every key a manifest job may use (``stylize`` options with underscores, plus ``name``)."""
    _, options = _stylize_parser()
    return sorted(set(options) - set(RESERVED_KEYS) | EXTRA_KEYS)


def _suggest(key: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _to_argv(label: str, merged: Mapping[str, Any], options: Mapping[str, _Option],
             problems: list[str]) -> list[str]:
    """A ``stylize`` argument list for one job; problems with a key's value are appended to ``problems``."""
    positional: list[str] = []
    argv: list[str] = []
    for key, value in merged.items():
        if key in EXTRA_KEYS or value is None:
            continue
        opt = options[key]
        action = opt.action
        is_flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if is_flag:
            if not isinstance(value, bool):
                problems.append(f"{label}: key {key!r} expects true or false, got {value!r}")
            elif value:
                argv.append(opt.flag)
            continue
        if isinstance(value, bool):
            problems.append(f"{label}: key {key!r} expects a value, not {str(value).lower()}")
            continue
        if isinstance(action, argparse._AppendAction):  # style: a string or a list of strings
            items = value if isinstance(value, list) else [value]
            texts = [_scalar_text(v) for v in items]
            if not items or any(t is None or t == "" for t in texts):
                problems.append(f"{label}: key {key!r} expects a string or a list of strings, got {value!r}")
                continue
            argv += [f"{opt.flag}={text}" for text in texts]
            continue
        if isinstance(value, list):  # comma-separated options (long_term, style_layers, style_blend_weights)
            texts = [_scalar_text(v) for v in value]
            if any(t is None for t in texts) or not texts:
                problems.append(f"{label}: key {key!r} got an invalid list {value!r}")
                continue
            text = ",".join(str(t) for t in texts)
        else:
            scalar = _scalar_text(value)
            if scalar is None:
                problems.append(f"{label}: key {key!r} expects a single value, got {value!r}")
                continue
            text = scalar
        if opt.flag:
            argv.append(f"{opt.flag}={text}")
        else:
            positional.append(text)
    # "--" keeps an input that starts with "-" from being read as an option.
    return argv + ["--", *positional]


_ARG_RE = re.compile(r"argument (?:[-\w]+/)?(--[\w-]+|[a-z_]+):\s*(.*)")


def _explain_argparse(label: str, message: str, merged: Mapping[str, Any], options: Mapping[str, _Option]) -> str:
    """Turn an argparse message into one naming the job, key and value."""
    if "the following arguments are required" in message:
        missing = message.split(":", 1)[1]
        keys = []
        for part in missing.split(","):
            flag = part.strip().split("/")[-1]
            keys.append(flag[2:].replace("-", "_") if flag.startswith("--") else flag)
        return f"{label}: missing required key{'s' if len(keys) > 1 else ''} {', '.join(repr(k) for k in keys)}"
    match = _ARG_RE.search(message)
    if match:
        name = match.group(1)
        key = name[2:].replace("-", "_") if name.startswith("--") else name
        if key in merged:
            return f"{label}: invalid value {merged[key]!r} for key {key!r}: {match.group(2)}"
        return f"{label}: key {key!r}: {match.group(2)}"
    return f"{label}: {message}"


def _resolve_paths(mapping: Mapping[str, Any], base: Path) -> dict[str, Any]:
    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value:
            p = Path(os.path.expanduser(value))
            return os.fspath(p if p.is_absolute() else base / p)
        return value

    out = dict(mapping)
    for key in PATH_KEYS & set(out):
        value = out[key]
        out[key] = [resolve(v) for v in value] if isinstance(value, list) else resolve(value)
    return out


def _default_name(merged: Mapping[str, Any], index: int) -> str:
    name = merged.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    src = merged.get("input")
    if isinstance(src, str) and src:
        return os.path.basename(src.rstrip("/\\")) or src
    return f"#{index}"


def parse_manifest(data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                   source: str | os.PathLike[str] = "manifest") -> Manifest:
    """Parse an already-loaded manifest mapping; relative paths resolve against ``base_dir``.

    Raises :class:`ManifestError` listing every problem (unknown keys with a suggestion, bad values with their
    job, key and value, missing required keys).
    """
    problems: list[str] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            hint = " (did you mean 'job'?)" if key in ("jobs", "Job", "JOB") else _suggest(key, TOP_LEVEL_KEYS)
            problems.append(f"unknown top-level key {key!r}{hint}: expected 'defaults' and 'job'")
    defaults = data.get("defaults", {})
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        problems.append(f"'defaults' must be a table/object, got {type(defaults).__name__}")
        defaults = {}
    jobs_raw = data.get("job")
    if jobs_raw is None:
        problems.append("no jobs: add [[job]] tables (TOML) or a \"job\" list (JSON)")
        jobs_raw = []
    elif isinstance(jobs_raw, dict):
        jobs_raw = [jobs_raw]
    elif not isinstance(jobs_raw, list):
        problems.append(f"'job' must be a list of tables/objects, got {type(jobs_raw).__name__}")
        jobs_raw = []
    elif not jobs_raw:
        problems.append("no jobs: the 'job' list is empty")

    parser, options = _stylize_parser()
    valid = sorted(set(options) - set(RESERVED_KEYS) | EXTRA_KEYS)

    def check_keys(where: str, mapping: Mapping[str, Any]) -> bool:
        ok = True
        for key in mapping:
            if not isinstance(key, str) or key not in valid:
                ok = False
                if key in RESERVED_KEYS:
                    problems.append(f"{where}: key {key!r} is not a manifest option ({RESERVED_KEYS[key]})")
                    continue
                spelled = key.replace("-", "_") if isinstance(key, str) else key
                hint = (f" (write it with underscores: {spelled!r})" if spelled in valid and spelled != key
                        else _suggest(str(key), valid))
                problems.append(f"{where}: unknown key {key!r}{hint}")
        return ok

    defaults_ok = check_keys("defaults", defaults)
    base = Path(base_dir)
    jobs: list[Job] = []
    for i, raw in enumerate(jobs_raw, start=1):
        if not isinstance(raw, dict):
            problems.append(f"job {i}: expected a table/object of options, got {type(raw).__name__}")
            continue
        merged = _resolve_paths({**defaults, **raw}, base)
        name = _default_name(merged, i)
        label = f"job {i} ({name})"
        if not check_keys(label, raw) or not defaults_ok:
            continue
        if "name" in merged and not isinstance(merged["name"], str):
            problems.append(f"{label}: key 'name' expects a string, got {merged['name']!r}")
            continue
        job_problems: list[str] = []
        argv = _to_argv(label, merged, options, job_problems)
        if job_problems:
            problems += job_problems
            continue
        try:
            ns = parser.parse_args(argv)
        except _ArgumentError as err:
            problems.append(_explain_argparse(label, str(err), merged, options))
            continue
        from ..cli import stylize_config_from_args

        try:
            config = stylize_config_from_args(ns)
        except VideostyleError as err:
            problems.append(f"{label}: {err}")
            continue
        jobs.append(Job(index=i, name=name, options=merged, config=config))
    if problems:
        raise ManifestError(source, problems)
    return Manifest(path=Path(source), jobs=tuple(jobs))


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and parse a manifest file; see :func:`parse_manifest`."""
    p = Path(path)
    data = read_manifest_data(p)
    return parse_manifest(data, base_dir=p.resolve().parent, source=p)
