"""Typed control points: single-peak search in a window, and growing a seed into its whole ring.

A person types (or moves a cursor to) an approximate position; the peak is found to sub-pixel in a
window of ``search_size`` px (the terminal form of "approximate click, then precise click"). From
one such seed and a centre estimate, the ring is followed all the way round with the same spoke
search that extracts rings from a geometry (Dioptas' automatic ring search from one click).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from calterm.core.refine import ControlPoints
from calterm.core.ringpeaks import N_RAYS, PeakSearch, RingTable, extract_rings
from calterm.errors import ComputationError, InputError


def refine_peak(data: np.ndarray, valid: np.ndarray, x: float, y: float, search_size: int = 10) -> tuple[float, float]:
    """The peak nearest to (x, y) uphill, within ``search_size`` px, refined to sub-pixel."""
    ny, nx = data.shape
    if not (-0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5):
        raise InputError(f"point ({x:g}, {y:g}) lies outside the {nx}x{ny} image")
    s = max(1, int(search_size))
    r0, r1 = max(0, int(round(y)) - s), min(ny, int(round(y)) + s + 1)
    c0, c1 = max(0, int(round(x)) - s), min(nx, int(round(x)) + s + 1)
    window = np.where(valid[r0:r1, c0:c1], data[r0:r1, c0:c1], np.nan)
    if np.all(np.isnan(window)):
        raise ComputationError(f"no valid pixel within {s} px of ({x:g}, {y:g})")
    fill = np.nanmin(window)
    smooth = ndimage.gaussian_filter(np.where(np.isnan(window), fill, window), 1.0)
    smooth[np.isnan(window)] = -np.inf
    i, j = _climb(smooth, int(round(y)) - r0, int(round(x)) - c0)
    di = _vertex(smooth, i, j, axis=0)
    dj = _vertex(smooth, i, j, axis=1)
    return float(c0 + j + dj), float(r0 + i + di)


def _climb(a: np.ndarray, i: int, j: int) -> tuple[int, int]:
    """Steepest ascent from (i, j) to the nearest local maximum.

    The brightest pixel of the window could lie on a neighbouring ring; climbing uphill from the
    click can move along its ring but never across the valley to the next one.
    """
    i = int(np.clip(i, 0, a.shape[0] - 1))
    j = int(np.clip(j, 0, a.shape[1] - 1))
    if not np.isfinite(a[i, j]):  # clicked on a masked pixel: start from the best valid one nearby
        i, j = np.unravel_index(int(np.argmax(a)), a.shape)
    while True:
        i0, i1, j0, j1 = max(i - 1, 0), min(i + 2, a.shape[0]), max(j - 1, 0), min(j + 2, a.shape[1])
        block = a[i0:i1, j0:j1]
        di, dj = np.unravel_index(int(np.argmax(block)), block.shape)
        ni, nj = i0 + di, j0 + dj
        if (ni, nj) == (i, j) or block[di, dj] <= a[i, j]:
            return i, j
        i, j = ni, nj


def _vertex(a: np.ndarray, i: int, j: int, axis: int) -> float:
    """Sub-pixel offset of a maximum from a parabola through it and its two neighbours."""
    idx = (i, j)
    lo = list(idx)
    hi = list(idx)
    lo[axis] -= 1
    hi[axis] += 1
    if min(lo) < 0 or hi[axis] >= a.shape[axis]:
        return 0.0
    y0, y1, y2 = a[tuple(lo)], a[idx], a[tuple(hi)]
    denom = y0 - 2 * y1 + y2
    if not np.isfinite(denom) or denom >= 0:
        return 0.0
    return float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))


def grow_ring(
    data: np.ndarray,
    valid: np.ndarray,
    centre_xy: tuple[float, float],
    seed_xy: tuple[float, float],
    ring: int,
    d_A: float,
    search_size: float = 10.0,
    spacing_px: float = 4.0,
) -> ControlPoints:
    """Follow the ring through ``seed_xy`` all round ``centre_xy``; ring is 1-based."""
    r_seed = float(np.hypot(seed_xy[0] - centre_xy[0], seed_xy[1] - centre_xy[1]))
    if r_seed < 3:
        raise InputError("the seed point is on the beam centre: pick a point on a ring")
    phi = np.linspace(0, 2 * np.pi, N_RAYS, endpoint=False)
    radius = np.full(N_RAYS, r_seed)
    search = PeakSearch(half_window_px=search_size, spacing_px=spacing_px)
    pts = ControlPoints.concat([])
    for _ in range(3):  # follow the ring's true shape: re-centre each spoke on the last found radii
        table = RingTable(tuple(centre_xy), phi, radius[:, None])
        pts = extract_rings(data, valid, table, [0], np.array([d_A]), search)
        if len(pts) < 8:
            break
        ang = np.arctan2(pts.rows - centre_xy[1], pts.cols - centre_xy[0]) % (2 * np.pi)
        rad = np.hypot(pts.cols - centre_xy[0], pts.rows - centre_xy[1])
        order = np.argsort(ang)
        smooth = ndimage.median_filter(rad[order], size=9, mode="wrap")
        radius = np.interp(phi, ang[order], smooth, period=2 * np.pi)
        search = PeakSearch(half_window_px=max(3.0, search_size / 2), spacing_px=spacing_px)
    return ControlPoints(pts.rows, pts.cols, np.full(len(pts), ring, dtype=int), pts.d_A)
