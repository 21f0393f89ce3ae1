"""Find the most prominent ring in an image with no points given (automatic single-ring mode).

Real single-ring images have a beam stop with bright diffuse scattering at its edge, detector or
plate edges, and rings that may be arcs of a circle centred outside the image. So:

1. Bin to about 512 px, compress the dynamic range (log) and band-pass (difference of Gaussians)
   so the diffuse background vanishes and thin bright features stand out.
2. RANSAC on the brightest band-pass pixels: circles through random triples (vectorised), scored
   by how many bright pixels lie on them; radius and centre limited to what a ring in this image
   can be (the centre may lie outside, up to one image size away).
3. The best-supported candidates are re-scored on the image by their two-sided contrast — along
   the circle, the intensity must drop both inside *and* outside. An edge (beam stop, detector
   border, a plate's round edge) drops on one side only and scores nothing, so it loses to a ring.

The winner is accurate to a binned pixel or two; :func:`calterm.core.circle.fit.fit_ring` then
measures ring peaks along it at full resolution and fits them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calterm.core.common import sampling  # scipy.ndimage's calls without its 0.15 s import
from calterm.core.common.circle_fits import circle_from_three
from calterm.errors import ComputationError

TARGET_SIZE = 256  # binned image size for the search: coarse enough that a weak ring beats the noise
CANDIDATE_FRACTION = 0.02  # brightest band-pass pixels used as ring candidates
HYPOTHESES = 3000
SHORTLIST = 40


@dataclass(frozen=True)
class RingCandidate:
    """A ring found in the image, in full-resolution pixels."""

    center: tuple[float, float]
    radius: float
    contrast: float  # mean two-sided contrast along the circle (log intensity)
    support: int  # candidate pixels on the circle (binned image)
    binning: int


def _binned(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Binned log image (NaN-free) and its validity mask, and the binning factor."""
    b = max(1, int(np.ceil(max(image.shape) / TARGET_SIZE)))
    rows, cols = (image.shape[0] // b) * b, (image.shape[1] // b) * b
    part = image[:rows, :cols]
    # zero is what detectors write outside their sensitive area (a mar plate's corners, gaps, a
    # masked beam stop): no ring can be seen there, so the search ignores it
    valid = np.isfinite(part) & (part != 0)
    data = np.where(valid, part, 0.0)
    count = valid.reshape(rows // b, b, cols // b, b).sum(axis=(1, 3))
    total = data.reshape(rows // b, b, cols // b, b).sum(axis=(1, 3))
    valid_small = count * 2 >= b * b
    small = np.where(valid_small, total / np.maximum(count, 1), np.nan)
    floor = np.percentile(small[valid_small], 1) if valid_small.any() else 0.0
    logged = np.log1p(np.maximum(np.where(valid_small, small, floor) - floor, 0.0))
    return logged, valid_small, b


def _contrast(smooth: np.ndarray, circles: np.ndarray, delta: float, n_angles: int = 360) -> np.ndarray:
    """Sum over angles of min(I(r) - I(r - delta), I(r) - I(r + delta)) per full circle; NaN outside ignored."""
    ang = np.linspace(0, 2 * np.pi, n_angles, endpoint=False)
    scores = np.zeros(len(circles))
    for i, (cx, cy, r) in enumerate(circles):
        rr = np.array([r - delta, r, r + delta])[:, None]
        x, y = cx + rr * np.cos(ang), cy + rr * np.sin(ang)
        v = sampling.map_coordinates_linear(smooth, y.ravel(), x.ravel()).reshape(3, -1)
        c = np.minimum(v[1] - v[0], v[1] - v[2])
        c = c[np.isfinite(c)]
        # sum over the visible arc per full circle: a full ring beats an equally sharp short arc, and
        # (unclipped) noise scores below zero, so a circle through noise loses to one along a ring
        scores[i] = np.sum(c) / n_angles if c.size else 0.0
    return scores


def find_ring(image: np.ndarray, seed: int = 0, min_radius_px: float = 15.0) -> RingCandidate:
    """The most prominent ring of ``image`` (NaN = invalid), or ComputationError if there is none."""
    logged, valid, b = _binned(image)
    h, w = logged.shape
    fill = np.where(valid, logged, np.median(logged[valid]) if valid.any() else 0.0)
    smooth = sampling.gaussian_filter(fill, 1.0)
    band = smooth - sampling.gaussian_filter(fill, 6.0)
    # ignore the band-pass response within reach of invalid regions and the image border
    usable = sampling.binary_erosion(valid, iterations=4)
    values = band[usable]
    if values.size < 100:
        raise ComputationError("automatic ring search: too few valid pixels")
    threshold = np.quantile(values, 1 - CANDIDATE_FRACTION)
    ys, xs = np.nonzero(usable & (band >= threshold) & (band > 0))
    if xs.size < 30:
        raise ComputationError("automatic ring search: no ring-like features in the image")
    pts = np.column_stack([xs, ys]).astype(float)
    rng = np.random.default_rng(seed)
    pool = pts[rng.choice(len(pts), min(len(pts), 2500), replace=False)]
    triples = pool[rng.integers(0, len(pool), size=(HYPOTHESES, 3))]
    circles = circle_from_three(triples)
    size = max(h, w)
    ok = np.isfinite(circles).all(axis=1)
    ok &= (circles[:, 2] >= min_radius_px / b) & (circles[:, 2] <= 2.0 * size)
    ok &= (np.abs(circles[:, 0] - w / 2) <= 1.5 * size) & (np.abs(circles[:, 1] - h / 2) <= 1.5 * size)
    circles = circles[ok]
    if len(circles) == 0:
        raise ComputationError("automatic ring search: no circle fits the bright features")
    sample = pool[: min(len(pool), 1500)].astype(np.float32)
    c32 = circles.astype(np.float32)
    dist = np.hypot(sample[None, :, 0] - c32[:, 0, None], sample[None, :, 1] - c32[:, 1, None])
    support = np.sum(np.abs(dist - c32[:, 2, None]) <= 1.5, axis=1)
    order = np.argsort(support)[::-1][: SHORTLIST]
    shortlist = circles[order]
    # polish each shortlisted circle on its own supporting pixels (all candidates, not the sample)
    polished = []
    for cx, cy, r in shortlist:
        d = np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - r)
        on = pts[d <= 2.0]
        if len(on) >= 10:
            from calterm.core.common.circle_fits import taubin_fit

            cx, cy, r = taubin_fit(on)
        polished.append((cx, cy, r))
    polished = np.array(polished)
    contrast = _contrast(smooth, polished, delta=3.0)
    best = int(np.argmax(contrast))
    if contrast[best] <= 0:
        raise ComputationError("automatic ring search: no ring stands out of the background; give points")
    cx, cy, r = polished[best]
    # binned pixel (i) covers full pixels i*b .. i*b+b-1: its centre is at i*b + (b-1)/2
    off = (b - 1) / 2
    return RingCandidate((float(cx * b + off), float(cy * b + off)), float(r * b), float(contrast[best]),
                         int(support[order[best]]), b)
