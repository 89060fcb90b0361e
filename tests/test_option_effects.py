"""What each option changes, declared once in the schema: the frame store's hash, manifest paths, the options
reference (docs/options.md) and the options ``look`` and ``metrics`` share with ``stylize`` all read it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from videostyle import _schema
from videostyle._options_doc import render
from videostyle.cli import _Parser, add_options, build_parser, config_from_args, main
from videostyle.config import EncodeConfig, StyleConfig, StylizeConfig, VideoConfig
from videostyle.media import write_image

DOC = Path(__file__).resolve().parents[1] / "docs" / "options.md"


def test_the_options_reference_is_current() -> None:
    assert DOC.read_text() == render(), "docs/options.md is out of date: run python scripts/make_options_doc.py"


def _grain_config() -> type:
    """StylizeConfig with one more frame-changing option (``--grain``), added the way a developer would."""
    grain = dataclasses.field(default=0.0, metadata=_schema.opt("film grain strength", minimum=0))
    video = dataclasses.make_dataclass("GrainVideoConfig", [("grain", float, grain)], bases=(VideoConfig,),
                                       frozen=True)
    return dataclasses.make_dataclass(
        "GrainStylizeConfig", [("video", video, dataclasses.field(default_factory=video))], bases=(StylizeConfig,),
        frozen=True)


@pytest.fixture
def job_files(tmp_path: Path) -> dict[str, str]:
    write_image(tmp_path / "in.png", np.full((16, 16, 3), 90, np.uint8))
    write_image(tmp_path / "s.png", np.full((16, 16, 3), 200, np.uint8))
    return {"input": str(tmp_path / "in.png"), "output": str(tmp_path / "out.png"), "style": [str(tmp_path / "s.png")]}


def _hash(config: StylizeConfig) -> str:
    from videostyle.config import config_hash
    from videostyle.video.engine import _run_settings

    return config_hash(_run_settings(config))


def test_a_new_frame_option_reaches_the_cli_a_manifest_the_store_hash_and_the_reference(job_files, tmp_path,
                                                                                       monkeypatch) -> None:
    from videostyle.batch import manifest

    grain = _grain_config()
    parser = _Parser(prog="stylize")
    add_options(parser, grain)
    ns = parser.parse_args([job_files["input"], "--style", job_files["style"][0], "-o", job_files["output"],
                            "--grain", "0.5"])
    from_cli = config_from_args(ns, grain)
    assert from_cli.video.grain == 0.5

    monkeypatch.setattr(manifest, "StylizeConfig", grain)
    (tmp_path / "m.json").write_text(json.dumps({"job": [dict(job_files, grain=0.25)]}))
    assert manifest.load_manifest(tmp_path / "m.json").jobs[0].config.video.grain == 0.25

    plain = grain.from_mapping(job_files)
    assert _hash(plain) != _hash(from_cli)
    assert "| `--grain` | 0 | number ≥ 0 | frames | film grain strength |" in render(grain)


def test_options_that_do_not_change_frames_keep_the_store(job_files) -> None:
    base = StylizeConfig.from_mapping(job_files)
    same = [dataclasses.replace(base, style=StyleConfig(channels_last=True, compile=True)),
            dataclasses.replace(base, encode=EncodeConfig(crf=30, audio=False), quiet=True, force=True,
                                report="r.json", work_dir="elsewhere")]
    assert {_hash(c) for c in same} == {_hash(base)}
    assert _hash(dataclasses.replace(base, video=VideoConfig(size=32))) != _hash(base)


def test_manifest_paths_are_the_path_options() -> None:
    from videostyle.batch.manifest import path_keys

    assert path_keys() == {"input", "output", "style", "weights", "report", "preview", "work_dir", "mask",
                           "outside_style", "net", "save_net"}


def _defaults(command: str) -> dict[str, object]:
    parser = build_parser()
    sub = parser._commands[command]  # type: ignore[attr-defined]
    return {a.dest: a.default for a in sub._actions}


@pytest.mark.parametrize("command,keys", [("metrics", ("model", "flow", "max_frames")),
                                          ("look", ("model", "weights", "device", "input_colorspace", "seed"))])
def test_look_and_metrics_share_stylize_options_and_defaults(command: str, keys: tuple[str, ...]) -> None:
    stylize, other = _defaults("stylize"), _defaults(command)
    assert {k: other[k] for k in keys} == {k: stylize[k] for k in keys}
    assert other["model"] is None  # one default backbone: vgg19, falling back to vgg16-hed offline


def test_a_shared_option_is_checked_when_parsed(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["metrics", "a.mp4", "b.mp4", "--flow", "dis-slow"])
    assert exit_.value.code == 2 and "dis-slow" in capsys.readouterr().err
