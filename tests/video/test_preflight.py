"""The pre-flight (videostyle/video/preflight.py): every bad value refused before any frame is stylised.

Each case gives exactly one line on stderr, a non-zero exit, no output and no frame store, both from
``videostyle stylize`` and from a one-job manifest run by ``videostyle batch``. Batches: an invalid job is reported
before work starts and fails alone (the valid ones run, exit 1, the summary names it); ``--strict`` refuses the
whole batch; missing output folders are created.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reliability_cases import temporaries
from videostyle import media
from videostyle.cli import main
from videostyle.config import StyleConfig, StylizeConfig, VideoConfig
from videostyle.errors import UsageError
from synthetic import write_clip
from videostyle.video.preflight import preflight

FAST = ["--iterations", "2", "--first-iterations", "2", "--quiet"]


pytestmark = pytest.mark.usefixtures("tiny_stylizers")  # these tests check refusals and plumbing, not looks


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("preflight")
    rng = np.random.default_rng(0)
    frames = [(rng.random((48, 64, 3)) * 255).astype(np.uint8) for _ in range(3)]
    write_clip(root / "clip.mkv", frames, fps=12, audio=False, codec="ffv1")
    wide = [(rng.random((16, 1024, 3)) * 255).astype(np.uint8) for _ in range(2)]
    write_clip(root / "wide.mkv", wide, fps=12, audio=False, codec="ffv1")
    media.write_image(root / "style.png", (rng.random((32, 32, 3)) * 255).astype(np.uint8))
    return root


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


#: (id, stylize options, manifest keys, words the one error line must hold)
BAD = [
    ("preset_bogus", ["--preset", "bogus"], {"preset": "bogus"}, ("preset", "'bogus'", "expected one of")),
    ("crf_99", ["--crf", "99"], {"crf": 99}, ("crf 99", "<= 51")),
    ("learning_rate_inf", ["--learning-rate", "inf"], {"learning_rate": "inf"}, ("learning_rate inf", "finite")),
    ("style_weight_nan", ["--style-weight", "nan"], {"style_weight": "nan"}, ("style_weight nan", "finite")),
    ("temporal_weight_inf", ["--temporal-weight", "inf"], {"temporal_weight": "inf"},
     ("temporal_weight inf", "finite")),
    ("wide_clip_size_64", ["--size", "64"], {"size": 64}, ("64x2", "--size 960")),
]


def no_trace(out: Path, tmp: Path) -> None:
    assert not out.exists() and not Path(str(out) + ".videostyle-work").exists()
    assert temporaries(tmp) == []


@pytest.mark.parametrize(("case", "options", "keys", "words"), BAD, ids=[b[0] for b in BAD])
def test_stylize_refuses_before_work(case: str, options: list[str], keys: dict, words: tuple[str, ...],
                                     src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = src / ("wide.mkv" if case.startswith("wide") else "clip.mkv")
    out = tmp_path / "out.mp4"
    size = [] if "--size" in options else ["--size", "32"]
    code, _out, err = run_cli(["stylize", str(clip), "--style", str(src / "style.png"), "-o", str(out), *size,
                               *FAST, *options], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("videostyle stylize: error: ") and "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    no_trace(out, tmp_path)


@pytest.mark.parametrize(("case", "options", "keys", "words"), BAD, ids=[b[0] for b in BAD])
def test_manifest_job_refuses_before_work(case: str, options: list[str], keys: dict, words: tuple[str, ...],
                                          src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = src / ("wide.mkv" if case.startswith("wide") else "clip.mkv")
    out = tmp_path / "out.mp4"
    job = {"input": str(clip), "output": str(out), "style": str(src / "style.png"), "size": 32,
           "iterations": 2, "first_iterations": 2, **keys}
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"job": [job]}))
    code, _out, err = run_cli(["batch", str(manifest), "--quiet"], capsys)
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1, err
    assert lines[0].startswith("videostyle batch: error: ") and "job 1 (" in lines[0] and "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    no_trace(out, tmp_path)


def test_the_suggested_size_passes_and_the_one_below_does_not(src: Path, tmp_path: Path) -> None:
    def job(size: int) -> StylizeConfig:
        return StylizeConfig(str(src / "wide.mkv"), str(tmp_path / "o.mkv"), (str(src / "style.png"),),
                             video=VideoConfig(size=size))

    resolved = preflight(job(960))
    assert resolved.size == (960, 16) and resolved.frames == 2 and resolved.output_kind == "video"
    with pytest.raises(UsageError, match=r"working size 944x14 \(--size 944\).*use --size 960"):
        preflight(job(944))
    # a shallower deepest layer needs fewer pixels: relu3_1 is behind two poolings (4 px)
    shallow = StyleConfig(content_layers=("relu2_2",), style_layers=("relu1_1", "relu3_1"))
    assert preflight(StylizeConfig(job(64).input, job(64).output, job(64).styles, style=shallow,
                                   video=VideoConfig(size=256, temporal_weight=0))).size == (256, 4)


def test_invalid_job_fails_alone_and_output_folders_are_created(src: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "new" / "folder" / "good.mkv"
    jobs = [{"input": str(src / "clip.mkv"), "output": str(good)},
            {"input": str(src / "nowhere.mp4"), "output": str(tmp_path / "bad.mkv")}]
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"defaults": {"style": str(src / "style.png"), "size": 32, "iterations": 2,
                                                 "first_iterations": 2}, "job": jobs}))
    code, out, err = run_cli(["batch", str(manifest), "--strict", "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "job 2 (nowhere.mp4): input:" in err
    assert not (tmp_path / "new").exists()  # --strict: nothing created, nothing run

    code, out, err = run_cli(["batch", str(manifest), "--quiet"], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("videostyle batch: error: job 2 (nowhere.mp4)")
    assert media.probe(good).video.frames == 3
    summary = {line.split()[2]: line for line in out.splitlines() if line.startswith("job ")}
    assert "failed" in summary["(nowhere.mp4)"] and "nowhere.mp4" in summary["(nowhere.mp4)"]
    assert " ok " in summary["(clip.mkv)"]
    assert not (tmp_path / "bad.mkv").exists()
