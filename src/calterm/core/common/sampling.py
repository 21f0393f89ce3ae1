"""Bilinear sampling, Gaussian smoothing and binary erosion in numpy: the four scipy.ndimage calls
the single-ring fit makes, with scipy's exact semantics (checked against scipy in
``tests/core/common/test_sampling.py``).

Why not scipy.ndimage: importing it costs ~0.15 s (scipy 1.17 loads its array-API layer, which
imports numpy.testing, numpy.f2py, ...), half of what ``calterm circle`` on a 1 Mpx image may take
as a whole process. The fit's calls are small (a few thousand samples, a binned image), so numpy
is as fast here.
"""

from __future__ import annotations

import numpy as np

TRUNCATE = 4.0  # scipy.ndimage's default: the kernel reaches 4 sigma


def map_coordinates_linear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                           cval: float = np.nan) -> np.ndarray:
    """``scipy.ndimage.map_coordinates(image, [rows, cols], order=1, mode="constant", cval=cval)``.

    A coordinate outside ``[0, n - 1]`` gives ``cval``; inside, the four neighbours are blended,
    the one past the last row/column mirrored back (as scipy does), and a NaN neighbour makes the
    sample NaN even at zero weight (so a sample touching an invalid pixel is invalid).
    """
    image = np.asarray(image, dtype=float)
    rows = np.asarray(rows, dtype=float)
    cols = np.asarray(cols, dtype=float)
    n_rows, n_cols = image.shape
    inside = (rows >= 0) & (rows <= n_rows - 1) & (cols >= 0) & (cols <= n_cols - 1)
    r = np.where(inside, rows, 0.0)
    c = np.where(inside, cols, 0.0)
    r0, c0 = np.floor(r).astype(np.intp), np.floor(c).astype(np.intp)
    r1, c1 = _mirrored_next(r0, n_rows), _mirrored_next(c0, n_cols)
    wr, wc = r - r0, c - c0
    value = ((1 - wr) * ((1 - wc) * image[r0, c0] + wc * image[r0, c1])
             + wr * ((1 - wc) * image[r1, c0] + wc * image[r1, c1]))
    return np.where(inside, value, cval)


def _mirrored_next(index: np.ndarray, n: int) -> np.ndarray:
    nxt = index + 1
    return np.where(nxt > n - 1, max(n - 2, 0), nxt)


def gaussian_kernel(sigma: float, truncate: float = TRUNCATE) -> np.ndarray:
    """scipy.ndimage's normalised Gaussian weights, radius ``int(truncate * sigma + 0.5)``."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=float)
    weights = np.exp(-0.5 / (float(sigma) ** 2) * x**2)
    return weights / weights.sum()


_PAD_MODES = {"nearest": "edge", "reflect": "symmetric", "mirror": "reflect"}


def gaussian_filter1d(values: np.ndarray, sigma: float, axis: int = -1, mode: str = "reflect") -> np.ndarray:
    """``scipy.ndimage.gaussian_filter1d`` (order 0) for the modes nearest, reflect and mirror."""
    values = np.asarray(values, dtype=float)
    weights = gaussian_kernel(sigma)
    radius = weights.size // 2
    moved = np.moveaxis(values, axis, -1)
    n = moved.shape[-1]
    pad = [(0, 0)] * (moved.ndim - 1) + [(radius, radius)]
    padded = np.pad(moved, pad, mode=_PAD_MODES[mode])
    out = weights[radius] * moved
    for k in range(1, radius + 1):
        out = out + weights[radius + k] * (padded[..., radius - k : radius - k + n]
                                           + padded[..., radius + k : radius + k + n])
    return np.moveaxis(out, -1, axis)


def gaussian_filter(values: np.ndarray, sigma: float, mode: str = "reflect") -> np.ndarray:
    """``scipy.ndimage.gaussian_filter`` with one sigma: the 1-D filter along each axis in turn."""
    out = np.asarray(values, dtype=float)
    for axis in range(out.ndim):
        out = gaussian_filter1d(out, sigma, axis=axis, mode=mode)
    return out


def binary_erosion(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """``scipy.ndimage.binary_erosion(mask, iterations=..., border_value=0)`` with its default
    cross-shaped structure: a pixel survives while it and its 4 neighbours are True (outside False)."""
    out = np.asarray(mask, dtype=bool)
    for _ in range(iterations):
        p = np.pad(out, 1, constant_values=False)
        out = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return out
