"""The option schema (videostyle/config.py): every field reachable from the CLI, a manifest and the Python API.

The test enumerates the fields, so an option added without its metadata, or one the CLI or the manifest reader
cannot reach, fails here.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import pytest

from videostyle import _schema
from videostyle.batch import ManifestError, parse_manifest
from videostyle.batch.manifest import RESERVED_KEYS
from videostyle.cli import build_parser, config_from_args
from videostyle.config import StyleConfig, StylizeConfig
from videostyle.errors import OptionsError, UnknownModelError, UsageError

OPTIONS = _schema.options(StylizeConfig)
BASE = {"input": "in.mp4", "output": "out.mp4", "style": ["s.png"]}


def example(o: _schema.Option) -> Any:
    """A valid value of the option's field that differs from its default."""
    s = o.spec
    if s.example is not None:
        return s.example
    if o.kind is bool:
        return not o.default
    if s.choices:
        return next(c for c in s.choices if c != o.default)
    if o.sequence:
        return o.default + o.default[-1:] if o.default else ("x-1", "x-2")
    if o.kind is str:
        return "x-" + o.name
    low = s.minimum if s.minimum is not None else (s.above if s.above is not None else 0)
    if o.kind is int:
        value = (o.default if o.default is not None else int(low)) + 1
        return value if s.maximum is None or value <= s.maximum else o.default - 1
    return (o.default * 2 + 1.0) if o.default is not None else low + 1.5


def field_value(config: Any, o: _schema.Option) -> Any:
    for name in o.path:
        config = getattr(config, name)
    return config


def cli_args(o: _schema.Option, value: Any) -> list[str]:
    if o.kind is bool:
        return [o.flag] if value != o.default else []
    if o.spec.repeat:
        return [a for v in value for a in (o.flag, str(v))]
    return [o.flag, ",".join(map(str, value)) if o.sequence else str(value)]


def parse_cli(argv: list[str]) -> StylizeConfig:
    return config_from_args(build_parser().parse_args(["stylize", *argv]))


def test_every_option_is_declared_with_a_flag_help_and_a_unique_key() -> None:
    leaf_fields = []

    def walk(cls: type) -> None:
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(f.type if isinstance(f.type, type) else None):
                walk(f.type)  # pragma: no cover - types are strings under `from __future__ import annotations`
            elif f.name in ("style", "video", "encode", "range", "fast"):
                walk(type(getattr(StylizeConfig("a", "b", ("c",)), f.name)))
            else:
                leaf_fields.append(f.name)

    walk(StylizeConfig)
    assert sorted(o.name for o in OPTIONS) == sorted(leaf_fields)
    assert len({o.key for o in OPTIONS}) == len(OPTIONS)
    for o in OPTIONS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", o.key), o.key


@pytest.mark.parametrize("o", OPTIONS, ids=[o.key for o in OPTIONS])
def test_each_option_reaches_the_config_from_cli_manifest_and_python(o: _schema.Option, tmp_path: Path) -> None:
    value = example(o)
    assert value != o.default
    given = {"input": "in.mp4", "output": "out.mp4", "style": ("s.png",), o.key: value}
    by_key = {x.key: x for x in OPTIONS}
    argv = [given.pop("input")]
    for key, v in given.items():
        argv += cli_args(by_key[key], v)
    from_cli = parse_cli(argv)
    assert field_value(from_cli, o) == (tuple(value) if o.sequence else value)

    key_value = (not value) if o.spec.negate else value
    job = dict(BASE, **{o.key: list(key_value) if isinstance(key_value, tuple) else key_value})
    if o.key in ("input", "output", "style"):
        return  # paths: covered by the others' runs
    if o.key in RESERVED_KEYS:  # a batch-wide setting (batch --quiet): refused in a job, with the reason
        with pytest.raises(ManifestError, match=re.escape(RESERVED_KEYS[o.key])):
            parse_manifest({"job": [job]}, base_dir="/", source=tmp_path / "m.toml")
    else:
        from_manifest = parse_manifest({"job": [job]}, base_dir="/", source=tmp_path / "m.toml").jobs[0].config
        got = field_value(from_manifest, o)
        if o.spec.path:
            got = Path(got).name  # resolved against base_dir
        assert got == (tuple(value) if o.sequence else value)

    from_mapping = StylizeConfig.from_mapping(job)
    assert field_value(from_mapping, o) == field_value(from_cli, o)

    # Python API: the dataclass holding the field takes it as a keyword
    if len(o.path) == 1:
        kwargs = {"input": "in.mp4", "output": "out.mp4", "styles": ("s.png",), o.name: value}
        assert field_value(StylizeConfig(**kwargs), o) == value
    else:
        holder = type(getattr(from_cli, o.path[0]))
        assert getattr(holder(**{o.name: value}), o.name) == value


FLOATS = [o for o in OPTIONS if o.kind is float]


@pytest.mark.parametrize("o", FLOATS, ids=[o.key for o in FLOATS])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_everywhere(o: _schema.Option, bad: float) -> None:
    holder = StylizeConfig if len(o.path) == 1 else type(getattr(StylizeConfig("a", "b", ("c",)), o.path[0]))
    value = (bad,) if o.sequence else bad
    with pytest.raises(UsageError, match=f"invalid {o.key} .*finite"):
        holder(**{o.name: value})
    with pytest.raises(OptionsError) as info:
        StylizeConfig.from_mapping(dict(BASE, **{o.key: list(value) if o.sequence else value}), where="job 3")
    assert info.value.problems == [info.value.problems[0]] and info.value.problems[0].startswith(
        f"job 3: key {o.key!r}: ")


def test_from_mapping_names_where_key_and_value_and_collects_every_problem() -> None:
    with pytest.raises(OptionsError) as info:
        StylizeConfig.from_mapping({"input": "a.mp4", "sise": 3, "crf": 99, "learning_rate": "fast",
                                    "style": "s.png"}, where="job 2 (a)")
    problems = info.value.problems
    assert problems[0] == "job 2 (a): unknown key 'sise' (did you mean 'size'?)"
    assert problems[1] == "job 2 (a): key 'crf': invalid crf 99: must be <= 51"
    assert problems[2] == "job 2 (a): key 'learning_rate': invalid float value 'fast'"
    assert problems[3] == "job 2 (a): missing required key 'output'"
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_model_name_is_one_error_type_everywhere() -> None:
    from videostyle.style.backbones import check_model_name

    for call in (lambda: StyleConfig(model="vgg91"), lambda: check_model_name("vgg91"),
                 lambda: StylizeConfig.from_mapping(dict(BASE, model="vgg91"))):
        with pytest.raises(UsageError, match="did you mean 'vgg19'") as info:
            call()
        assert info.type in (UnknownModelError, OptionsError)
    with pytest.raises(UnknownModelError):
        check_model_name("vgg91")


def test_blend_weights_are_checked_once_with_one_message() -> None:
    with pytest.raises(UsageError, match="2 style blend weights given for 1 styles"):
        StylizeConfig("a", "b", ("s.png",), style=StyleConfig(style_blend_weights=(1.0, 2.0)))
    with pytest.raises(UsageError, match="not all 0"):
        StylizeConfig("a", "b", ("s.png",), style=StyleConfig(style_blend_weights=(0.0,)))
    with pytest.raises(UsageError, match=r"invalid style_blend_weights -1\.0: must be >= 0"):
        StyleConfig(style_blend_weights=(-1.0,))


def test_style_layer_weights_not_all_zero() -> None:
    with pytest.raises(UsageError, match=r"invalid style_layer_weights \(0\.0, 0\.0\): not all 0"):
        StyleConfig(style_layers=("relu1_1", "relu2_1"), style_layer_weights=(0.0, 0.0))


def test_nothing_below_the_cli_imports_it() -> None:
    package = Path(__file__).resolve().parents[1] / "videostyle"
    offenders = [str(p.relative_to(package)) for p in package.rglob("*.py")
                 if p.name not in ("cli.py", "__main__.py")
                 and re.search(r"from \.+cli import|import videostyle\.cli|from videostyle\.cli", p.read_text())]
    assert offenders == []
