"""The benchmarks page (docs/benchmarks.md) rendered from the recorded JSON of every section present."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from page_numbers import SECTIONS, stage_shares, tradeoff_ratios, weight_label
from page_plots import PLOTS


def section_command(name: str) -> str:
    return f".venv/bin/python benchmarks/make_page.py --only {name}"


def _machine_line(m: dict[str, Any], elapsed: float | None) -> str:
    load = m.get("load_average_before") or [float("nan")]
    after = m.get("load_average_after") or [float("nan")]
    took = f", section took {elapsed / 60:.1f} min" if elapsed is not None else ""
    dirty = m.get("uncommitted_package_files")
    tree = f" plus uncommitted changes to {', '.join(f'`{f}`' for f in dirty)}" if dirty else ""
    return (f"*Measured {m.get('date_utc')} at commit `{m.get('git_commit')}`{tree} on a {m.get('cpu_count')}-core "
            f"{m.get('machine')} VM ({'with a GPU, unused' if m.get('gpu') else 'no GPU'}), torch "
            f"{m.get('torch')} with {m.get('torch_threads')} thread(s) (OMP_NUM_THREADS={m.get('omp_num_threads')}), "
            f"OpenCV {m.get('opencv')}; the machine was **shared** with other engineers' jobs (load average "
            f"{load[0]:.1f} before, {after[0]:.1f} after{took}), so wall times carry noise — CPU seconds are shown "
            f"beside them.*")


def _f(x: Any, fmt: str = ".2f") -> str:
    try:
        return format(float(x), fmt)
    except (TypeError, ValueError):
        return "–"


def cpu_share(run: dict[str, Any], threads: int) -> float:
    """CPU seconds / (wall seconds × threads) of a run."""
    return run["cpu_s"] / (run["wall_s"] * threads) if run.get("wall_s") and threads else float("nan")


def render_speed(d: dict[str, Any]) -> list[str]:
    p = d["params"]
    threads = int(d["machine"].get("torch_threads") or 1)
    lines = [f"Sample clip, first {p['frames']} frames (one shot), default temporal weight. Left: working size "
             f"(`--size`) with `--first-iterations {p['first_iterations']} --iterations {p['size_iterations']}`. "
             f"Right: `--size {p['iteration_size']}`, warm budget varied. \"s/frame\" is the wall time of "
             "`Stylizer.run` per frame from the report's `per_frame` records; \"CPU s/frame\" is this process's CPU "
             "time for the whole call (all threads, setup and encoding included) divided by the frames.", "",
             "![s/frame vs size and iterations](benchmarks/speed.png)", "",
             "| size | first frame s | warm frame s (median) | warm frame s (best) | warm iterations run (mean) | "
             "s/iteration (warm) | CPU s/frame | CPU s/iteration | wall s/frame (whole call) | CPU share |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["by_size"]:
        s = r["summary"]
        lines.append(f"| {r['size'][0]}×{r['size'][1]} | {_f(s['first'].get('seconds_median'))} | "
                     f"{_f(s['warm'].get('seconds_median'))} | {_f(s['warm'].get('seconds_min'))} | "
                     f"{_f(s['warm'].get('iterations_mean'), '.1f')} | "
                     f"{_f(s['warm'].get('seconds_per_iteration'), '.3f')} | {_f(r['cpu_s'] / r['frames'])} | "
                     f"{_f(r['cpu_s'] / max(1, sum(r['iterations'])), '.3f')} | {_f(r['wall_s'] / r['frames'])} | {_f(100 * cpu_share(r, threads), '.0f')}% |")
    lines += ["", "| warm budget | warm frame s (median) | warm frame s (best) | warm iterations run (mean) | "
              "stopped early | CPU s/frame | CPU s/iteration | CPU share |", "|---|---|---|---|---|---|---|---|"]
    for r in d["by_iterations"]:
        s = r["summary"]["warm"]
        lines.append(f"| {r['budget']} | {_f(s.get('seconds_median'))} | {_f(s.get('seconds_min'))} | "
                     f"{_f(s.get('iterations_mean'), '.1f')} | {s.get('stopped_early', 0)}/{s.get('count', 0)} | "
                     f"{_f(r['cpu_s'] / r['frames'])} | {_f(r['cpu_s'] / max(1, sum(r['iterations'])), '.3f')} | "
                     f"{_f(100 * cpu_share(r, threads), '.0f')}% |")
    lines += ["", "CPU s/iteration = the whole call's CPU time over all iterations run (so it includes loading the "
              "backbone, style targets, flow, decoding and encoding: an upper bound on one iteration's cost). "
              "CPU share = CPU seconds / (wall seconds × torch threads): how much of its threads' cores the run "
              "actually got (100% = an idle machine). \"best\" = the fastest warm frame, the closest to an idle "
              "machine; the median shows what the shared machine gave."]
    return lines


def render_demo_iterations(d: dict[str, Any], tradeoff: dict[str, Any] | None) -> list[str]:
    run, p = d["run"], d["params"]
    s = run["summary"]
    lines = [f"From the report of the demo run (`make demo` settings: `--size {p['size']} --first-iterations "
             f"{p['first_iterations']} --iterations {p['iterations']}`, "
             f"{'the whole sample clip' if p.get('frames') is None else 'the first frames of the sample clip'}: "
             f"{run['frames']} frames, "
             f"shots start at {run['shots']}). Warm frames start from the warped previous result and may stop "
             "early on convergence.", "", "![iterations per frame](benchmarks/iterations.png)", "",
             "| frames | count | iterations (median) | iterations (mean) | stopped early | s/frame (median) |",
             "|---|---|---|---|---|---|"]
    for kind in ("first", "warm"):
        k = s[kind]
        lines.append(f"| {kind} | {k.get('count', 0)} | {_f(k.get('iterations_median'), '.0f')} | "
                     f"{_f(k.get('iterations_mean'), '.1f')} | {k.get('stopped_early', 0)} | "
                     f"{_f(k.get('seconds_median'))} |")
    if s["first"].get("iterations_median") and s["warm"].get("iterations_median") is not None:
        ratio = s["warm"]["iterations_median"] / s["first"]["iterations_median"]
        budget = p["iterations"] / p["first_iterations"]
        note = (f" — {s['warm'].get('stopped_early', 0)} of {s['warm']['count']} warm frames stopped early, so this "
                f"is the budget ratio ({budget:.2f}), not convergence" if s["warm"].get("stopped_early", 0) == 0
                else f" (budget ratio {budget:.2f}; {s['warm']['stopped_early']} of {s['warm']['count']} warm frames "
                "stopped early)")
        lines += ["", f"Warm / first iterations (medians): **{ratio:.2f}**{note}."]
    if tradeoff:
        lines += ["", f"Warm-frame iterations in the trade-off runs of (c) ({tradeoff['params']['frames']} frames, "
                  f"budgets {tradeoff['params']['first_iterations']}/{tradeoff['params']['iterations']}):", "",
                  "| temporal weight | warm iterations (median) | stopped early |", "|---|---|---|"]
        for r in tradeoff["rows"]:
            w = r["summary"]["warm"]
            if w.get("count"):
                lines.append(f"| {weight_label(r['weight'])} | {_f(w.get('iterations_median'), '.0f')} | "
                             f"{w.get('stopped_early', 0)}/{w['count']} |")
    return lines


def render_tradeoff(d: dict[str, Any]) -> list[str]:
    p = d["params"]
    ratios = {r["weight"]: r for r in tradeoff_ratios(d["rows"])}
    lines = [f"Sample clip, first {p['frames']} frames (one shot: a camera path over the astronaut photo with an "
             f"occluder), `--size {p['size']} --first-iterations {p['first_iterations']} --iterations "
             f"{p['iterations']}`, bundled style, lossless FFV1 output, then `videostyle metrics` "
             "(`measure_clips`): warping error of Lai et al. with k=1 and flow on the input, and the mean "
             "Gram-matrix style distance of the stylised frames to the style image (VGG16-HED features). Weight 0 "
             "is the per-frame baseline (every frame from the content with the first-frame budget).", "",
             "![warping error vs style distance](benchmarks/tradeoff.png)", "",
             "| temporal weight | warping error | × baseline | style distance | × baseline | content distance | "
             "warm iterations (median) | wall s | CPU s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        q = ratios[r["weight"]]
        lines.append(f"| {weight_label(r['weight'])} | {_f(r['warping_error'], '.5f')} | "
                     f"{_f(q['warping_error_ratio'], '.3f')} | {_f(r['style_distance'], '.4f')} | "
                     f"{_f(q['style_distance_ratio'], '.3f')} | {_f(r['content_distance'], '.3f')} | "
                     f"{_f(r['summary']['warm'].get('iterations_median'), '.0f')} | {_f(r['wall_s'], '.0f')} | "
                     f"{_f(r['cpu_s'], '.0f')} |")
    if d["rows"]:
        lines += ["", f"The input clip's own warping error (dashed line; what `videostyle metrics` reports as the "
                  f"input floor): {_f(d['rows'][0]['input_warping_error'], '.5f')}. It is a reference rather than a "
                  "hard floor: warping a detailed photo by sub-pixel flow does not reproduce the next frame exactly, "
                  "whereas a temporally held result is built from the same warp of its previous frame, so it can "
                  "score below the input; very low values with a rising style distance are the sign of a result "
                  "frozen to its first frame and blurred by repeated warping."]
    if d.get("frames_sheet"):
        lines += ["", "The last frames of each run (enlarged 2×, nearest neighbour) — look for flicker between "
                  "columns in the per-frame row, and for smears, ghost trails or washed-out texture at high weights:",
                  "", f"![frames of each run](benchmarks/{d['frames_sheet']})"]
    return lines


def render_flow(d: dict[str, Any]) -> list[str]:
    sizes = [tuple(s) for s in d["params"]["sizes"]]
    lines = ["Reuses `benchmarks/flow_bench.py` (`speed_rows`, `accuracy_rows`; details and more conditions in "
             "[benchmarks/flow.md](../benchmarks/flow.md)). Speed: a photo panned by (3.5, −2.0) px per frame, one "
             "OpenCV thread, best of " + str(d["params"]["repeat"]) + "; \"pair()\" = backward + forward flow + "
             "consistency mask, what the engine computes per frame. Accuracy: mean end-point error on the "
             "synthetic scenes (256×192) and the mask's catch rate on the occluder scene (deterministic).", "",
             "![flow speed vs EPE](benchmarks/flow.png)", "",
             "| method | " + " | ".join(f"{w}×{h} pair()/s (CPU-time rate)" for w, h in sizes)
             + " | EPE translation | EPE affine+occluder | disoccluded → unreliable |",
             "|---|" + "---|" * (len(sizes) + 3)]
    acc = {r["method"]: r for r in d["accuracy"]}
    for method in d["methods"]:
        cells = []
        for size in sizes:
            s = next((r for r in d["speed"] if r["method"] == method and tuple(r["size"]) == size), None)
            cells.append(f"{_f(s['pair_s'], '.1f')} ({_f(s['pair_s_cpu'], '.1f')})" if s else "–")
        a = acc.get(method, {})
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {_f(a.get('epe', {}).get('translation'), '.3f')} | "
                     f"{_f(a.get('epe', {}).get('affine+occluder'), '.3f')} | "
                     f"{_f(a.get('disoccluded_unreliable', float('nan')) * 100, '.1f')}% |")
    return lines


def render_stages(d: dict[str, Any]) -> list[str]:
    run = d["run"]
    lines = ["From the same demo run's report (`stages`). decode, shots and flow run in a background thread "
             "(the `Prefetcher`) and overlap with optimise; `waiting` is the main thread blocked on them. Shares are "
             f"of the total wall time ({_f(run['stages']['total'], '.1f')} s; CPU {_f(run['cpu_s'], '.1f')} s over "
             f"{run['frames']} frames).", "", "![stage times](benchmarks/stages.png)", "",
             "| stage | seconds | share of total | thread |", "|---|---|---|---|"]
    for r in stage_shares(run["stages"]):
        lines.append(f"| {r['stage']} | {_f(r['seconds'], '.2f')} | {_f(r['share'] * 100, '.2f')}% | "
                     f"{'background' if r['background'] else 'main'} |")
    return lines


def render_moving(d: dict[str, Any]) -> list[str]:
    p = d["params"]
    base_w, temporal_w = (f"{w:g}" for w in p["weights"])
    lines = [f"Where things move or enter. `entering`: a generated clip (scikit-image's `coffee` under a slow camera) "
             "that a textured subject (the centre of `chelsea`, a cat's face) enters from the left, a thirtieth of "
             "the frame width per frame; `sample`: the first frames of the bundled clip (a camera move over the "
             f"astronaut while the cat's face enters from the right). {p['frames']} frames at long side "
             f"{p['size'] * 3 // 2}, `--first-iterations {p['first_iterations']} --iterations {p['iterations']}`, "
             f"default weights; per-frame baseline (`--temporal-weight {base_w}`) against the default temporal "
             f"weight ({temporal_w}), both with `benchmarks/temporal_bench.py`. Moving-content stylisation: "
             "`videostyle metrics`' ratio of how far the moving/new pixels are from the photo to how far the "
             "static ones are (about 1: painted alike). Legibility: correlation of blurred luminance between result "
             "and source on the subject's pixels. Time per frame: wall seconds per frame (set-up excluded) and CPU "
             "seconds per frame of the whole call.", ""]
    if d.get("note"):
        lines += [d["note"], ""]
    lines += ["| scene | run | warping error | style distance | moving-content stylisation | legibility | "
              "warm iterations (median) | warm effort (mean) | wall s/frame | CPU s/frame |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name, runs in d["results"].items():
        for w, r in runs.items():
            label = "per-frame" if w == base_w else f"temporal {w}"
            lines.append(f"| {name} | {label} | {_f(r['warping_error'], '.5f')} | {_f(r['style_distance'], '.4f')} | "
                         f"{_f(r['moving_stylization'], '.3f')} | {_f(r.get('subject_legibility'), '.3f')} | "
                         f"{_f(r['iterations_warm_median'], '.0f')} | {_f(r['effort_warm_mean'], '.0f')} | "
                         f"{_f(r['seconds_per_frame'], '.1f')} | {_f(r['cpu_seconds_per_frame'], '.1f')} |")
    lines += ["", "Temporal against per-frame (ratios), with the targets of issue 12 (warping error: Lai et al.'s "
              "occlusion-only mask; in brackets with motion boundaries left out of the mask too, where measured):", "",
              "| scene | warping error (≤ 0.3) | style distance (≤ 1.0) | moving-content stylisation (≥ 0.9) | "
              "legibility (≥ 0.95) | wall time per frame (≤ 0.35) | CPU time per frame |", "|---|---|---|---|---|---|---|"]
    for name, runs in d["results"].items():
        r = runs[temporal_w]
        boundary = r.get("warping_error_boundary_masked_ratio")
        warping = _f(r["warping_error_ratio"], ".3f") + (f" ({_f(boundary, '.3f')})" if boundary is not None else "")
        lines.append(f"| {name} | {warping} | {_f(r['style_distance_ratio'], '.3f')} | "
                     f"{_f(r['moving_stylization_ratio'], '.3f')} | {_f(r.get('legibility_ratio'), '.3f')} | "
                     f"{_f(r['time_per_frame_ratio'], '.3f')} | {_f(r['cpu_per_frame_ratio'], '.3f')} |")
    lines += ["", "Warm effort: full-frame-equivalent iterations (those spent on crops around the new content count "
              "by their area). Source, per-frame and temporal frames of each scene (enlarged 2×): the subject must "
              "be painted like the rest in the temporal rows, not a photo cut-out.", "",
              f"![frames of each scene](benchmarks/{d['frames_sheet']})"]
    return lines


def render_style_weight(d: dict[str, Any]) -> list[str]:
    p = d["params"]
    lines = [f"Single photos of a person ({', '.join(p['photos'])}, scikit-image) at {p['size']} px, "
             f"{p['iterations']} iterations from the content, style `{d['settings']['style']}`, each style weight; "
             "content distance (relu4_2, relative: how far the subject's features moved) and style distance "
             "(relative Gram distance to the style: lower = more painted), `benchmarks/style_weight_bench.py`. "
             "The default is 10.", "",
             "| photo | style weight | content distance | style distance | iterations |", "|---|---|---|---|---|"]
    for photo, rows in d["results"].items():
        for r in rows:
            lines.append(f"| {photo} | {r['style_weight']:g} | {_f(r['content_distance'], '.3f')} | "
                         f"{_f(r['style_distance'], '.3f')} | {r['iterations']} |")
    lines += ["", f"![the photo and each style weight](benchmarks/{d['strip']})"]
    return lines


def _duration(results: dict[str, dict[str, Any]]) -> str:
    """How long the sections present took when they were measured."""
    parts = [(name, results[name]["elapsed_s"] / 60) for name in SECTIONS if results.get(name, {}).get("elapsed_s")]
    if not parts:
        return "about 25 minutes on the shared 2-core VM"
    return (f"{sum(m for _, m in parts):.0f} minutes on the shared 2-core VM: "
            + ", ".join(f"{name} {m:.0f}" for name, m in parts) + " min")


def render_page(results: dict[str, dict[str, Any]]) -> str:
    """The Markdown page from whichever section results are present."""
    lines = ["# Benchmarks", "",
             "Generated by `benchmarks/make_page.py` — do not edit by hand. Regenerate everything with",
             "", "```sh", "make benchmarks", "```", "",
             f"({_duration(results)}; `.venv/bin/python benchmarks/make_page.py --only SECTION` redoes one "
             "section and re-renders this page from every `docs/benchmarks/*.json` present; `--render` only "
             "re-renders). All runs: CPU, offline `vgg16-hed` backbone, the bundled `sample_media/sample.mp4` "
             "(320×180, 24 fps, a cut at frame 35) and `sample_media/style.png`. Raw numbers: "
             "`docs/benchmarks/<section>.json`. Older per-component benchmarks: `benchmarks/*.md`. Sections (a) and "
             "(d) were last measured in November 2026, on the earlier sample clip (a red/white checker box where the "
             "cat now enters) and with the earlier default style weight (50); rerun them with `--only`.", "",
             "**Threads and a shared machine.** The page is measured with one torch thread (`--threads 1`, "
             "OMP_NUM_THREADS=1) on a 2-core VM that other engineers' test runs and experiments kept busy (load "
             "averages below). With two OpenMP threads on an oversubscribed machine every operation's barrier waits "
             "for a descheduled sibling: on 2026-11-22 at load 12, `Stylizer.run` at 128×72 took 3.7–5.8 s wall and "
             "1.1–1.2 s CPU per iteration with 2 threads against 1.3 s wall and 0.20 s CPU with 1 thread. So CPU "
             "seconds (1 thread) are the number to compare and to scale from — they are what one idle core does; "
             "wall seconds are what this shared machine gave, and the CPU share (CPU s / wall s) says how shared it "
             "was. On an idle machine wall ≈ CPU with 1 thread; 2 threads help only when both cores are free (a "
             "quiet-machine 1-vs-2-thread comparison was not possible in this session).", ""]

    def header(title: str, name: str) -> None:
        d = results[name]
        lines.extend([f"## {title}", "", f"```sh\n{section_command(name)}\n```", "",
                      _machine_line(d["machine"], d.get("elapsed_s")), ""])
        if d.get("quick"):
            lines.extend(["**Smoke run (`--quick`): tiny budgets, the numbers mean nothing.**", ""])

    def missing(title: str, name: str) -> None:
        lines.extend([f"## {title}", "", f"Not generated yet: `{section_command(name)}`.", ""])

    parts = [("(a) Seconds per frame against size and iterations", "speed", render_speed),
             ("(b) Iterations of first vs warm frames", "demo",
              lambda d: render_demo_iterations(d, results.get("tradeoff"))),
             ("(c) Flicker vs style: warping error against temporal weight", "tradeoff", render_tradeoff),
             ("(d) Flow backends: speed and accuracy", "flow", render_flow),
             ("(e) Where the time goes: stages at the demo settings", "demo", render_stages),
             ("(f) Painting what moves: new content against the per-frame baseline", "moving", render_moving),
             ("(g) Style weight against legibility", "style_weight", render_style_weight)]
    for title, name, render in parts:
        if name in results:
            header(title, name)
            lines.extend(render(results[name]))
            lines.append("")
        else:
            missing(title, name)
    return "\n".join(lines).rstrip() + "\n"


def load_results(folder: Path) -> dict[str, dict[str, Any]]:
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in SECTIONS
            if (folder / f"{name}.json").is_file()}


def write_page(docs: Path) -> Path:
    folder = docs / "benchmarks"
    results = load_results(folder)
    for name, data in results.items():
        for plot_name, plot in PLOTS[name]:
            plot(data, folder / f"{plot_name}.png")
    page = docs / "benchmarks.md"
    page.write_text(render_page(results))
    return page
