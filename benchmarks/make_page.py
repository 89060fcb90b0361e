"""Regenerate docs/benchmarks.md: speed, iterations, the temporal trade-off, flow backends and stage shares.

Every section runs the public API (``videostyle.video.stylize``, ``videostyle.metrics.measure_clips``) or the
existing benchmark functions (``benchmarks/flow_bench.py``) on the bundled ``sample_media/`` clip at small CPU
sizes with the offline ``vgg16-hed`` backbone, writes its raw numbers to ``docs/benchmarks/<section>.json`` and its
plot to ``docs/benchmarks/<section>.png``; the page is then rendered from every JSON present, so a section can be
regenerated on its own and merged into the page::

    make benchmarks                                              # everything (about 25 min on 2 CPU cores)
    .venv/bin/python benchmarks/make_page.py --only tradeoff     # one section (speed, demo, tradeoff, flow)
    .venv/bin/python benchmarks/make_page.py --render            # re-render the page from the JSON only
    .venv/bin/python benchmarks/make_page.py --quick             # smoke run, into a temporary folder

``--quick`` uses tiny budgets and writes into a temporary folder (printed), never over the committed page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the page_* modules beside this script

# The page is built in three steps, one module each: page_measure (runs), page_plots (PNGs), page_render (Markdown);
# page_numbers holds the settings and the pure numbers they share. Their names are re-exported here.
from page_measure import *  # noqa: E402,F403
from page_measure import RUNNERS, machine  # noqa: E402
from page_numbers import *  # noqa: E402,F403
from page_numbers import FULL, QUICK, ROOT, SECTIONS  # noqa: E402
from page_plots import *  # noqa: E402,F403
from page_render import *  # noqa: E402,F403
from page_render import section_command, write_page  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--only", default=None, help=f"comma-separated sections to run: {', '.join(SECTIONS)}")
    ap.add_argument("--quick", action="store_true", help="tiny budgets, into a temporary folder (smoke run)")
    ap.add_argument("--render", action="store_true", help="only re-render the page and plots from the JSON present")
    ap.add_argument("--docs", default=None, help="folder holding benchmarks.md and benchmarks/ (default: docs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a shared machine 2 OpenMP threads spin-wait, see the page)")
    ap.add_argument("--keep-work", action="store_true", help="keep the stylised clips (printed folder)")
    args = ap.parse_args(argv)

    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported
    sections = list(SECTIONS) if not args.only else [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}: expected {', '.join(SECTIONS)}")
    docs = Path(args.docs) if args.docs else (Path(tempfile.mkdtemp(prefix="videostyle-bench-quick-"))
                                              if args.quick else ROOT / "docs")
    if args.render:
        print(f"wrote {write_page(docs)}")
        return 0

    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(args.threads)
    params = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="videostyle-bench-"))
    (docs / "benchmarks").mkdir(parents=True, exist_ok=True)
    try:
        for name in sections:
            print(f"[{time.strftime('%H:%M:%S')}] section {name}", flush=True)
            info = machine(args.threads)
            t0 = time.perf_counter()
            data = RUNNERS[name](params[name], work, docs / "benchmarks")
            info["load_average_after"] = list(os.getloadavg())
            data.update(machine=info, elapsed_s=time.perf_counter() - t0, quick=args.quick,
                        command=section_command(name))
            (docs / "benchmarks" / f"{name}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
            print(f"  {name} done in {data['elapsed_s'] / 60:.1f} min", flush=True)
    finally:
        if args.keep_work:
            print(f"kept the stylised clips in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {write_page(docs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
