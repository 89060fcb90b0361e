"""``python -m videostyle probe``: text and JSON on good input; one line on stderr and exit 1 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from media_fixtures import write_audio_only
from synthetic import moving_scene, write_clip


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "videostyle", "probe", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("cli") / "clip.mp4", moving_scene(12, (64, 48)).frames)


def test_probe_text(clip):
    result = _run(str(clip), "--size", "32")
    assert result.returncode == 0, result.stderr
    assert "h264 64x48" in result.stdout and "12 frames" in result.stdout and "aac 48000 Hz" in result.stdout
    assert "working size: 32x24" in result.stdout
    assert result.stderr == ""


def test_probe_json(clip):
    result = _run(str(clip), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "video"
    assert data["video"]["width"] == 64 and data["video"]["frames"] == 12 and data["video"]["time_base"] == "1/24000"
    assert data["audio"][0]["sample_rate"] == 48000


@pytest.mark.parametrize("case", ["missing", "empty", "text", "audio_only", "directory"])
def test_probe_bad_input_one_line_exit_1(tmp_path, case):
    path = tmp_path / f"{case}.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello, I am not a video\n")
    elif case == "audio_only":
        write_audio_only(path, 0.3)
    elif case == "directory":
        path = tmp_path / "folder"
        path.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _run(str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("videostyle probe: error: ") and str(path) in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
