"""Generated media with known ground truth, for the tests, the benchmarks and ``scripts/make_sample_media.py``;
not part of the installed package (``pyproject.toml`` ships ``videostyle`` only).

* :mod:`synthetic.media`: clips of a camera moving over a photo along a known path, with an occluder and cuts; the
  procedural brush painting (the bundled style image); clips written with audio, VFR timing and rotation.
* :mod:`synthetic.flow`: frame pairs with known flow and occlusions, and the accuracy measures of the flow tests.

The tests import it from the repository root (the root ``conftest.py`` puts it on the path); the benchmark and sample
scripts put the repository root on ``sys.path`` first.
"""

from .media import (
    PHOTOS,
    Scene,
    brush_painting,
    camera_path,
    moving_scene,
    photo,
    tone,
    write_clip,
)

__all__ = ["PHOTOS", "Scene", "brush_painting", "camera_path", "moving_scene", "photo", "tone", "write_clip"]
