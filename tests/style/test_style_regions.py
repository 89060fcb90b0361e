"""Style regions and per-frame blends in the Stylizer: guided Gram matrices per region (Gatys et al., CVPR 2017).

The region test uses the real offline backbone (vgg16-hed) at 96×64: the astronaut, a procedural painting ``A``
(test_style_quality's) on the right half and a red checker ``B`` on the left; each half must end up nearer its own
style than the other's (relative Gram distance, measured away from the edge). Plumbing tests use the tiny net.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data
from style_images import checker_style, painted_style

from videostyle.config import StyleConfig
from videostyle.errors import BlendWeightsError, StyleError
from videostyle.style import Stylizer, load_backbone, style_distance
from videostyle.style.backbones import tiny_backbone

H, W = 64, 96


@pytest.fixture(scope="module")
def content() -> np.ndarray:
    return np.asarray(Image.fromarray(data.astronaut()).resize((W, H), Image.Resampling.LANCZOS))


def test_each_region_is_nearer_its_own_style(content: np.ndarray) -> None:
    a, b = painted_style(), checker_style()
    backbone = load_backbone("vgg16-hed", layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2",
                                                  "relu5_1"))
    right = np.zeros((H, W), np.float32)
    right[:, W // 2:] = 1.0
    st = Stylizer([a, b], StyleConfig(model="vgg16-hed"), device="cpu", backbone=backbone)
    res = st.run(content, iterations=60, regions=[(right, (1, 0)), (1.0 - right, (0, 1))], seed=0)
    inside, outside = res.image[:, W // 2 + 8:], res.image[:, :W // 2 - 8]
    d = {name: (style_distance(part, a, backbone), style_distance(part, b, backbone))
         for name, part in (("inside", inside), ("outside", outside))}
    # measured: inside 0.47 to A / 0.76 to B, outside 0.98 to A / 0.51 to B (the photo: 0.65 / 0.65)
    assert d["inside"][0] < 0.8 * d["inside"][1], d
    assert d["outside"][1] < 0.8 * d["outside"][0], d


def test_a_frame_blend_is_the_config_blend_it_names(content: np.ndarray) -> None:
    """``blend_weights=(1, 0)`` on styles A, B stylises exactly as a Stylizer of A alone (the Gram targets are A's)."""
    a, b = painted_style(), checker_style()
    small = content[::2, ::2]
    both = Stylizer([a, b], StyleConfig(), device="cpu", backbone=tiny_backbone(0))
    alone = Stylizer([a], StyleConfig(), device="cpu", backbone=tiny_backbone(0))
    first = both.run(small, iterations=5, blend_weights=(1.0, 0.0), seed=0).image
    np.testing.assert_array_equal(first, alone.run(small, iterations=5, seed=0).image)
    assert not np.array_equal(first, both.run(small, iterations=5, seed=0).image)  # the config's 50/50 blend
    with pytest.raises(BlendWeightsError):
        both.run(small, iterations=1, blend_weights=(1.0,))


def test_a_matte_region_keeps_the_style_term_inside_it(content: np.ndarray) -> None:
    """A single region (a matte): only the pixels inside it enter the style term (its guided Grams), so changing
    the image far outside the matte leaves the style loss as it was, and changing it inside does not."""
    small = content[::2, ::2]
    st = Stylizer([painted_style()], StyleConfig(style_layers=("relu1_1", "relu2_1")), device="cpu",
                  backbone=tiny_backbone(0))
    matte = np.zeros(small.shape[:2], np.float32)
    matte[:, 24:] = 1.0

    def style_term(image: np.ndarray) -> float:
        return st.run(small, init=image, iterations=0, regions=[(matte, None)], seed=0).loss["style"]

    rng = np.random.default_rng(0)
    outside, inside = small.copy(), small.copy()
    outside[:, :6] = rng.integers(0, 256, outside[:, :6].shape)  # beyond the layers' reach of the matte
    inside[:, 30:36] = rng.integers(0, 256, inside[:, 30:36].shape)
    base = style_term(small)
    assert base > 0
    assert style_term(outside) == pytest.approx(base, rel=1e-5)
    assert abs(style_term(inside) - base) > 1e-3 * base
    res = st.run(small, iterations=4, regions=[(matte, None)], seed=0)
    assert res.iterations == 4
    with pytest.raises(StyleError, match=r"regions\[0\] mask: expected shape"):
        st.run(small, iterations=1, regions=[(matte[:, :10], None)])
