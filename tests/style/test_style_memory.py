"""The memory model (videostyle/style/memory.py): the peak estimate and the refusal of a size that cannot fit."""

from __future__ import annotations

import os

import pytest

from videostyle.errors import InsufficientMemoryError
from videostyle.style import memory


def test_memory_estimate_grows_with_size_and_matches_measurements():
    small, large = memory.estimate_bytes((256, 192), model="vgg16-hed"), memory.estimate_bytes((768, 576),
                                                                                                model="vgg16-hed")
    assert small < large
    # measured growth of the peak (see videostyle/style/memory.py): 274 MB and 1213 MB; the estimate is above both
    assert small > 274 * 2**20 and large > 1213 * 2**20
    assert large < 3 * 1213 * 2**20  # but not absurdly so
    assert memory.estimate_bytes((512, 512), model="vgg19") > memory.estimate_bytes((512, 512), model="vgg16")


def test_nothing_fits_says_so():
    with pytest.raises(InsufficientMemoryError, match="smallest working size does not fit"):
        memory.check_working_size(384, lambda s: (s, s), model="vgg19", available=10 * 2**20)


def test_available_memory_is_measured_on_linux():
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("needs /proc/meminfo")
    value = memory.available_memory("cpu")
    assert value is not None and value > 0

