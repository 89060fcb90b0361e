"""Batch manifests and scale-out: run many ``stylize`` jobs locally or on a Ray cluster.

Python API::

    from videostyle.batch import load_manifest, plan_batch, run_batch, format_summary

    plan = plan_batch(load_manifest("shots.toml"), force=False)   # validates every job, or raises ManifestError
    result = run_batch(plan, executor="ray", shot_parallel=True)  # one JobResult per job, failures collected
    print(format_summary(result)); raise SystemExit(result.exit_code)

Ray is optional (``pip install 'videostyle[ray]'``); the local executor needs nothing more.
"""

from .executors import EXECUTORS, BatchResult, JobResult, format_summary, run_batch
from .manifest import (
    Job,
    Manifest,
    ManifestError,
    load_manifest,
    option_keys,
    parse_manifest,
)
from .plan import Plan, PlannedJob, format_plan, plan_batch

__all__ = [
    "EXECUTORS",
    "BatchResult",
    "Job",
    "JobResult",
    "Manifest",
    "ManifestError",
    "Plan",
    "PlannedJob",
    "format_plan",
    "format_summary",
    "load_manifest",
    "option_keys",
    "parse_manifest",
    "plan_batch",
    "run_batch",
]
