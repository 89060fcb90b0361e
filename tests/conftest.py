"""Shared test set-up. Tests mirror the package (``tests/media/``, ``tests/flow/``, ``tests/style/``,
``tests/video/``, ``tests/batch/``, ``tests/benchmarks/``; command-line, config, metrics and reliability tests at the
top). Helpers shared across folders live beside this file and are imported by name (pytest puts this folder on
``sys.path``): ``media_fixtures`` (media only tests need), ``plate_files`` (EXR/TIFF plates), ``reliability_cases``
(hostile inputs), and the subprocess jobs ``video_job.py`` / ``reliability_job.py``.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def tiny_stylizers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Stylizer built in the test gets the tiny random backbone (for plumbing and messages, not looks)."""
    import videostyle.style.stylizer as stylizer
    from videostyle.style.backbones import tiny_backbone

    monkeypatch.setattr(stylizer, "load_backbone", lambda *_a, **_kw: tiny_backbone(0))
