"""Fixtures of the flow tests: synthetic frame pairs with ground-truth flow and occlusions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from synthetic.flow import SyntheticPair, synthetic_pair
from videostyle.flow import FlowEstimator


@pytest.fixture(autouse=True, scope="module")
def _restore_opencv_threads():
    previous = cv2.getNumThreads()
    yield
    cv2.setNumThreads(previous)


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def translation(texture) -> SyntheticPair:
    return synthetic_pair(texture, translate=(3.5, -2.0), rotate_deg=0.0, zoom=1.0, occluder=None)


@pytest.fixture(scope="module")
def full(texture) -> SyntheticPair:
    """Translation (3.5, −2) + 2° rotation + 2 % zoom, with an opaque box moving by (12, 4) across it."""
    return synthetic_pair(texture, translate=(3.5, -2.0), rotate_deg=2.0, zoom=1.02)


@pytest.fixture(scope="module")
def full_medium(full) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return FlowEstimator("dis-medium").pair(full.frame_t, full.frame_prev)

