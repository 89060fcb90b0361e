"""The look sheet: one keyframe per style × weight in one labelled PNG (tiny random backbone for the plumbing)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from videostyle.cli import main
from videostyle.config import StyleConfig
from videostyle.errors import OutputExistsError, UsageError
from videostyle.look import contact_sheet, default_weights, render_look
from videostyle import media
import synthetic
from videostyle.style.backbones import tiny_backbone


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    scene = synthetic.moving_scene(frames=12, size=(96, 64))
    return synthetic.write_clip(folder / "clip.mp4", scene.frames, fps=24)


@pytest.fixture(scope="module")
def styles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("styles")
    yy, xx = np.mgrid[0:48, 0:48]
    a = np.stack([np.sin(xx / 3.0) * 127 + 128, np.cos(yy / 5.0) * 127 + 128, (xx + yy) % 32 * 8], -1)
    b = np.stack([(xx // 8 % 2) * 255, (yy // 8 % 2) * 200, np.full_like(xx, 60)], -1)
    paths = []
    for name, img in (("stripes.png", a), ("checks.png", b)):
        cv2.imwrite(str(folder / name), cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_RGB2BGR))
        paths.append(str(folder / name))
    return paths


def test_sheet_has_a_cell_per_style_and_weight(tmp_path, clip, styles):
    out = tmp_path / "sheet.png"
    seen = []
    report = render_look(str(clip), styles, str(out), weights=(5, 50, 500), size=48, iterations=6,
                         backbone=tiny_backbone(0), on_cell=seen.append)
    assert [(c.style, c.weight) for c in seen] == [(s, w) for s in styles for w in (5.0, 50.0, 500.0)]
    assert report["at"] == pytest.approx(6 / 24)  # the middle frame by default
    sheet = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    h, w = report["size"][1], report["size"][0]
    # 1 + 3 columns and 1 + 2 rows of cells, each with a label strip
    assert sheet.shape[1] >= 4 * w and sheet.shape[0] >= 3 * h
    # a heavier style weight moves the picture further from the source frame
    with media.open_reader(clip, start=report["at"], max_frames=1, size=(w, h)) as reader:
        source = next(reader).image.astype(float)
    changes = [float(np.abs(c.image.astype(float) - source).mean()) for c in seen[:3]]
    assert 0.0 < changes[0] < changes[1] < changes[2]
    # the sheet holds the cells themselves (pasted unscaled): find the last cell's pixels in it
    last = seen[-1].image
    found = cv2.matchTemplate(sheet, last, cv2.TM_SQDIFF)
    assert found.min() == pytest.approx(0.0, abs=1.0)


def test_sheet_labels_are_drawn(clip, styles):
    frame = np.full((40, 200, 3), 128, np.uint8)  # wide enough for whole labels
    cells = []
    from videostyle.look import LookCell

    for w in (1.0, 2.0):
        cells.append(LookCell(style=styles[0], weight=w, image=frame, iterations=3, seconds=0.1))
    sheet = contact_sheet(frame, "source at 0.00 s", [frame], [styles[0]], (1.0, 2.0), cells)
    def label(col: int, row: int) -> np.ndarray:  # the strip under a cell (cells 200x40, 18 px labels, 4 px gaps)
        x, y = 4 + col * (200 + 4), 4 + row * (40 + 18 + 4)
        return sheet[y + 40 + 1 : y + 40 + 18, x : x + 200]

    source, first, second = label(0, 0), label(1, 1), label(2, 1)
    assert all((s > 200).any() for s in (source, first, second))  # light text on the dark background
    assert not np.array_equal(first, second)  # each cell names its own weight


def test_defaults_and_bad_options(tmp_path, clip, styles):
    base = StyleConfig().style_weight
    assert default_weights() == pytest.approx((0.2 * base, base, 5 * base))
    with pytest.raises(UsageError, match="past the end"):
        render_look(str(clip), styles[:1], str(tmp_path / "s.png"), at=99.0, backbone=tiny_backbone(0))
    with pytest.raises(UsageError, match="must be a .png or .jpg"):
        render_look(str(clip), styles[:1], str(tmp_path / "s.mp4"), backbone=tiny_backbone(0))
    (tmp_path / "there.png").write_bytes(b"x")
    with pytest.raises(OutputExistsError):
        render_look(str(clip), styles[:1], str(tmp_path / "there.png"), backbone=tiny_backbone(0))


def test_cli_look_reports_bad_weights_in_one_line(tmp_path, clip, styles, capsys):
    code = main(["look", str(clip), "--style", styles[0], "--style-weight", "5,-1", "-o", str(tmp_path / "s.png")])
    err = capsys.readouterr().err
    assert code == 2 and "style_weight -1.0" in err and err.count("\n") == 1
    assert not (tmp_path / "s.png").exists()


def test_a_look_at_an_exr_plate_sequence(tmp_path, styles):
    """Plates are shown as the optimiser sees them: display sRGB from scene-linear, unpremultiplied."""
    from plate_files import write

    for n in (1001, 1002, 1003):
        rgb = np.full((48, 64, 3), 0.18, np.float32)
        write(tmp_path / f"plate.{n}.exr", np.dstack([rgb, np.ones((48, 64), np.float32)]), "half")
    seen = []
    report = render_look(str(tmp_path / "plate.####.exr"), styles[:1], str(tmp_path / "s.png"), weights=(5,),
                         size=48, iterations=0, backbone=tiny_backbone(0), on_cell=seen.append)
    assert report["at"] == pytest.approx(1 / 24)  # the middle plate, 1002
    assert np.abs(seen[0].image.astype(int) - 118).max() <= 1  # linear 0.18 shown as sRGB 118/255


def test_a_size_the_backbone_cannot_use_is_refused_before_work(tmp_path, clip, styles, capsys):
    code = main(["look", str(clip), "--style", styles[0], "--size", "16", "-o", str(tmp_path / "s.png"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "use --size" in err and err.count("\n") == 1, err
    assert not (tmp_path / "s.png").exists()
