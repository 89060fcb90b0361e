"""Fixtures of the media tests: a generated scene and one clip of it per container (the writer tests)."""

from __future__ import annotations

import pytest

from media_fixtures import CLIP_FRAMES, CLIP_SIZE
from synthetic import moving_scene, write_clip


@pytest.fixture(scope="module")
def scene():
    return moving_scene(CLIP_FRAMES, CLIP_SIZE, cut_at=24)


@pytest.fixture(scope="module")
def sources(tmp_path_factory, scene):
    """One generated clip (with a tone) per container: the round trip of each codec stays in its container."""
    root = tmp_path_factory.mktemp("src")
    return {ext: write_clip(root / f"clip{ext}", scene.frames) for ext in (".mp4", ".mov", ".mkv")}
