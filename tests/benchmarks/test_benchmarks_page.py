"""The benchmarks page generator (benchmarks/make_page.py): numbers and rendering from recorded JSON, no runs."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def page():
    spec = importlib.util.spec_from_file_location("make_page", ROOT / "benchmarks" / "make_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MACHINE = {"date_utc": "2026-11-22 23:00 UTC", "cpu_count": 2, "machine": "x86_64", "torch": "2", "torch_threads": 2,
           "omp_num_threads": "2", "opencv": "5", "gpu": False, "load_average_before": [1.0, 1.0, 1.0],
           "load_average_after": [2.0, 2.0, 2.0], "git_commit": "abc1234"}


def _frame(warm: bool, iterations: int, seconds: float, stopped: bool = False) -> dict:
    return {"warm": warm, "iterations": iterations, "seconds": seconds, "stopped_early": stopped,
            "shot_start": not warm}


def _run(page, frames: list[dict], stages: dict | None = None) -> dict:
    return {"frames": len(frames), "size": [128, 72], "model": "vgg16-hed", "shots": [0], "wall_s": 10.0,
            "cpu_s": 15.0, "stages": stages or {"decode": 0.1, "optimise": 8.0, "encode": 1.0, "total": 10.0},
            "iterations": [f["iterations"] for f in frames], "per_frame": frames,
            "summary": page.frame_summary(frames)}


def test_frame_summary_splits_first_and_warm(page):
    s = page.frame_summary([_frame(False, 100, 4.0), _frame(True, 40, 2.0), _frame(True, 10, 0.5, True),
                            _frame(True, 40, 1.5)])
    assert s["first"]["count"] == 1 and s["first"]["iterations_median"] == 100
    assert s["warm"]["count"] == 3 and s["warm"]["iterations_median"] == 40
    assert s["warm"]["stopped_early"] == 1
    assert s["warm"]["seconds_min"] == 0.5
    assert s["warm"]["seconds_per_iteration"] == pytest.approx(4.0 / 90)
    assert page.frame_summary([])["warm"] == {"count": 0}


def test_stage_shares_are_of_total_and_flag_background(page):
    rows = {r["stage"]: r for r in page.stage_shares(
        {"decode": 1.0, "flow": 2.0, "setup": 1.0, "optimise": 6.0, "store": 0.5, "waiting": 0.5, "encode": 1.0,
         "total": 10.0})}
    assert rows["optimise"]["share"] == pytest.approx(0.6)
    assert rows["flow"]["background"] and not rows["optimise"]["background"]
    main = sum(r["share"] for r in rows.values() if not r["background"])
    assert main == pytest.approx(1.0)  # main-thread stages + "other" account for the whole wall time
    assert rows["other (main thread)"]["seconds"] == pytest.approx(1.0)


def test_tradeoff_ratios_against_weight_zero(page):
    rows = [{"weight": 0.0, "warping_error": 0.04, "style_distance": 0.2},
            {"weight": 200.0, "warping_error": 0.001, "style_distance": 0.22}]
    r = page.tradeoff_ratios(rows)
    assert r[0]["warping_error_ratio"] == 1.0
    assert r[1]["warping_error_ratio"] == pytest.approx(0.025)
    assert r[1]["style_distance_ratio"] == pytest.approx(1.1)
    assert math.isnan(page.tradeoff_ratios(rows[1:])[0]["warping_error_ratio"])  # no baseline


def test_weight_labels(page):
    assert [page.weight_label(w) for w in (0.0, 10.0, 200.0, 1000.0, 10000.0, 2500.0)] == [
        "0 (per-frame)", "10", "200 (default)", "1e3", "1e4", "2500"]


def test_page_renders_from_present_json_and_plots(page, tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    frames = [_frame(False, 100, 4.0), _frame(True, 40, 2.0), _frame(True, 12, 0.6, True)]
    demo = {"params": {"size": 128, "first_iterations": 100, "iterations": 40, "frames": None},
            "run": _run(page, frames), "machine": MACHINE, "elapsed_s": 60.0}
    rows = [{"weight": w, "warping_error": we, "input_warping_error": 0.003, "style_distance": sd,
             "content_distance": 0.8, **_run(page, frames)}
            for w, we, sd in ((0.0, 0.05, 0.15), (200.0, 0.001, 0.16), (10000.0, 0.0002, 0.2))]
    tradeoff = {"params": {"frames": 3, "size": 128, "first_iterations": 100, "iterations": 40},
                "rows": rows, "machine": MACHINE, "elapsed_s": 60.0}
    (folder / "demo.json").write_text(json.dumps(demo))
    (folder / "tradeoff.json").write_text(json.dumps(tradeoff))
    text = page.write_page(tmp_path).read_text()
    assert "make benchmarks" in text
    assert "benchmarks/make_page.py --only tradeoff" in text
    assert "Not generated yet: `.venv/bin/python benchmarks/make_page.py --only speed`" in text
    assert "200 (default) | 0.00100 | 0.020 |" in text  # warping error and its ratio to the baseline
    assert "shared" in text and "2026-11-22 23:00 UTC" in text
    for name in ("iterations", "stages", "tradeoff"):
        png = folder / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](benchmarks/{name}.png)" in text
    assert not (folder / "speed.png").exists()


def test_frame_columns_spread_and_end_with_the_last(page):
    assert page.frame_columns(8) == [0, 2, 5, 7]
    assert page.frame_columns(3) == [0, 1, 2]
    assert page.frame_columns(70, 4)[-1] == 69


def test_moving_and_style_weight_sections_render_their_numbers(page):
    def entry(**over):
        e = {"warping_error": 0.08, "style_distance": 0.13, "moving_stylization": 1.0, "subject_legibility": 0.7,
             "iterations_warm_median": None, "effort_warm_mean": None, "seconds_per_frame": 10.0,
             "cpu_seconds_per_frame": 9.0}
        e.update(over)
        return e

    temporal = entry(warping_error=0.008, iterations_warm_median=60, effort_warm_mean=41.5, seconds_per_frame=3.0,
                     warping_error_ratio=0.1, style_distance_ratio=0.95, moving_stylization_ratio=0.93,
                     legibility_ratio=1.02, time_per_frame_ratio=0.3, cpu_per_frame_ratio=0.31)
    moving = {"params": page.FULL["moving"], "results": {"entering": {"0": entry(), "200": temporal}},
              "frames_sheet": "moving_frames.png", "machine": MACHINE}
    weights = {"params": page.FULL["style_weight"], "settings": {"style": "starry_night.jpg"},
               "results": {"astronaut": [{"style_weight": 10.0, "content_distance": 0.5, "style_distance": 0.155,
                                          "iterations": 100}]}, "strip": "style_weight.png", "machine": MACHINE}
    text = page.render_page({"moving": moving, "style_weight": weights})
    assert "| entering | temporal 200 | 0.00800 | 0.1300 | 1.000 | 0.700 | 60 | 42 | 3.0 | 9.0 |" in text
    assert "| entering | 0.100 | 0.950 | 0.930 | 1.020 | 0.300 | 0.310 |" in text
    assert "benchmarks/moving_frames.png" in text and "benchmarks/style_weight.png" in text
    assert "| astronaut | 10 | 0.500 | 0.155 | 100 |" in text
