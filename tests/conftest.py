"""Shared test set-up. Tests mirror the package (``tests/media/``, ``tests/flow/``, ``tests/style/``,
``tests/video/``, ``tests/batch/``, ``tests/benchmarks/``; command-line, config, metrics and reliability tests at the
top). Helpers shared across folders live beside this file and are imported by name (pytest puts this folder on
``sys.path``): ``media_fixtures`` (media only tests need), ``style_images`` (procedural style images), ``plate_files`` (EXR/TIFF plates), ``reliability_cases``
(hostile inputs), and the subprocess jobs ``video_job.py`` / ``reliability_job.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def tiny_stylizers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Stylizer built in the test gets the tiny random backbone (for plumbing and messages, not looks)."""
    import videostyle.style.stylizer as stylizer
    from videostyle.style.backbones import tiny_backbone

    monkeypatch.setattr(stylizer, "load_backbone", lambda *_a, **_kw: tiny_backbone(0))


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``make(frames, cut_at, name, **write_clip_options)``: a 96×64 moving scene at 24 fps with a hard cut."""
    import synthetic

    def make(frames: int, cut_at: int, name: str = "clip.mp4", **options: Any) -> Path:
        scene = synthetic.moving_scene(frames=frames, size=(96, 64), cut_at=cut_at)
        return synthetic.write_clip(tmp_path_factory.mktemp("clip") / name, scene.frames, fps=24, **options)

    return make
