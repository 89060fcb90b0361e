"""Several GPUs, simulated (no test machine has one): CUDA_VISIBLE_DEVICES parsing and Ray's ``num_gpus=1`` tasks
each given one GPU of a cluster that declares two. The local executor's one worker per GPU, pinned to the ids parsed
here, is tested in test_batch_executors.py."""

from __future__ import annotations

import os
import sys
import time

import pytest

from videostyle.batch import executors
from videostyle.batch.executors import parse_visible_devices


@pytest.mark.parametrize(("value", "count", "ids"), [
    (None, 0, []),
    (None, 3, ["0", "1", "2"]),  # unset: every device torch sees
    ("3,7", 2, ["3", "7"]),  # physical ids kept: a worker pinned to "7" sees that GPU
    (" 2 , 5 ", 2, ["2", "5"]),
    ("3,7,9", 2, ["3", "7"]),  # no more than torch sees
    ("", 0, []),
    ("-1", 0, []),
    ("1,-1,2", 1, ["1"]),  # CUDA stops at the first invalid entry
    ("0,x,1", 1, ["0"]),
    ("GPU-8b4f1c2e-aaaa-bbbb-cccc-1234567890ab,MIG-4a1b", 2,
     ["GPU-8b4f1c2e-aaaa-bbbb-cccc-1234567890ab", "MIG-4a1b"]),  # UUIDs, MIG instances
])
def test_cuda_visible_devices_parsing(value, count, ids) -> None:
    assert parse_visible_devices(value, count) == ids


def report_gpu(delay: float, threads: int | None = None) -> tuple[int, str | None]:
    """Runs in a worker: which GPU it was pinned to."""
    time.sleep(delay)  # long enough that both workers take a task
    return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")


@pytest.mark.ray
def test_ray_tasks_take_one_gpu_each_of_a_cluster_with_two() -> None:
    ray = executors.require_ray()
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)  # two simulated GPUs
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    try:
        backend = executors.make_backend("ray")
        assert backend.resources == {"num_gpus": 1}
        handles = [backend.submit(report_gpu, (2.0,), f"job {i}") for i in range(3)]  # type: ignore[arg-type]
        results = [backend.outcome(h) for h in handles]
        backend.close()
    finally:
        ray.shutdown()
    gpus = [gpu for _, gpu in results]
    assert all(g in ("0", "1") for g in gpus), gpus  # each task sees exactly one of the two
    assert set(gpus[:2]) == {"0", "1"}, gpus  # the first two ran at once, on different GPUs
