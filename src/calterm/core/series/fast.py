"""The fast path of a series: recalibrate an image from the previous image's geometry.

Peaks are searched only in a narrow band about the rings the previous geometry predicts
(:func:`calterm.core.calibrate.ringpeaks.extract_rings`), one refinement from the previous
geometry follows (no centre search, no comb, no ring growth), and a short verdict says whether
to trust it: enough of the rings seen before found again, and an RMS near the one before.
A detector that moved more than the band puts its rings outside it: few peaks, a doubtful
verdict, and the series falls back to the full pipeline (:mod:`calterm.core.series.run`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calterm.core.calibrate.refine import ControlPoints, refine_geometry
from calterm.core.calibrate.ringpeaks import PeakSearch, extract_rings, ring_table
from calterm.core.common.geometry import Constraints, PoniGeometry

HALF_WINDOW_PX = 6.0  # the band about each predicted ring (a move beyond it falls back)
MAX_POINTS = 2500  # thinned evenly: more adds time, not accuracy
SPOKES_PER_RING = 96  # every 3.75°: extraction is most of the time, and it runs once per pass
MAX_RINGS = 12  # rings searched, spread over the radius
MIN_POINTS_PER_RING = 6
RINGS_FOUND = 0.7  # at least this fraction of the rings the previous image gave
RMS_GROWTH = 2.0  # and an RMS at most this many times the previous one (plus a floor)
RMS_FLOOR_RAD = 2e-5
MAX_PASSES = 4  # extractions about the refined geometry
CONVERGED_M = 2e-6  # ... until dist, poni1, poni2 move less than this (then ~0.5 µm a pass)


@dataclass(frozen=True)
class Reference:
    """What the fast path needs from the previous good image."""

    geometry: PoniGeometry
    detector: object
    rings: tuple[int, ...]  # 0-based indices of the rings it fitted
    rms_rad: float


@dataclass(frozen=True)
class FastFit:
    geometry: PoniGeometry
    points: ControlPoints
    residual_rad: np.ndarray
    status: str  # "good" or "doubtful"
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status == "good"


def _extract(data, valid, ref: Reference, geometry: PoniGeometry, tth_rad, d_A) -> ControlPoints:
    table = ring_table(geometry, ref.detector, data.shape, tth_rad)
    pts = extract_rings(data, valid, table, _spread(ref.rings), d_A, PeakSearch(half_window_px=HALF_WINDOW_PX, max_points_per_ring=SPOKES_PER_RING))
    if len(pts):
        counts = np.bincount(pts.ring, minlength=int(pts.ring.max()) + 1)
        pts = pts.subset(counts[pts.ring] >= MIN_POINTS_PER_RING)
    if len(pts) > MAX_POINTS:
        pts = pts.subset(np.arange(len(pts)) % (len(pts) // MAX_POINTS + 1) == 0)
    return pts


def _spread(rings: tuple[int, ...]) -> list[int]:
    """At most MAX_RINGS of ``rings``, spread evenly from the first to the last: the distance and
    centre need rings over the whole radius, not every one of them (time goes as the ring count)."""
    if len(rings) <= MAX_RINGS:
        return list(rings)
    pick = np.unique(np.round(np.linspace(0, len(rings) - 1, MAX_RINGS)).astype(int))
    return [rings[k] for k in pick]


def _drop_outliers(pts: ControlPoints, residual: np.ndarray) -> np.ndarray:
    med = np.median(residual)
    mad = 1.4826 * np.median(np.abs(residual - med)) + 1e-12
    return np.abs(residual - med) <= 5.0 * mad


def fast_recalibrate(data: np.ndarray, valid: np.ndarray, ref: Reference, tth_rad: np.ndarray, d_A: np.ndarray,
                     constraints: Constraints, predicted: PoniGeometry | None = None) -> FastFit:
    """Refine ``ref.geometry`` (or ``predicted``: where a steady drift should have taken it) on
    peaks found about the rings it predicts in this image."""
    geometry = predicted or ref.geometry
    pts = _extract(data, valid, ref, geometry, tth_rad, d_A)
    found = len(np.unique(pts.ring)) if len(pts) else 0
    need = max(2, int(np.ceil(RINGS_FOUND * len(_spread(ref.rings)))))
    if found < need or len(pts) < len(constraints.free) + 10:
        return FastFit(geometry, pts, np.zeros(len(pts)), "doubtful",
                       (f"{found} of {len(_spread(ref.rings))} rings found about the previous geometry",))
    res = refine_geometry(geometry, pts, ref.detector, constraints, None, "series", with_sigma=False)
    # Peaks searched about a prediction a fraction of a pixel off are pulled towards it: with one
    # pass the RMS was 3x the image's own after 0.2 mm of drift, and each new extraction about the
    # refined geometry removed most of the remaining error (0.6 mm of drift: 3.6 µm off after one pass, then
    # ~0.6 µm less per pass); repeat until it moves less than CONVERGED_M.
    for _ in range(MAX_PASSES):
        previous = res.geometry
        pts = _extract(data, valid, ref, previous, tth_rad, d_A)
        if len(pts) < len(constraints.free) + 10:
            break
        res = refine_geometry(previous, pts, ref.detector, constraints, None, "series", with_sigma=False)
        if abs(res.geometry.dist - previous.dist) < CONVERGED_M and abs(res.geometry.poni1 - previous.poni1) < CONVERGED_M \
                and abs(res.geometry.poni2 - previous.poni2) < CONVERGED_M:
            break
    keep = _drop_outliers(pts, res.residual_rad)
    if not keep.all():
        pts = pts.subset(keep)
        res = refine_geometry(res.geometry, pts, ref.detector, constraints, None, "series", with_sigma=False)
    rms = float(np.sqrt(np.mean(res.residual_rad**2)))
    reasons = []
    if rms > RMS_GROWTH * ref.rms_rad + RMS_FLOOR_RAD:
        reasons.append(f"RMS 2θ {np.degrees(rms):.2e}° against {np.degrees(ref.rms_rad):.2e}° before")
    found = len(np.unique(pts.ring))
    if found < need:
        reasons.append(f"{found} of {len(_spread(ref.rings))} rings kept")
    status = "doubtful" if reasons else "good"
    return FastFit(res.geometry, pts, res.residual_rad, status, tuple(reasons) or ("fast path",))
