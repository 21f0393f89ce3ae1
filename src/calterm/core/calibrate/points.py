"""Typed control points: single-peak search in a window, and growing a seed into its whole ring.

A person types (or moves a cursor to) an approximate position; the peak is found to sub-pixel in a
window of ``search_size`` px (the terminal form of "approximate click, then precise click"). From
one such seed and a centre estimate, the ring is followed all the way round with the same spoke
search that extracts rings from a geometry (Dioptas' automatic ring search from one click).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from calterm.core.calibrate.refine import ControlPoints
from calterm.core.calibrate.ringpeaks import PeakSearch, sampling_mask, spoke_peaks
from calterm.core.common.circle_fits import arc_coverage_deg, kasa_fit
from calterm.errors import ComputationError, InputError

TRACK_WINDOW_PX = 3.0  # half-window while tracing: a ring's drift between spokes is far smaller
MAX_GAP_DEG = 45.0  # a masked stretch longer than this ends the trace in that direction


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
    """Follow the ring through ``seed_xy`` all round ``centre_xy`` (a rough centre is enough); ring
    is 1-based.

    The ring is traced step by step from the seed in both directions, each spoke searched in a
    narrow window around the radius the previous peaks predict. A wrong centre only makes the
    radius drift smoothly, which the tracking follows, and the narrow window never jumps to a
    neighbouring ring; masked gaps are crossed on the predicted track.
    """
    valid = sampling_mask(valid)  # once, not per spoke
    cx, cy = centre_xy
    r_seed = float(np.hypot(seed_xy[0] - cx, seed_xy[1] - cy))
    if r_seed < 3:
        raise InputError("the seed point is on the beam centre: pick a point on a ring")
    phi0 = float(np.arctan2(seed_xy[1] - cy, seed_xy[0] - cx))
    wide = PeakSearch(half_window_px=float(search_size), spacing_px=spacing_px)
    first = spoke_peaks(data, valid, centre_xy, np.array([phi0]), np.array([r_seed]), np.array([float(search_size)]), wide)
    if first is None:
        raise ComputationError(f"no ring peak within {search_size:g} px of ({seed_xy[0]:.1f}, {seed_xy[1]:.1f})")
    r0 = float(first[1][0])
    step = spacing_px / r0
    half = TRACK_WINDOW_PX
    narrow = PeakSearch(half_window_px=half, spacing_px=spacing_px)
    max_misses = int(np.radians(MAX_GAP_DEG) / step)
    angles, radii = [phi0], [r0]
    for direction in (+1, -1):
        r_last, slope, misses = r0, 0.0, 0
        for k in range(1, int(np.pi / step) + 1):
            phi = phi0 + direction * k * step
            predicted = r_last + slope * (misses + 1)
            hit = spoke_peaks(data, valid, centre_xy, np.array([phi]), np.array([predicted]), np.array([half]), narrow)
            if hit is None:
                misses += 1
                if misses > max_misses:
                    break
                continue
            r = float(hit[1][0])
            slope = 0.7 * slope + 0.3 * (r - r_last) / (misses + 1)  # smoothed radius drift per step
            r_last, misses = r, 0
            angles.append(phi)
            radii.append(r)
    a, r = np.array(angles), np.array(radii)
    traced = ControlPoints(rows=cy + r * np.sin(a), cols=cx + r * np.cos(a), ring=np.full(a.size, ring, dtype=int),
                           d_A=np.full(a.size, float(d_A)))
    return _beyond_gaps(data, valid, traced, spacing_px)


def _beyond_gaps(data, valid, traced: ControlPoints, spacing_px: float) -> ControlPoints:
    """Reach the parts of the ring the trace could not (behind a long masked gap): fit a circle to
    the traced points, which all lie on the one ring, and search every spoke around it."""
    xy = np.column_stack([traced.cols, traced.rows])
    if len(traced) < 8 or arc_coverage_deg(xy, tuple(xy.mean(axis=0))) > 330:
        return traced
    cx, cy, r = kasa_fit(xy)
    scatter = float(np.std(np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) - r))
    half = min(float(np.clip(4 * scatter + 1.5, TRACK_WINDOW_PX, 2 * TRACK_WINDOW_PX)), 0.5 * r)
    phi = np.arange(0, 2 * np.pi, spacing_px / r)
    found = spoke_peaks(data, valid, (cx, cy), phi, np.full(phi.size, r), np.full(phi.size, half),
                        PeakSearch(half_window_px=half, spacing_px=spacing_px))
    if found is None or found[0].size <= len(traced):
        return traced
    which, radius = found
    return ControlPoints(rows=cy + radius * np.sin(phi[which]), cols=cx + radius * np.cos(phi[which]),
                         ring=np.full(which.size, traced.ring[0], dtype=int), d_A=np.full(which.size, traced.d_A[0]))
