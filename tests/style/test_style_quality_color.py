"""Colour preservation with the real offline backbone (vgg16-hed) at 128 px (Gatys et al. 2017).

With ``color="luminance"`` the output keeps the content's chroma (mean |ΔCb|, |ΔCr| small against the content)
while the texture still moves to the style: the style distance measured on luminance falls clearly, and the
plain RGB style distance falls too.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data
from style_images import painted_style
from test_style_quality import LAYERS, SIZE

from videostyle.config import StyleConfig
from videostyle.style import Stylizer, load_backbone, style_distance
from videostyle.style.color import gray3, luminance, rgb_to_ycbcr


def _gray(img: np.ndarray) -> np.ndarray:
    return (gray3(luminance(img / 255.0)) * 255).astype(np.uint8)


#: a strong style weight (issue 4's acceptance), so that colour preservation is tested where it matters most
STRONG = 50.0

@pytest.fixture(scope="module")
def backbone():
    return load_backbone("vgg16-hed", layers=LAYERS)


def test_luminance_transfer_keeps_chroma_and_still_stylises(backbone) -> None:
    content = np.asarray(Image.fromarray(data.astronaut()).resize((SIZE, SIZE), Image.Resampling.LANCZOS))
    style = painted_style()
    st = Stylizer([style], StyleConfig(model="vgg16-hed", color="luminance", style_weight=STRONG), device="cpu",
                  backbone=backbone)
    res = st.run(content, iterations=100, seed=0)
    out, ref = rgb_to_ycbcr(res.image / 255.0), rgb_to_ycbcr(content / 255.0)
    d_cb, d_cr = (float(np.abs(out[..., i] - ref[..., i]).mean()) for i in (1, 2))
    assert d_cb < 0.02 and d_cr < 0.02, (d_cb, d_cr)
    # without colour preservation the chroma moves far more: keeping the content's is a real constraint
    free = Stylizer([style], StyleConfig(model="vgg16-hed", style_weight=STRONG), device="cpu", backbone=backbone)
    rgb = rgb_to_ycbcr(free.run(content, iterations=30, seed=0).image / 255.0)
    assert float(np.abs(rgb[..., 1:] - ref[..., 1:]).mean()) > 3 * max(d_cb, d_cr)
    # the luminance moved to the style's texture
    before = style_distance(_gray(content), _gray(style), backbone)
    after = style_distance(_gray(res.image), _gray(style), backbone)
    assert after * 3 <= before, (before, after)
    assert style_distance(res.image, style, backbone) < style_distance(content, style, backbone)
