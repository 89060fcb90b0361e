"""Procedural style images the style and video tests share (imported by name: pytest puts this folder on
``sys.path``)."""

from __future__ import annotations

import cv2
import numpy as np


def painted_style(h: int = 144, w: int = 192, seed: int = 0) -> np.ndarray:
    """Thick, short brush strokes from a 5-colour palette swirling around two centres, softened (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    palette = np.array([(20, 40, 110), (240, 200, 40), (70, 130, 200), (250, 245, 200), (30, 90, 60)])
    img = np.full((h, w, 3), (25, 35, 80), np.uint8)
    centres = [(0.3 * w, 0.4 * h), (0.75 * w, 0.6 * h)]
    for _ in range(700):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        cx, cy = centres[int(x > w / 2)]
        angle = np.arctan2(y - cy, x - cx) + np.pi / 2 + rng.normal(0, 0.2)  # strokes circle the centres
        length = rng.uniform(4, 9)
        dx, dy = np.cos(angle) * length, np.sin(angle) * length
        color = tuple(int(c) for c in palette[rng.integers(len(palette))])
        cv2.line(img, (int(x - dx), int(y - dy)), (int(x + dx), int(y + dy)), color, thickness=int(rng.integers(3, 6)),
                 lineType=cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 0.8)



def checker_style() -> np.ndarray:
    """Coarse red-on-dark cells at random: statistics nothing like ``painted_style``'s strokes."""
    cells = (np.random.default_rng(1).random((18, 24, 1)) > 0.5) * np.array([200, 30, 30]) + 20
    return np.ascontiguousarray(cv2.resize(cells.astype(np.uint8), (192, 144), interpolation=cv2.INTER_NEAREST))

