"""Colour preservation (Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017).

* ``luminance``: style transfer on the luminance channel only. The style's luminance is matched to the content's
  mean and standard deviation, the optimisation sees grayscale images, and the result's luminance is recombined
  with the content's I/Q (YIQ) chroma — the output keeps the content's colours exactly (up to clipping).
* ``histogram``: the style image's colours are mapped to the content's mean and covariance (a linear transform,
  ``A = Σc^½ Σs^-½``) before its Gram targets are computed; the transfer then runs in RGB as usual.

All functions take float arrays H×W×3 in [0, 1] (RGB) and return float32.
"""

from __future__ import annotations

import numpy as np

_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]], dtype=np.float64
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    return (np.asarray(rgb, dtype=np.float64) @ _RGB_TO_YIQ.T).astype(np.float32)


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    return (np.asarray(yiq, dtype=np.float64) @ _YIQ_TO_RGB.T).astype(np.float32)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 YCbCr, all channels in [0, 1] (Cb, Cr centred at 0.5)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    y = rgb @ np.array([0.299, 0.587, 0.114])
    cb = 0.5 + (rgb[..., 2] - y) * 0.564
    cr = 0.5 + (rgb[..., 0] - y) * 0.713
    return np.stack([y, cb, cr], axis=-1).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Y (H×W) of an RGB image."""
    return (np.asarray(rgb, dtype=np.float64) @ _RGB_TO_YIQ[0]).astype(np.float32)


def gray3(y: np.ndarray) -> np.ndarray:
    """A single channel replicated to H×W×3."""
    return np.repeat(np.asarray(y, dtype=np.float32)[..., None], 3, axis=-1)


def match_luminance(style_y: np.ndarray, content_y: np.ndarray) -> np.ndarray:
    """Gatys et al. eq. (7): ``L_s' = σ_c/σ_s (L_s − μ_s) + μ_c``."""
    s_mu, s_sd = float(style_y.mean()), float(style_y.std())
    c_mu, c_sd = float(content_y.mean()), float(content_y.std())
    return np.clip((style_y - s_mu) * (c_sd / max(s_sd, 1e-6)) + c_mu, 0.0, 1.0).astype(np.float32)


def combine_luminance(y: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """The luminance ``y`` with the chroma (I, Q) of ``content_rgb``, back in RGB [0, 1]."""
    yiq = rgb_to_yiq(content_rgb)
    yiq[..., 0] = y
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0)


def _sqrtm(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 1e-8, None)
    power = -0.5 if inverse else 0.5
    return (vecs * vals**power) @ vecs.T


def color_stats(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (3) and covariance (3×3) of the pixels of an RGB image."""
    px = np.asarray(rgb, dtype=np.float64).reshape(-1, 3)
    return px.mean(axis=0), np.cov(px, rowvar=False) + 1e-6 * np.eye(3)


def match_color(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Map the colours of ``source`` to the mean and covariance of ``reference`` (Gatys et al. 2017, §4.1)."""
    return transfer_color(source, source, reference)


def transfer_color(image: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Apply to ``image`` the linear colour map that takes the mean and covariance of the pixels ``before`` to those
    of ``after`` (``A = Σa^½ Σb^-½``; any shapes ending in 3)."""
    b_mu, b_cov = color_stats(before)
    a_mu, a_cov = color_stats(after)
    a = _sqrtm(a_cov) @ _sqrtm(b_cov, inverse=True)
    px = np.asarray(image, dtype=np.float64).reshape(-1, 3)
    out = (px - b_mu) @ a.T + a_mu
    return np.clip(out.reshape(np.shape(image)), 0.0, 1.0).astype(np.float32)


def stats_close(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], tol: float = 0.02) -> bool:
    """Whether two :func:`color_stats` are close enough to share colour-matched style targets."""
    (ma, ca), (mb, cb) = a, b
    return bool(np.abs(ma - mb).max() <= tol and np.abs(np.sqrt(np.diag(ca)) - np.sqrt(np.diag(cb))).max() <= tol)
