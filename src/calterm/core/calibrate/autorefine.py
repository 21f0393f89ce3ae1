"""From a rough geometry with correct ring labels to a converged fit: extract, fit, grow, repeat.

The first fit uses the first few resolved rings with tilts fixed, then frees them. Rings are then
added inside-out (4 -> 8 -> 16 -> 32 -> all), re-extracting every ring around the improved geometry
with a window that narrows as the residual falls, so closely spaced outer rings are labelled only
once the geometry can tell them apart (labelling every ring from a rough start mislabels outer
ones). Points far off the fit (MAD rule) are dropped before each refit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from calterm.core.calibrate.refine import ControlPoints, RefineResult, delta_tth, refine_geometry
from calterm.core.calibrate.ringpeaks import PeakSearch, extract_rings, ring_table
from calterm.core.common.detectors import mean_pixel_m
from calterm.core.common.geometry import Constraints, PoniGeometry
from calterm.core.common.history import History
from calterm.core.common.jobs import JobContext

OUTLIER_MAD = 5.0
MIN_POINTS_PER_RING = 6
FIRST_RINGS = 4
GROWTH = 2  # ring set doubles each stage (x3 measured faster but 2x less accurate on outer rings)
INTERMEDIATE_POINTS = 3000  # points fitted at intermediate stages
RING_MARGIN = 12  # rings tried beyond the outermost one found so far
# Rays averaged per spoke in the final passes after the first (ringpeaks._fan): about the geometry the
# first final pass found, each ray's predicted ring radius is within a few hundredths of a pixel, so
# the averaged profile is not blurred, and the points' scatter (noise, where the ring falls on the
# pixel grid) halves. Earlier stages keep one ray: averaged from a geometry still a pixel or more off
# (no start values, a distorted detector), the fan let a wrong start fit well enough to win (measured:
# a spotty CeO2 and a distorted LaB6 image, no start values, ended doubtful).
FINAL_FAN = 4


@dataclass(frozen=True)
class FitState:
    geometry: PoniGeometry
    sigma: dict[str, float]
    points: ControlPoints
    residual_rad: np.ndarray
    n_rejected: int
    # The single-ray points of the first final pass and their residuals at ``geometry``, when the
    # points are averaged (FINAL_FAN): the verdict judges these, on the scale its noise-ratio limits
    # were measured on (averaged points scatter half as much while a spotty ring's or a distortion's
    # systematic part does not, so its limits would tighten by 2x: two right fits ended doubtful).
    judged: ControlPoints | None = None
    judged_residual_rad: np.ndarray | None = None


@dataclass(frozen=True)
class RefineOptions:
    """User knobs of the automatic refinement (Dioptas' refinement options)."""

    constraints: Constraints
    max_rings: int | None = None
    half_window_px: float = 15.0
    delta_2th_deg: float | None = None
    i_min_factor: float = 0.1
    i_max: float | None = None
    passes: int = 3  # final passes at most: one with a single ray per spoke, then averaged (FINAL_FAN)
    picker: object = None  # a peakpickers.PickerExtractor (Massif/blob) instead of the spoke search


def _extract(data, valid, table, geometry: PoniGeometry, rings: list[int], d_A, opts: RefineOptions,
             half_px: float, fan: int = 1) -> ControlPoints:
    """Peaks on ``rings`` around ``geometry``: spokes by default, or the user's pyFAI picker."""
    if opts.picker is not None:
        return opts.picker(geometry, rings, half_px)
    search = PeakSearch(half_window_px=half_px, i_min_factor=opts.i_min_factor, i_max=opts.i_max, fan=fan)
    return extract_rings(data, valid, table, rings, d_A, search)


def _on_image(table) -> list[int]:
    return [n for n in range(table.radius.shape[1]) if np.isfinite(table.radius[:, n]).sum() >= 2]


def _inliers(residual: np.ndarray) -> np.ndarray:
    """Points within OUTLIER_MAD robust σ of the median residual."""
    med = np.median(residual)
    mad = 1.4826 * np.median(np.abs(residual - med))
    return np.abs(residual - med) <= max(OUTLIER_MAD * mad, 2e-6)


def _window_px(state: FitState, pixel_m: float, opts: RefineOptions) -> float:
    """Half-width of the search window: a few times the residual in pixels, within sane limits."""
    if opts.delta_2th_deg is not None:
        return float(np.clip(np.radians(opts.delta_2th_deg) * state.geometry.dist / pixel_m, 1.5, 60))
    tth = 2 * np.arcsin(np.clip(state.geometry.wavelength * 1e10 / (2 * state.points.d_A), 0, 1))
    px = state.residual_rad * state.geometry.dist / pixel_m / np.cos(tth) ** 2
    sigma = 1.4826 * np.median(np.abs(px - np.median(px)))
    return float(np.clip(6 * sigma + 2.0, 3.0, opts.half_window_px))


def _fit(geometry, points, detector, constraints, history, stage,
         with_sigma: bool = True) -> tuple[RefineResult, ControlPoints, int]:
    res = refine_geometry(geometry, points, detector, constraints, history, stage, with_sigma=with_sigma)
    keep = _inliers(res.residual_rad)
    kept, dropped = points.subset(keep), int((~keep).sum())
    if dropped > 0.005 * len(points):
        res = refine_geometry(res.geometry, kept, detector, constraints, history, stage + " (outliers dropped)",
                              with_sigma=with_sigma)
    else:  # a handful of outliers barely move a robust (soft-L1) fit: drop them without a refit
        res = replace(res, residual_rad=res.residual_rad[keep])
    return res, kept, dropped


def first_fit(data, valid, detector, start: PoniGeometry, d_A: np.ndarray, tth_rad: np.ndarray,
              opts: RefineOptions, history: History, ctx: JobContext,
              seeds: ControlPoints | None = None) -> FitState | None:
    """Fit the first resolved rings (plus any grown seed rings); None if too few rings are found."""
    ctx.report("first rings")
    table = ring_table(start, detector, data.shape, tth_rad)
    candidates = _on_image(table)[: 2 * FIRST_RINGS]
    pts = _extract(data, valid, table, start, candidates, d_A, opts, opts.half_window_px)
    chosen = [r for r in np.unique(pts.ring) if (pts.ring == r).sum() >= MIN_POINTS_PER_RING][:FIRST_RINGS]
    pts = pts.subset(np.isin(pts.ring, chosen))
    if seeds is not None and len(seeds):
        pts = ControlPoints.concat([pts.subset(~np.isin(pts.ring, np.unique(seeds.ring))), seeds])
    if len(np.unique(pts.ring)) < 2 and len(pts) < 12:
        return None
    base = opts.constraints
    no_tilt = base.with_fixed(fix=("rot1", "rot2", "rot3"))
    geometry = start
    if no_tilt.free:
        geometry = refine_geometry(start, pts, detector, no_tilt, history, "first rings, no tilt",
                                   with_sigma=False).geometry
    res, kept, dropped = _fit(geometry, pts, detector, base, history, "first rings")
    return FitState(res.geometry, res.sigma, kept, res.residual_rad, dropped)


def grow(data, valid, detector, state: FitState, d_A: np.ndarray, tth_rad: np.ndarray,
         opts: RefineOptions, history: History, ctx: JobContext) -> FitState:
    """Add rings inside-out and re-extract everything around each improved geometry."""
    pixel_m = mean_pixel_m(detector)
    limit = len(tth_rad) if opts.max_rings is None else min(opts.max_rings, len(tth_rad))
    targets = []
    t = FIRST_RINGS * GROWTH
    while t < limit:
        targets.append(t)
        t *= GROWTH
    targets += [limit] * opts.passes
    final = 0
    for i, target in enumerate(targets):
        final += target == limit
        stage = f"rings 1-{target}" + (f", pass {final}" if target == limit else "")
        ctx.report(f"refine: {stage}", i, len(targets))
        table = ring_table(state.geometry, detector, data.shape, tth_rad)
        # Beyond the last ring that gave peaks, try only a few more: outer rings too weak or too
        # crowded to resolve would cost time for nothing.
        reach = int(state.points.ring.max()) + RING_MARGIN
        rings = [n for n in _on_image(table) if n < min(target, reach)]
        pts = _extract(data, valid, table, state.geometry, rings, d_A, opts, _window_px(state, pixel_m, opts),
                       FINAL_FAN if final >= 2 else 1)
        counts = np.bincount(pts.ring, minlength=len(tth_rad) + 1)
        pts = pts.subset(counts[pts.ring] >= MIN_POINTS_PER_RING)
        if len(np.unique(pts.ring)) < 2:
            break
        previous = state.geometry
        if target != limit:
            # Intermediate fits only steer the next extraction: an evenly thinned set is enough.
            pts = pts.subset(np.arange(len(pts)) % max(1, len(pts) // INTERMEDIATE_POINTS + 1) == 0)
        # σ only where the fit can be the last one: intermediate stages only steer the next extraction
        final_stage = target == limit
        res, kept, dropped = _fit(state.geometry, pts, detector, opts.constraints, history, stage, final_stage)
        mislabelled = _off_label(kept, res.residual_rad, tth_rad)
        if mislabelled.any():
            # Rings whose peaks sit far from their label were taken from a neighbour: drop them and
            # refit; the next extraction, around the better geometry, finds them again correctly.
            kept = kept.subset(~mislabelled)
            res = refine_geometry(res.geometry, kept, detector, opts.constraints, history, stage + " (relabel)",
                                  with_sigma=final_stage)
        state = FitState(res.geometry, res.sigma, kept, res.residual_rad, dropped)
        if final == 1:
            single = kept
        if final >= 2 and _converged(previous, state.geometry):
            break
    if final >= 2:
        state = replace(state, judged=single, judged_residual_rad=delta_tth(state.geometry, detector, single))
    if not state.sigma:  # growth stopped at an intermediate stage: its fit is the result
        res = refine_geometry(state.geometry, state.points, detector, opts.constraints, None, "uncertainty")
        state = replace(state, sigma=res.sigma)
    return state


def _off_label(points: ControlPoints, residual: np.ndarray, tth_rad: np.ndarray) -> np.ndarray:
    """Points of rings whose mean residual exceeds a quarter of the gap to the neighbouring ring."""
    bad = np.zeros(len(points), dtype=bool)
    for ring in np.unique(points.ring):
        sel = points.ring == ring
        t = tth_rad[ring - 1]
        gaps = np.abs(np.delete(tth_rad, ring - 1) - t)
        if gaps.size and abs(np.median(residual[sel])) > 0.25 * gaps.min():
            bad |= sel
    return bad


def _converged(a: PoniGeometry, b: PoniGeometry) -> bool:
    return (abs(a.dist - b.dist) < 1e-7 and abs(a.poni1 - b.poni1) < 1e-8 and abs(a.poni2 - b.poni2) < 1e-8
            and abs(a.rot1 - b.rot1) < 1e-7 and abs(a.rot2 - b.rot2) < 1e-7)
