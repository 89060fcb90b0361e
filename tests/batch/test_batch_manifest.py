"""Batch manifests: parsing (TOML, JSON, YAML), validation before work, the plan, dry runs and CLI errors.

No stylisation runs here; inputs are tiny synthetic clips that are only probed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synthetic import moving_scene, write_clip
from videostyle.batch import (
    ManifestError,
    format_plan,
    load_manifest,
    parse_manifest,
    plan_batch,
)
from videostyle.batch.executors import (
    BatchResult,
    JobResult,
    check_options,
    format_summary,
    require_ray,
)
from videostyle.cli import main
from videostyle.errors import ConfigError, UsageError
from videostyle.media import write_image


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch_media")
    (root / "clips").mkdir()
    (root / "out").mkdir()
    for i, name in enumerate(("astronaut", "coffee")):
        write_clip(root / "clips" / f"c{i}.mp4", moving_scene(4, (64, 48), photo_name=name).frames, fps=12,
                   audio=False)
    rng = np.random.default_rng(0)
    write_image(root / "style.png", (rng.random((32, 32, 3)) * 255).astype(np.uint8))
    write_image(root / "style2.png", (rng.random((32, 32, 3)) * 255).astype(np.uint8))
    (root / "not_an_image.png").write_bytes(b"this is not a png")
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


TOML = """
[defaults]
style = "style.png"
size = 48
model = "vgg16-hed"
first_iterations = 3
iterations = 2

[[job]]
input = "clips/c0.mp4"
output = "out/c0.mp4"
max_frames = 3

[[job]]
name = "second"
input = "clips/c1.mp4"
output = "out/c1.mkv"
style = ["style.png", "style2.png"]
iterations = 5
long_term = [1, 2]
no_audio = true
"""


def test_toml_defaults_overrides_and_relative_paths(media_dir: Path) -> None:
    m = load_manifest(write(media_dir / "jobs.toml", TOML))
    assert [j.index for j in m.jobs] == [1, 2]
    a, b = (j.config for j in m.jobs)
    assert a.input == os.fspath(media_dir / "clips" / "c0.mp4")  # relative to the manifest's folder
    assert a.output == os.fspath(media_dir / "out" / "c0.mp4")
    assert a.styles == (os.fspath(media_dir / "style.png"),)
    assert (a.video.size, a.video.first_iterations, a.video.iterations, a.range.max_frames) == (48, 3, 2, 3)
    assert a.style.model == "vgg16-hed" and a.encode.audio is True
    assert b.styles == (os.fspath(media_dir / "style.png"), os.fspath(media_dir / "style2.png"))
    assert (b.video.iterations, b.video.long_term, b.range.max_frames, b.encode.audio) == (5, (1, 2), None, False)
    assert b.video.temporal_weight == a.video.temporal_weight == 200.0  # stylize defaults, from the same parser
    assert m.jobs[0].label == "job 1 (c0.mp4)" and m.jobs[1].label == "job 2 (second)"


def test_json_and_yaml_mirror_toml(media_dir: Path) -> None:
    import tomllib

    data = tomllib.loads(TOML)
    from_toml = load_manifest(write(media_dir / "a.toml", TOML))
    from_json = load_manifest(write(media_dir / "a.json", json.dumps(data)))
    assert [j.config for j in from_json.jobs] == [j.config for j in from_toml.jobs]
    assert len(from_toml.jobs) == 2 and from_toml.jobs[0].config != from_toml.jobs[1].config
    import yaml  # a test dependency (and Ray's): YAML support must not be skipped silently

    from_yaml = load_manifest(write(media_dir / "a.yml", yaml.safe_dump(data)))
    assert [j.config for j in from_yaml.jobs] == [j.config for j in from_toml.jobs]


def test_yaml_without_pyyaml_says_what_to_install(media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(media_dir / "b.yaml", "job:\n  - input: clips/c0.mp4\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    with pytest.raises(ConfigError, match=r"YAML manifests need PyYAML \(`pip install pyyaml`\)"):
        load_manifest(path)


def problems_of(data: dict, tmp_path: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        parse_manifest(data, base_dir=tmp_path, source=tmp_path / "m.json")
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)
    return info.value.problems


BASE = {"input": "a.mp4", "output": "b.mp4", "style": "s.png"}


@pytest.mark.parametrize(("job", "expected"), [
    ({"sise": 64}, ["job 1", "unknown key 'sise'", "did you mean 'size'?"]),
    ({"max-frames": 4}, ["job 1", "'max-frames'", "'max_frames'"]),
    ({"size": "big"}, ["job 1", "key 'size'", "'big'", "invalid int value"]),
    ({"size": 8}, ["job 1", "size 8", ">= 16"]),
    ({"size": True}, ["job 1", "key 'size'", "expects a value"]),
    ({"no_audio": "yes"}, ["job 1", "key 'no_audio'", "true or false"]),
    ({"model": "vgg11"}, ["job 1", "key 'model'", "'vgg11'", "invalid choice"]),
    ({"long_term": [1, "x"]}, ["job 1", "key 'long_term'", "comma-separated integers"]),
    ({"style": {"path": "s.png"}}, ["job 1", "key 'style'"]),
    ({"quiet": True}, ["job 1", "key 'quiet'", "batch --quiet"]),
])
def test_bad_key_or_value_names_job_key_and_value(job: dict, expected: list[str], tmp_path: Path) -> None:
    problems = problems_of({"job": [dict(BASE, **job)]}, tmp_path)
    assert len(problems) == 1
    for text in expected:
        assert text in problems[0], (text, problems[0])


def test_missing_required_keys_are_named(tmp_path: Path) -> None:
    problems = problems_of({"job": [{"input": "a.mp4"}]}, tmp_path)
    assert len(problems) == 1 and "job 1" in problems[0]
    assert "'style'" in problems[0] and "'output'" in problems[0]


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    data = {
        "defaults": {"style": "s.png", "iteration": 3},
        "jobs": [],
        "job": [dict(BASE, size=8), dict(BASE, colour="luminance"), {"input": "x.mp4"}],
    }
    problems = problems_of(data, tmp_path)
    joined = " | ".join(problems)
    assert "unknown top-level key 'jobs'" in joined and "did you mean 'job'?" in joined
    assert "defaults: unknown key 'iteration'" in joined and "'iterations'" in joined
    # the jobs' own problems are still checked when the defaults are bad
    assert "job 2 (a.mp4): unknown key 'colour'" in joined and "'color'" in joined


def test_structural_errors(tmp_path: Path) -> None:
    assert "no jobs" in problems_of({"defaults": {}}, tmp_path)[0]
    assert "no jobs" in problems_of({"job": []}, tmp_path)[0]
    assert "job 1: expected a table" in problems_of({"job": ["a.mp4"]}, tmp_path)[0]
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_manifest(write(tmp_path / "bad.toml", "[[job]\ninput = 1"))
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_manifest(write(tmp_path / "bad.json", "{"))
    with pytest.raises(ConfigError, match="unknown manifest format '.ini'"):
        load_manifest(write(tmp_path / "jobs.ini", ""))
    with pytest.raises(ConfigError, match="manifest not found"):
        load_manifest(tmp_path / "missing.toml")


def test_validation_reports_every_file_problem(media_dir: Path) -> None:
    text = """
[defaults]
style = "style.png"
[[job]]
input = "clips/missing.mp4"
output = "out/x.mp4"
[[job]]
input = "clips/c0.mp4"
output = "out/dup.mp4"
style = "not_an_image.png"
[[job]]
input = "clips/c1.mp4"
output = "out/dup.mp4"
[[job]]
input = "clips/c1.mp4"
output = "clips/c1.mp4"
[[job]]
input = "clips/c1.mp4"
output = "clips/c0.mp4"
[[job]]
input = "clips/c1.mp4"
output = "no_such_dir/y.mp4"
[[job]]
input = "clips/c1.mp4"
output = "out/z.avi"
"""
    manifest = load_manifest(write(media_dir / "bad_files.toml", text))
    with pytest.raises(ManifestError) as info:
        plan_batch(manifest)
    problems = info.value.problems
    assert len(problems) == 7, "\n".join(problems)
    by_job = {p.split(":")[0]: p for p in problems}
    assert "not found" in by_job["job 1 (missing.mp4)"].lower() or "no such" in by_job["job 1 (missing.mp4)"].lower()
    assert "style" in by_job["job 2 (c0.mp4)"] and "not_an_image.png" in by_job["job 2 (c0.mp4)"]
    assert "also written by job 2" in by_job["job 3 (c1.mp4)"]
    job4 = next(p for p in problems if p.startswith("job 4"))
    assert "its own input" in job4
    job5 = next(p for p in problems if p.startswith("job 5"))
    assert "the input of job 2" in job5
    assert any(p.startswith("job 6") and "does not exist" in p for p in problems)
    assert any(p.startswith("job 7") and ".avi" in p for p in problems)


def test_finished_outputs_are_skipped_unless_forced(media_dir: Path, tmp_path: Path) -> None:
    text = f"""
[defaults]
style = "{media_dir / 'style.png'}"
[[job]]
input = "{media_dir / 'clips/c0.mp4'}"
output = "done.mp4"
[[job]]
input = "{media_dir / 'clips/c1.mp4'}"
output = "todo.mp4"
"""
    (tmp_path / "done.mp4").write_bytes(b"finished earlier")
    manifest = load_manifest(write(tmp_path / "m.toml", text))
    plan = plan_batch(manifest)
    assert [j.action for j in plan.jobs] == ["skip", "run"]
    assert "--force" in plan.jobs[0].reason and plan.jobs[1].frames == 4
    text_plan = format_plan(plan)
    assert "1 to run (4 frames), 1 skipped" in text_plan and "skip job 1" in text_plan and "run  job 2" in text_plan
    forced = plan_batch(manifest, force=True)
    assert [j.action for j in forced.jobs] == ["run", "run"] and all(j.config.force for j in forced.jobs)


def test_dry_run_prints_plan_and_writes_nothing(media_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    text = f"""
[defaults]
style = "{media_dir / 'style.png'}"
size = 32
[[job]]
input = "{media_dir / 'clips/c0.mp4'}"
output = "out/a.mp4"
"""
    rc = main(["batch", os.fspath(write(tmp_path / "m.toml", text)), "--dry-run", "--shot-parallel"])
    captured = capsys.readouterr()
    assert rc == 0
    lines = captured.out.splitlines()
    assert lines[0].endswith("1 to run (4 frames), 0 skipped; executor local, one task per shot"), lines[0]
    assert lines[1].strip() == f"run  job 1 (c0.mp4): {media_dir / 'clips/c0.mp4'} -> {out / 'a.mp4'}"
    assert "frames 4" in lines[2] and "size 32" in lines[2] and "shots at 0 (1 parallel tasks)" in lines[2]
    assert list(out.iterdir()) == [] and captured.err == ""


def test_dry_run_of_a_json_manifest_with_a_bad_input_names_it(media_dir: Path, tmp_path: Path, capsys) -> None:
    data = {"defaults": {"style": os.fspath(media_dir / "style.png")},
            "job": [{"input": os.fspath(media_dir / "clips/c0.mp4"), "output": "a.mp4"},
                    {"input": "missing.mp4", "output": "b.mp4"}]}
    rc = main(["batch", os.fspath(write(tmp_path / "m.json", json.dumps(data))), "--dry-run"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "1 problem" in err[0] and "job 2 (missing.mp4): input:" in err[0] and "job 1" not in err[0]


def test_cli_manifest_error_is_one_line_exit_2(tmp_path: Path) -> None:
    manifest = write(tmp_path / "m.toml", '[[job]]\ninput = "a.mp4"\noutput = "b.mp4"\nstyle = "s.png"\nsise = 3\n')
    proc = subprocess.run([sys.executable, "-m", "videostyle", "batch", os.fspath(manifest)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("videostyle batch: error:") and "job 1 (a.mp4): unknown key 'sise'" in lines[0]


def test_executor_options_are_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="--workers 0"):
        check_options("local", workers=0)
    with pytest.raises(UsageError, match="--ray-address needs --executor ray"):
        check_options("local", ray_address="auto")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(UsageError, match=r"pip install 'videostyle\[ray\]'"):
        require_ray()
    manifest = write(tmp_path / "m.toml", '[[job]]\ninput = "a.mp4"\noutput = "b.mp4"\nstyle = "s.png"\n')
    assert main(["batch", os.fspath(manifest), "--executor", "ray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'videostyle[ray]'" in err[0]


def test_summary_table() -> None:
    rows = [JobResult(1, "a", "a.mp4", "a_out.mp4", "ok", 12, 3.25, ""),
            JobResult(2, "b", "b.mp4", "b_out.mp4", "skipped", None, None, "output exists (use --force to redo)"),
            JobResult(3, "c", "c.mp4", "c_out.mp4", "failed", None, 0.5, "c.mp4: not a readable image")]
    result = BatchResult(rows, "local", 4.0)
    text = format_summary(result)
    lines = text.splitlines()
    assert lines[0].split() == ["job", "status", "frames", "seconds", "message"]
    assert "job 1 (a)" in lines[2] and " ok " in lines[2] and "12" in lines[2] and "3.2" in lines[2]
    assert "skipped" in lines[3] and "--force" in lines[3]
    assert "failed" in lines[4] and "not a readable image" in lines[4]
    assert lines[-1].startswith("3 jobs: 1 ok, 1 skipped, 1 failed")
    assert result.exit_code == 1
    assert BatchResult(rows[:2], "local", 1.0).exit_code == 0
