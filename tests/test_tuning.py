"""The tuning record: every warm-frame and flow heuristic lives in :class:`videostyle.tuning.EngineTuning`, and a
record handed to the engine reaches the flow stage, the Stylizer and the frame store's hash."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import videostyle
from videostyle.tuning import TUNING, EngineTuning

FIELDS = [
    "focus_threshold", "min_focus_pixels", "max_crop_share", "crop_margin", "min_level_side", "feather_grow",
    "feather_sigma", "focus_settle", "short_settle", "warm_gain", "reached_gain", "short_gain", "gain_window",
    "reach_share",
    "adam_lr", "min_guided_positions",
    "cold_scale", "cold_share", "min_cold_iterations", "cold_detail", "min_matched", "inpaint_radius", "pass_blend",
    "min_flow_side", "occlusion_rel", "occlusion_abs", "boundary_rel", "boundary_abs",
    "min_shot_frames",
    "student_key_patches", "student_key_patch", "student_perceptual_layers", "student_l1_weight",
    "student_style_share", "student_crop", "student_learning_rate", "student_ema", "student_window",
    "student_converged", "student_pairs", "student_pair_bytes", "student_blocks", "student_close_share",
    "student_carry_feather", "student_carry_fill", "student_carry_nearness", "student_carry_split",
    "student_carry_correlation",
]

#: numeric module constants that are facts, not tuning: limits on inputs, formats, timeouts, the memory model,
#: caches (module path relative to the package: names)
NOT_TUNING = {
    "config.py": {"DEFAULT_CRF", "RAY_CONNECT_TIMEOUT", "RAY_MAX_RETRIES", "DEFAULT_MASK_FEATHER"},
    "metrics.py": {"MOVING_PX"},
    "_checks.py": {"SUGGEST_CUTOFF"},
    "look.py": {"LOOK_SIZE", "LOOK_ITERATIONS", "_LABEL_H", "_PAD"},
    "flow/_checks.py": {"MIN_SIDE"},
    "_prefetch.py": {"_POLL_S"},
    "media/mattes.py": {"ASPECT_TOLERANCE"},
    "media/images.py": {"MAX_IMAGE_PIXELS"},
    "media/plates.py": {"MAX_PLATE_PIXELS"},
    "media/probe.py": {"DEFAULT_FPS", "MAX_VIDEO_PIXELS"},
    "media/reader.py": {"_EPS"},
    "media/writer/sequence.py": {"SEQUENCE_FIRST_NUMBER"},
    "media/writer/video.py": {"AUDIO_LOOKAHEAD"},
    "media/_damage.py": {"_MKV_SEGMENT"},
    "style/images.py": {"MAX_STYLE_SIDE", "MAX_STYLE_PIXELS"},
    "style/measures.py": {"GRID"},  # the backbone's pooling stride, a fact of the network
    "style/losses.py": {"_EPS"},
    "style/memory.py": {"MB", "MARGIN", "FIXED_BYTES", "STYLE_BYTES_PER_PIXEL", "DECODE_BYTES_PER_PIXEL"},
    "style/targets.py": {"_STYLE_CACHE_SIZE", "_CONTENT_CACHE_SIZE"},
    "style/weights.py": {"DOWNLOAD_TIMEOUT_S"},
    "video/store.py": {"STORE_VERSION"},
    "fast/netfile.py": {"VERSION"},
    "fast/render.py": {"RENDER_BATCH"},  # speed only: the same frames in any batch
    "fast/train.py": {"CHECKPOINT_SECONDS"},  # how much training a kill can cost, not what is trained
    "video/lock.py": {"REFRESH_SECONDS", "STALE_SECONDS", "POLL_SECONDS"},  # farm manners, not the frames
}


def _numeric(node: ast.expr) -> bool:
    """A number, or arithmetic on numbers and names (``256 * MB``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return _numeric(node.operand)
    if isinstance(node, ast.BinOp):
        return (_numeric(node.left) or isinstance(node.left, ast.Name)) and \
            (_numeric(node.right) or isinstance(node.right, ast.Name))
    return False


def _numeric_constants() -> dict[str, set[str]]:
    root = Path(videostyle.__file__).parent
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) and node.value is not None else []
            value = getattr(node, "value", None)
            for target in targets:
                name = getattr(target, "id", "")
                if name.lstrip("_").isupper() and value is not None and _numeric(value):
                    found.setdefault(path.relative_to(root).as_posix(), set()).add(name)
    return found


def test_the_record_lists_every_heuristic_once() -> None:
    assert [f.name for f in dataclasses.fields(EngineTuning)] == FIELDS
    with pytest.raises(dataclasses.FrozenInstanceError):
        TUNING.focus_settle = 0.25  # type: ignore[misc]
    assert TUNING.changed() == {}
    assert EngineTuning(focus_settle=0.25).changed() == {"focus_settle": 0.25}


def test_no_tuning_constant_lives_outside_the_record() -> None:
    found = _numeric_constants()
    stray = {module: sorted(names - NOT_TUNING.get(module, set())) for module, names in found.items()}
    assert {m: n for m, n in stray.items() if n and m != "tuning.py"} == {}, \
        "a numeric module constant: put it in EngineTuning, or in NOT_TUNING if it is not a heuristic"
    stale = {m: sorted(n - found.get(m, set())) for m, n in NOT_TUNING.items() if n - found.get(m, set())}
    assert stale == {}, "NOT_TUNING names constants that no longer exist"


def test_the_flow_thresholds_come_from_the_record() -> None:
    from videostyle.flow import FlowEstimator, consistency_mask

    bwd = np.zeros((20, 30, 2), np.float32)
    bwd[:, 15:] = (0.0, 3.0)  # a motion boundary between columns 14 and 15; the forward flow disagrees
    fwd = np.zeros_like(bwd)
    assert consistency_mask(bwd, fwd).min() == 0.0
    lenient = dataclasses.replace(TUNING, occlusion_abs=1e9, boundary_abs=1e9)
    assert consistency_mask(bwd, fwd, tuning=lenient)[:17].min() == 1.0  # inside the frame: all reliable
    assert FlowEstimator("dis-ultrafast", tuning=lenient).tuning is lenient


def test_the_crop_rules_come_from_the_record() -> None:
    from videostyle.style.focus import feathered, focus_boxes

    wide = np.zeros((96, 128), np.float32)
    wide[10:80, 10:110] = 1.0
    assert focus_boxes(wide, margin=8, min_side=16) == [(0, 0, 128, 96)]  # over max_crop_share: the whole frame
    assert focus_boxes(wide, margin=8, min_side=16, tuning=dataclasses.replace(TUNING, max_crop_share=1.0)) == [
        (2, 2, 118, 88)]
    dot = np.zeros((32, 32), np.float32)
    dot[10:13, 10:13] = 1.0  # 9 pixels
    assert focus_boxes(dot, margin=2, min_side=4) == []
    assert focus_boxes(dot, margin=2, min_side=4, tuning=dataclasses.replace(TUNING, min_focus_pixels=9)) != []
    assert feathered(dot, tuning=dataclasses.replace(TUNING, feather_grow=0, feather_sigma=0.5))[16, 16] == 0.0
    assert feathered(dot)[14, 14] > 0.0


def test_a_tuning_handed_to_the_engine_reaches_the_stylizer_and_the_store_hash(cut_clip, tiny_stylizers, tmp_path,
                                                                               monkeypatch) -> None:
    from videostyle.config import StylizeConfig, VideoConfig
    from videostyle.media import write_image
    from videostyle.style import Stylizer
    from videostyle.video import open_store, stylize

    clip = cut_clip(3, 3)  # no cut within the clip
    write_image(tmp_path / "style.png", np.full((32, 32, 3), 120, np.uint8))
    config = StylizeConfig(input=str(clip), output=str(tmp_path / "out.mkv"), styles=(str(tmp_path / "style.png"),),
                           video=VideoConfig(size=32, first_iterations=2, iterations=1),
                           work_dir=str(tmp_path / "work"), quiet=True)
    seen = []
    run = Stylizer.run
    monkeypatch.setattr(Stylizer, "run", lambda self, *a, **kw: (seen.append(self.tuning), run(self, *a, **kw))[1])
    tuning = EngineTuning(focus_settle=0.25, pass_blend=0.75)
    stylize(config, tuning=tuning)
    assert seen and all(t is tuning for t in seen)
    store = open_store(config, force=False, tuning=tuning)
    assert store.config_hash != open_store(dataclasses.replace(config, work_dir=str(tmp_path / "w2")),
                                           force=False).config_hash
