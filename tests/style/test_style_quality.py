"""Stylisation quality with the real offline backbone (vgg16-hed, ImageNet-trained VGG16 convolutions) at 128 px.

Content: a scikit-image photo. Style: a procedural "painting" (short thick strokes from a small palette) made here,
so the test needs no media files. Acceptance of issue 4: after 100 iterations the relative Gram distance to the
style has fallen at least 5× from the content image's own, while the content distance stays below the style image's.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data
from style_images import painted_style

from videostyle.config import StyleConfig
from videostyle.style import Stylizer, content_distance, load_backbone, style_distance

SIZE = 128
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1")


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("vgg16-hed", layers=LAYERS)


@pytest.fixture(scope="module")
def content() -> np.ndarray:
    return np.asarray(Image.fromarray(data.astronaut()).resize((SIZE, SIZE), Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def style() -> np.ndarray:
    return painted_style()


def test_vgg16_hed_stylisation_moves_to_the_style_and_keeps_the_content(backbone, content, style) -> None:
    # at the strong style weight of issue 4's acceptance (the default, 10, keeps faces legible: docs/style.md)
    st = Stylizer([style], StyleConfig(model="vgg16-hed", style_weight=50.0), device="cpu", backbone=backbone)
    res = st.run(content, iterations=100, seed=0)
    d_before = style_distance(content, style, backbone)
    d_after = style_distance(res.image, style, backbone)
    assert d_after * 5 <= d_before, (d_before, d_after)
    style_as_content = np.asarray(Image.fromarray(style).resize((SIZE, SIZE)))
    assert content_distance(res.image, content, backbone) < content_distance(style_as_content, content, backbone)
    # the result is a new image, not the content with a tint: the Gram distance of a colour-matched content is far
    tinted = np.clip(content.astype(float) * 0.5 + style.reshape(-1, 3).mean(0) * 0.5, 0, 255).astype(np.uint8)
    assert style_distance(tinted, style, backbone) > 2 * d_after
