"""New content painted, with the real offline backbone (vgg16-hed) at 96×64.

A textured subject (scikit-image's ``chelsea``) enters a static photo from the left: every warm frame has new
content that the flow cannot carry. A per-frame stylisation paints it like the rest (moving-content stylisation
about 1, measured 1.08 on this clip); the temporal run must too — before warm frames waited for their new content,
they stopped on a whole-frame test and left the subject close to the photo. Measured with ``videostyle metrics``'
moving-content stylisation.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from style_images import painted_style

from videostyle.config import StyleConfig, StylizeConfig, VideoConfig
import synthetic
from videostyle.media import write_image
from videostyle.metrics import measure_clips
from videostyle.video import stylize



@pytest.fixture(scope="module")
def entering(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("entering")
    scene = synthetic.moving_scene(frames=3, size=(96, 64), photo_name="coffee", velocity=(0.0, 0.0), wobble=0.0,
                                   occluder_size=(32, 36), occluder_velocity=(6.0, 0.0), occluder_start=(-0.25, 0.2),
                                   subject="chelsea")
    clip = synthetic.write_clip(folder / "enter.mkv", scene.frames, fps=24, audio=False, codec="ffv1")
    style = folder / "style.png"
    write_image(style, painted_style())
    return clip, style


def _moving_stylization(clip: Path, style: Path, tmp: Path, name: str, first: int = 80) -> tuple[float, dict]:
    out = tmp / f"{name}.mkv"
    config = StylizeConfig(input=str(clip), output=str(out), styles=(str(style),),
                           style=StyleConfig(model="vgg16-hed", device="cpu"),
                           video=VideoConfig(size=96, first_iterations=first, iterations=30),
                           work_dir=str(tmp / f"{name}.work"), quiet=True)
    report = stylize(config)
    m = measure_clips(str(clip), str(out), offsets=(1,), detect_cuts=False)
    return m["moving_stylization"]["ratio"], report


def test_an_entering_subject_is_painted_like_the_rest(entering, tmp_path, monkeypatch):
    """With the focus (budget and stopping rule that wait for new content, the new content then painted on its own,
    starting in the painting's colours: ``--fill match``, which a first-frame budget of 80 gets, too small for the
    default's cold start) the subject is painted at least as much as the rest:
    measured 1.17 (0.88 with the frame itself as the start, which left the cat a photo tile). Issue 12's target is
    0.9× the per-frame run's 1.08, so 0.97; the original defect scored 0.63-0.67. The old whole-frame rule (the same
    run without a focus) stops its warm frames sooner and leaves the subject nearer the photo."""
    from videostyle.style import Stylizer
    from videostyle.video import engine

    clip, style = entering
    painted, report = _moving_stylization(clip, style, tmp_path, "focus")
    warm = [f for f in report["per_frame"] if f["warm"]]
    assert warm and all(f["new_share"] > 0 and f["budget"] > 30 for f in warm)

    run = Stylizer.run
    monkeypatch.setattr(Stylizer, "run", lambda self, *a, focus=None, **kw: run(self, *a, **kw))
    monkeypatch.setattr(engine, "_warm_budget", lambda video, focus, *_: video.iterations)
    unpainted, old = _moving_stylization(clip, style, tmp_path, "whole_frame_rule")
    assert painted >= 0.9 * 1.08, (painted, unpainted)
    assert painted > unpainted, (painted, unpainted)
    old_warm = [f for f in old["per_frame"] if f["warm"]]
    assert sum(f["iterations"] for f in warm) > sum(f["iterations"] for f in old_warm), (warm, old_warm)


def test_the_default_cold_start_paints_an_entering_subject(entering, tmp_path):
    """The default ``--fill cold`` with a first-frame budget of 100 (a 20-iteration cold start): every warm frame
    paints the frame cold first and the subject, starting from that painting, is painted at least as much as the
    rest, to the same 0.9× of the per-frame run's 1.08 as the test above."""
    clip, style = entering
    painted, report = _moving_stylization(clip, style, tmp_path, "cold", first=100)
    warm = [f for f in report["per_frame"] if f["warm"]]
    assert warm and all(f["phases"][0]["part"] == "cold start" for f in warm), warm
    assert painted >= 0.9 * 1.08, painted
