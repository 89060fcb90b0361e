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

Each job's merged mapping is parsed by the option schema (:meth:`videostyle.config.StylizeConfig.from_mapping`),
the same one the ``stylize`` command line is built from, so defaults, types and validation are defined once. Every
problem of every job is collected and raised together as one :class:`ManifestError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._checks import did_you_mean
from .. import _schema
from .._schema import unknown_key
from ..config import StylizeConfig
from ..errors import ConfigError, ManifestError, OptionsError

#: Keys a manifest may use that are not ``stylize`` options.
EXTRA_KEYS = frozenset({"name"})
#: ``stylize`` options that belong to the ``batch`` command line instead of a manifest.
RESERVED_KEYS = {"quiet": "use `videostyle batch --quiet`"}
TOP_LEVEL_KEYS = ("defaults", "job")


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


# --- keys ---------------------------------------------------------------------------------------------------------
def option_keys() -> list[str]:
    """Every key a manifest job may use (``stylize`` options with underscores, plus ``name``)."""
    return sorted(set(StylizeConfig.option_keys()) - set(RESERVED_KEYS) | EXTRA_KEYS)


def path_keys() -> frozenset[str]:
    """The keys whose values are paths (resolved against the manifest's folder when relative): the options the
    schema declares ``path=True``."""
    return frozenset(o.key for o in _schema.options(StylizeConfig) if o.spec.path)


def _resolve_paths(mapping: Mapping[str, Any], base: Path) -> dict[str, Any]:
    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value:
            p = Path(os.path.expanduser(value))
            return os.fspath(p if p.is_absolute() else base / p)
        return value

    out = dict(mapping)
    for key in path_keys() & set(out):
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
            hint = " (did you mean 'job'?)" if key in ("jobs", "Job", "JOB") else did_you_mean(key, TOP_LEVEL_KEYS)
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

    valid = option_keys()

    def check_keys(where: str, mapping: Mapping[str, Any]) -> bool:
        ok = True
        for key in mapping:
            if not isinstance(key, str) or key not in valid:
                ok = False
                if key in RESERVED_KEYS:
                    problems.append(f"{where}: key {key!r} is not a manifest option ({RESERVED_KEYS[key]})")
                    continue
                problems.append(f"{where}: {unknown_key(key, valid)}")
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
        try:
            config = StylizeConfig.from_mapping({k: v for k, v in merged.items() if k not in EXTRA_KEYS},
                                                where=label)
        except OptionsError as err:
            problems += err.problems
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
