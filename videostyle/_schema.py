"""The machinery behind the option schema of :mod:`videostyle.config` (no argparse here, no files).

A config field declares its option with ``field(default=..., metadata=opt("help", ...))``. From that one place:

* :func:`validate` checks a dataclass instance (``__post_init__``: Python API, CLI and manifests alike);
* :func:`options` lists every option of a (nested) config class with its key, flag, type and default, which the CLI
  turns into ``argparse`` arguments (:mod:`videostyle.cli`);
* :func:`build` turns a mapping of option keys to values (a manifest job, CLI results, a dict) into the config,
  collecting every problem with its key and value.

An option's *key* is its long flag without the dashes, dashes written as underscores (``--max-frames`` →
``max_frames``); it is what manifests use.

Each option also declares what it changes (``effect``): ``frames`` (the stylised frames: it enters the frame
store's hash, :func:`values`), ``output`` (only what is written from the stored frames: encoding, reports),
``speed`` (only how fast) or ``run`` (how the run behaves: work folder, --force, --quiet); and whether it is a
``path`` (resolved beside a manifest when relative). The frame store, the manifest reader and the options
reference (``docs/options.md``) read these declarations; nothing lists the options again.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._checks import check_choice, check_number, did_you_mean, is_number
from .errors import OptionError, OptionsError, UsageError

_META = "videostyle.option"
#: what an option may change (``Opt.effect``)
EFFECTS = ("frames", "output", "speed", "run")


@dataclass(frozen=True)
class Opt:
    """What :func:`opt` records on a field."""

    help: str = ""
    flag: str | None = None  # long flag; default: --field-name
    short: str | None = None  # e.g. "-o"
    positional: bool = False
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None  # inclusive
    above: float | None = None  # exclusive lower bound
    maximum: float | None = None
    check: Callable[[str, Any], None] | None = None  # extra check of a (non-None) value: check(key, value)
    negate: bool = False  # a bool field set by a --no-X flag (key no_x means field = not value)
    repeat: bool = False  # a sequence given by repeating the flag (--style A --style B), not comma-separated
    metavar: str | None = None
    example: Any = None  # a valid non-default value (tests), when one cannot be derived from the type
    effect: str = "frames"  # what it changes (EFFECTS); "frames" enters the frame store's hash
    path: bool = False  # a file or folder (resolved beside a manifest when relative)

    def __post_init__(self) -> None:
        if self.effect not in EFFECTS:
            raise TypeError(f"option effect {self.effect!r}: expected one of {EFFECTS}")


def opt(help: str = "", **kwargs: Any) -> dict[str, Opt]:
    """Field metadata declaring an option: ``field(default=3, metadata=opt("help text", minimum=1))``.

    Keywords: ``flag`` (default ``--field-name``), ``short``, ``positional``, ``required``, ``choices``,
    ``minimum`` / ``above`` (exclusive) / ``maximum``, ``check`` (``check(key, value)`` raising
    :class:`~videostyle.errors.UsageError`), ``negate`` (bool set by ``--no-x``), ``repeat`` (a sequence given by
    repeating the flag), ``metavar``, ``example``, ``effect`` (what it changes: ``frames``, the default, enters the
    frame store's hash; ``output``, ``speed`` or ``run`` do not), ``path`` (a file or folder).
    Numbers are always checked to be finite.
    """
    if "choices" in kwargs and kwargs["choices"] is not None:
        kwargs["choices"] = tuple(kwargs["choices"])
    return {_META: Opt(help=help, **kwargs)}


@dataclass(frozen=True)
class Option:
    """One option of a config class, resolved from its field."""

    path: tuple[str, ...]  # attribute path from the root config, e.g. ("video", "size")
    spec: Opt
    kind: type  # int | float | str | bool: the scalar type (of the items, for sequences)
    optional: bool  # None allowed
    sequence: bool  # a tuple of ``kind``
    default: Any

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def flag(self) -> str:
        if self.spec.flag:
            return self.spec.flag
        return "--" + ("no-" if self.spec.negate else "") + self.name.replace("_", "-")

    @property
    def key(self) -> str:
        """The manifest key (the long flag with underscores); the positional input's key is its name."""
        return self.name if self.spec.positional else self.flag[2:].replace("-", "_")

    # --- values ------------------------------------------------------------------------------------------------
    def convert(self, value: Any) -> Any:
        """A value of the option's type from ``value`` (native, or text as on a command line); raises OptionError.

        For a ``negate`` option, ``value`` is the flag's (``no_audio = true``) and the field's value is returned.
        """
        if value is None:
            return None
        if self.kind is bool:
            if not isinstance(value, bool):
                raise self.error(value, f"key {self.key!r} expects true or false, got {value!r}")
            return (not value) if self.spec.negate else value
        if isinstance(value, bool):
            raise self.error(value, f"key {self.key!r} expects a value, not {str(value).lower()}")
        if self.sequence:
            items: Iterable[Any]
            if isinstance(value, str) and self.spec.repeat:  # one item (a path may hold commas)
                items = [value]
            elif isinstance(value, str):
                items = [part.strip() for part in value.split(",") if part.strip()]
            elif isinstance(value, (list, tuple)):
                items = value
            else:
                raise self.error(value, f"key {self.key!r} expects {self._sequence_words()}, got {value!r}")
            try:
                return tuple(self._scalar(v, strict=True) for v in items)
            except (TypeError, ValueError):
                raise self.error(value, f"key {self.key!r}: expected {self._sequence_words()}, got {value!r}") from None
        if isinstance(value, (list, tuple, dict, set)):
            raise self.error(value, f"key {self.key!r} expects a single value, got {value!r}")
        try:
            return self._scalar(value, strict=False)
        except (TypeError, ValueError):
            raise self.error(value, f"key {self.key!r}: invalid {self.kind.__name__} value {value!r}") from None

    def _sequence_words(self) -> str:
        return {int: "comma-separated integers", float: "comma-separated numbers"}.get(
            self.kind, "a string or a list of strings")

    def _scalar(self, value: Any, *, strict: bool) -> Any:
        if isinstance(value, bool):
            raise TypeError(value)
        if self.kind is str:
            if not isinstance(value, (str, int, float)) or (strict and value == ""):
                raise TypeError(value)
            return str(value)
        if self.kind is int:
            if isinstance(value, int):
                return value
            if isinstance(value, str):
                return int(value.strip())
            raise TypeError(value)
        if self.kind is float:
            if is_number(value):
                return float(value)
            if isinstance(value, str):
                return float(value.strip())
            raise TypeError(value)
        raise TypeError(value)

    def check(self, value: Any) -> None:
        """Validate a converted value (the field's); raises OptionError naming the key and the value."""
        if value is None:
            if self.optional:
                return
            raise self.error(value, f"invalid {self.key} None: a value is required")
        try:
            if self.sequence:
                if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                    raise UsageError(f"invalid {self.key} {value!r}: expected a sequence of "
                                     f"{self.kind.__name__} values")
                if not value:
                    raise UsageError(f"invalid {self.key} {tuple(value)!r}: expected at least one value")
                for item in value:
                    self._check_scalar(item)
            else:
                self._check_scalar(value)
            if self.spec.check is not None:
                self.spec.check(self.key, value)
        except OptionError:
            raise
        except UsageError as err:
            raise self.error(value, str(err)) from None

    def _check_scalar(self, value: Any) -> None:
        s = self.spec
        if self.kind is bool:
            if not isinstance(value, bool):
                raise UsageError(f"invalid {self.key} {value!r}: expected true or false")
        elif self.kind is str:
            if not isinstance(value, str):
                raise UsageError(f"invalid {self.key} {value!r}: expected a string")
            if s.choices is not None:
                check_choice(self.key, value, s.choices)
        else:
            check_number(self.key, value, minimum=s.minimum, above=s.above, maximum=s.maximum,
                         integer=self.kind is int)

    def error(self, value: Any, message: str) -> OptionError:
        return OptionError(message, key=self.key, value=value)


# --- resolving a class -------------------------------------------------------------------------------------------
def _scalar_type(tp: Any) -> tuple[type, bool, bool]:
    """(kind, optional, sequence) of a field annotation such as ``tuple[float, ...] | None``."""
    optional = False
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported option type {tp!r}")
        tp = rest[0]
    if typing.get_origin(tp) is tuple:
        return typing.get_args(tp)[0], optional, True
    if tp not in (int, float, str, bool):
        raise TypeError(f"unsupported option type {tp!r}")
    return tp, optional, False


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


@functools.cache
def _own_options(cls: type) -> tuple[tuple[str, Option | type], ...]:
    """The fields of ``cls``: (name, Option) for options, (name, config class) for nested configs."""
    hints = typing.get_type_hints(cls)
    out: list[tuple[str, Option | type]] = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.append((f.name, tp))
            continue
        spec = f.metadata.get(_META)
        if spec is None:
            raise TypeError(f"{cls.__name__}.{f.name} has no option metadata: declare it with metadata=opt(...)")
        kind, optional, sequence = _scalar_type(tp)
        out.append((f.name, Option((f.name,), spec, kind, optional, sequence, _default(f))))
    return tuple(out)


@functools.cache
def options(cls: type) -> tuple[Option, ...]:
    """Every option of ``cls`` and of its nested config dataclasses, in field order, with paths from ``cls``."""
    found: list[Option] = []
    for name, item in _own_options(cls):
        if isinstance(item, Option):
            found.append(item)
        else:
            found += [dataclasses.replace(o, path=(name, *o.path)) for o in options(item)]
    keys = [o.key for o in found]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise TypeError(f"{cls.__name__}: option keys defined twice: {sorted(dupes)}")
    return tuple(found)


def option_keys(cls: type) -> list[str]:
    return [o.key for o in options(cls)]


def values(obj: Any, effect: str, *, paths: bool = True) -> dict[str, Any]:
    """The values of the options of the config instance ``obj`` declared with ``effect``, nested as the config is
    (``{"video": {"size": 384, ...}, ...}``; tuples as lists, JSON-ready); ``paths=False`` leaves out the
    top-level path options (the frame store identifies those files by their contents)."""
    out: dict[str, Any] = {}
    for o in options(type(obj)):
        if o.spec.effect != effect or (not paths and o.spec.path and len(o.path) == 1):
            continue
        value: Any = obj
        for name in o.path:
            value = getattr(value, name)
        node = out
        for name in o.path[:-1]:
            node = node.setdefault(name, {})
        node[o.name] = list(value) if isinstance(value, tuple) else value
    return out


def validate(obj: Any) -> None:
    """Check every option field of the config instance ``obj`` (not nested ones: they validated themselves)."""
    for name, item in _own_options(type(obj)):
        if isinstance(item, Option):
            item.check(getattr(obj, name))


def unknown_key(key: Any, valid: Iterable[str]) -> str:
    """The problem text of an unknown key, with a suggestion (or the underscore spelling)."""
    valid = list(valid)
    spelled = key.replace("-", "_") if isinstance(key, str) else key
    if spelled in valid and spelled != key:
        return f"unknown key {key!r} (write it with underscores: {spelled!r})"
    return f"unknown key {key!r}{did_you_mean(key, valid)}"


def build(cls: type, mapping: Mapping[str, Any], *, where: str | None = None, name_keys: bool = True) -> Any:
    """An instance of ``cls`` from option keys → values (missing keys take their defaults).

    Every problem (unknown key, wrong type, out of range, missing required option) is collected; they are raised
    together as :class:`~videostyle.errors.OptionsError`, each prefixed with ``where`` (e.g. ``job 2 (sh020)``)
    and, with ``name_keys``, the key (``key 'size': invalid size 8: must be >= 16``).
    """
    prefix = f"{where}: " if where else ""
    by_key = {o.key: o for o in options(cls)}
    problems: list[str] = []
    values: dict[tuple[str, ...], Any] = {}
    for key, raw in mapping.items():
        o = by_key.get(key) if isinstance(key, str) else None
        if o is None:
            problems.append(prefix + unknown_key(key, by_key))
            continue
        if raw is None:
            continue
        try:
            value = o.convert(raw)
            o.check(value)
        except OptionError as err:
            named = str(err).startswith("key ") or not name_keys
            problems.append(f"{prefix}{err}" if named else f"{prefix}key {key!r}: {err}")
            continue
        values[o.path] = value
    given = {k for k, v in mapping.items() if v is not None}
    missing = [o.key for o in by_key.values() if o.spec.required and o.key not in given]
    if missing:
        problems.append(f"{prefix}missing required key{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(repr(k) for k in missing)}")
    if problems:
        raise OptionsError(problems)
    try:
        return _instantiate(cls, (), values)
    except UsageError as err:  # checks across fields (__post_init__)
        raise OptionsError([f"{prefix}{err}"]) from None


def _instantiate(cls: type, path: tuple[str, ...], values: Mapping[tuple[str, ...], Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for name, item in _own_options(cls):
        if isinstance(item, Option):
            if (*path, name) in values:
                kwargs[name] = values[(*path, name)]
        else:
            kwargs[name] = _instantiate(item, (*path, name), values)
    return cls(**kwargs)
