"""Single-ring calibration (MuscleX style): a robust circle fit through a ring's points.

Pipeline, for typed or clicked points (each step one or more rows of the history):

1. ``rough``: Taubin's algebraic fit of the raw points, made robust by a few Cauchy-weighted
   iterations, gives the radial direction of each point.
2. Each point moves to the sub-pixel ring peak on its radial line within ±``search_px``
   (:mod:`calterm.core.circle.points`). A point with no peak inside the window stays where it was.
3. ``algebraic``: Taubin's fit of the refined points.
4. ``de``: differential evolution (scipy's algorithm, population-vectorised in
   :mod:`calterm.core.circle.evolution`, seeded) over centre and radius, minimising the mean Cauchy loss (scale ``LOSS_SCALE_PX``) of the
   orthogonal distances, so misplaced points pull the search only logarithmically. One row per
   generation (the best member).
5. ``local1..N``: Levenberg-Marquardt from the DE optimum, the algebraic fit and jittered copies of
   the DE optimum; the lowest robust cost wins (multi-start).
6. ``mad`` / ``refit``: a point is rejected when ``|res - median(res)| > max(K * 1.4826 * MAD,
   floor)`` (K = ``mad_threshold``, default 3.5: Iglewicz and Hoaglin's cut on the modified
   z-score; the floor, 1 px or a tenth of the ring's FWHM if larger, keeps the sub-pixel scatter of
   good points from being called outliers). Plain least squares on the rest, repeated until the
   set of rejected points is stable.
7. ``image``: with the image, the circle is refined against the image itself — ring peaks
   measured all along the circle (one per 8 px of arc), MAD-cleaned, refitted — because hundreds of
   peaks pin the centre far better than a dozen clicks. It is kept only when it agrees with the
   fit to the points (within ``max(2 px, 5 standard errors)``), otherwise a note says why not.
8. ``final``: the result; the CSV's final row reproduces it exactly.

Without points, :mod:`calterm.core.circle.find` locates the ring and step 7 fits it.
Validation (radius and centre plausible for the image, enough inliers over enough arc, standard
errors small against the radius) raises :class:`ComputationError` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calterm.core.circle.points import DEFAULT_WIDTH_PX, refine_radially, ring_width
from calterm.core.circle.robust import (
    HISTORY_COLUMNS,
    LOSS_SCALE_PX,
    MIN_THRESHOLD_PX,
    CircleOptions,
    Recorder,
    fit_points,
    refine_on_image,
    rejection_floor_px,
)
from calterm.core.common import circle_fits as lsq
from calterm.core.common.history import History
from calterm.core.common.jobs import JobContext
from calterm.errors import ComputationError, InputError

__all__ = ["CircleOptions", "CircleResult", "HISTORY_COLUMNS", "check_points", "fit_circle", "fit_ring", "validate"]

MIN_POINTS = 5


@dataclass(frozen=True)
class CircleResult:
    """A fitted ring in pixels (x = column, y = row) and how it was obtained."""

    center: tuple[float, float]
    radius: float
    center_se: tuple[float, float]
    radius_se: float
    points: np.ndarray  # given points (n, 2); empty in automatic mode
    fitted_points: np.ndarray  # the points after radial refinement (what the fit used)
    refined: np.ndarray  # bool per point: moved onto a ring peak
    residuals: np.ndarray  # signed distance of each fitted point to the final circle
    rejected: tuple[int, ...]  # 0-based indices into ``points``
    rms: float  # RMS residual of the points kept
    threshold_px: float
    arc_deg: float  # arc spanned by the points kept (by the ring peaks in automatic mode)
    ring_samples: int  # image peaks used by the final refinement (0 = fit to the points only)
    ring_rms: float
    ring_arc_deg: float  # arc spanned by the ring peaks kept (0 without them)
    method: str
    fixed_center: bool = False
    notes: tuple[str, ...] = ()
    history: History = field(default_factory=lambda: History(HISTORY_COLUMNS))

    @property
    def circle(self) -> tuple[float, float, float]:
        return (self.center[0], self.center[1], self.radius)

    def as_dict(self) -> dict:
        return {
            "center": list(self.center), "radius": self.radius,
            "center_se": list(self.center_se), "radius_se": self.radius_se,
            "rejected": list(self.rejected), "residuals": self.residuals.tolist(), "rms": self.rms,
            "threshold_px": self.threshold_px, "refined": self.refined.tolist(),
            "fitted_points": self.fitted_points.tolist(), "arc_deg": self.arc_deg,
            "ring_samples": self.ring_samples, "ring_rms": self.ring_rms, "ring_arc_deg": self.ring_arc_deg,
            "method": self.method,
            "fixed_center": self.fixed_center, "notes": list(self.notes), "iterations": len(self.history),
        }


def check_points(points, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The points as (n, 2) float, or InputError: too few, not finite, outside the image, collinear."""
    pts = lsq.as_points(points)
    if len(pts) < MIN_POINTS:
        raise InputError(f"a ring fit needs at least {MIN_POINTS} points, got {len(pts)}")
    if not np.isfinite(pts).all():
        raise InputError("point coordinates must be finite numbers")
    if shape is not None:
        rows, cols = shape
        out = np.flatnonzero((pts[:, 0] < -0.5) | (pts[:, 0] > cols - 0.5) | (pts[:, 1] < -0.5) | (pts[:, 1] > rows - 0.5))
        if out.size:
            i = int(out[0])
            raise InputError(f"point {i} ({pts[i, 0]:g},{pts[i, 1]:g}) lies outside the {cols}x{rows} image")
    if lsq.line_deviation(pts) < 1.0:
        raise InputError("the points are (nearly) collinear: no circle through them")
    return pts


def fit_circle(points, image: np.ndarray | None = None, options: CircleOptions | None = None,
               fixed_center: tuple[float, float] | None = None, ctx: JobContext | None = None) -> CircleResult:
    """Robust ring fit through ``points`` (x, y), refined in ``image`` (NaN = invalid) when given."""
    options = options or CircleOptions()
    shape = None if image is None else image.shape
    pts = check_points(points, shape)
    history = History(HISTORY_COLUMNS)
    rec = Recorder(history, ctx)
    rec.report("points", 0, 4)
    fitted, refined = pts.copy(), np.zeros(len(pts), dtype=bool)
    width = DEFAULT_WIDTH_PX
    if image is not None and options.search_px > 0:
        if fixed_center is None:
            start = lsq.taubin_fit(pts)
            rough = lsq.geometric_fit(pts, start, scale=max(options.search_px, LOSS_SCALE_PX), max_iter=20,
                                      on_iteration=rec.callback("rough")).circle
        else:
            d = np.hypot(pts[:, 0] - fixed_center[0], pts[:, 1] - fixed_center[1])
            rough = (fixed_center[0], fixed_center[1], float(np.median(d)))
        width = ring_width(image, rough[:2], rough[2])
        peaks = refine_radially(image, rough[:2], pts, options.search_px, width)
        fitted, refined = peaks.points, peaks.ok
    circle, keep, threshold = fit_points(fitted, fixed_center, options, rec, rejection_floor_px(width))
    se = lsq.standard_errors(fitted[keep], circle, fixed_center is not None)
    notes: list[str] = []
    ring_pts, method = np.zeros((0, 2)), "points"
    if image is not None and options.use_image:
        if options.search_px <= 0:
            width = ring_width(image, circle[:2], circle[2])
        new, kept = refine_on_image(image, circle, fixed_center, options, rec, width)
        if new is None:
            notes.append(f"kept the fit to the points: {kept}")
        else:
            tol = max(2.0, 5 * float(np.nanmax(se)))
            moved = float(np.max(np.abs(np.subtract(new, circle))))
            if moved > tol:
                notes.append(f"kept the fit to the points: refining against the image moved it {moved:.2f} px")
            elif lsq.arc_coverage_deg(kept, new[:2]) < options.min_arc_deg:
                notes.append("kept the fit to the points: the ring peaks found cover too short an arc")
            else:
                circle, method, ring_pts = new, "points+image", kept
                se = lsq.standard_errors(kept, circle, fixed_center is not None)
    return _finish(circle, se, pts, fitted, refined, keep, threshold, ring_pts, method,
                   fixed_center, notes, rec, shape, options)


def fit_ring(image: np.ndarray, options: CircleOptions | None = None,
             fixed_center: tuple[float, float] | None = None, ctx: JobContext | None = None) -> CircleResult:
    """Automatic mode: find the most prominent ring in ``image`` (NaN = invalid) and fit its peaks."""
    from calterm.core.circle.find import find_ring

    options = options or CircleOptions()
    rec = Recorder(History(HISTORY_COLUMNS), ctx)
    rec.report("finding the ring", 0, 3)
    found = find_ring(image, seed=options.seed)
    circle = (*found.center, found.radius)
    rec.row("found", circle, -found.contrast, found.support)
    width = ring_width(image, found.center, found.radius)
    # the ring found is good to a binned pixel or two: a first pass with a wider window
    wide = max(options.search_px, 3.0 * found.binning)
    if fixed_center is not None:  # the ring found need not be centred on the given centre: widen the search
        wide += float(np.hypot(found.center[0] - fixed_center[0], found.center[1] - fixed_center[1]))
        circle = (fixed_center[0], fixed_center[1], found.radius)
    rec.report("fitting ring peaks", 1, 3)
    circle, kept = refine_on_image(image, circle, fixed_center, options, rec, width, search_px=wide, passes=1)
    if circle is None:
        raise ComputationError(f"automatic ring search: {kept}")
    circle, kept = refine_on_image(image, circle, fixed_center, options, rec, width)
    if circle is None:
        raise ComputationError(f"automatic ring search: {kept}")
    rec.report("done", 3, 3)
    se = lsq.standard_errors(kept, circle, fixed_center is not None)
    empty = np.zeros((0, 2))
    return _finish(circle, se, empty, empty, np.zeros(0, bool), np.zeros(0, bool), MIN_THRESHOLD_PX, kept,
                   "image (automatic)", fixed_center, [], rec, image.shape, options)


def _finish(circle, se, pts, fitted, refined, keep, threshold, ring_pts, method, fixed_center,
            notes, rec: Recorder, shape, options: CircleOptions) -> CircleResult:
    res = lsq.residuals(fitted, circle)
    ring_rms = float(np.sqrt(np.mean(lsq.residuals(ring_pts, circle) ** 2))) if len(ring_pts) else float("nan")
    if len(fitted):
        rms = float(np.sqrt(np.mean(res[keep] ** 2)))
        arc = lsq.arc_coverage_deg(fitted[keep], circle[:2])
        rec.row("final", circle, rms * rms, int(keep.sum()))
    else:  # automatic mode: the ring peaks are the points
        rms, arc = ring_rms, lsq.arc_coverage_deg(ring_pts, circle[:2])
        rec.row("final", circle, rms * rms, len(ring_pts))
    result = CircleResult(
        center=(float(circle[0]), float(circle[1])), radius=float(circle[2]), center_se=(se[0], se[1]),
        radius_se=se[2], points=pts, fitted_points=fitted, refined=refined, residuals=res,
        rejected=tuple(int(i) for i in np.flatnonzero(~keep)), rms=rms, threshold_px=float(threshold),
        arc_deg=arc, ring_samples=len(ring_pts), ring_rms=ring_rms,
        ring_arc_deg=lsq.arc_coverage_deg(ring_pts, circle[:2]) if len(ring_pts) else 0.0, method=method,
        fixed_center=fixed_center is not None, notes=tuple(notes), history=rec.history,
    )
    validate(result, shape, options)
    return result


def validate(result: CircleResult, shape, options: CircleOptions) -> None:
    """ComputationError unless the ring is physically plausible and well determined."""
    cx, cy, r = result.circle
    if not np.isfinite([cx, cy, r]).all() or r < 3.0:
        raise ComputationError(f"fit failed: radius {r:.3g} px is not a ring")
    if shape is not None:
        size = float(max(shape))
        if r > 10 * size or np.hypot(cx - shape[1] / 2, cy - shape[0] / 2) > 10 * size:
            raise ComputationError(f"fit failed: centre ({cx:.0f},{cy:.0f}) or radius {r:.0f} px implausible "
                                   f"for a {shape[1]}x{shape[0]} image (points nearly on a straight line?)")
    n = len(result.points)
    if n:
        kept = n - len(result.rejected)
        if kept < MIN_POINTS or kept < 0.5 * n:
            raise ComputationError(f"fit failed: only {kept} of {n} points agree on a circle "
                                   f"(rejected {list(result.rejected)}); check the points")
        if not result.fixed_center and result.arc_deg < options.min_arc_deg and result.ring_samples == 0:
            raise ComputationError(f"fit failed: the points kept span only {result.arc_deg:.1f} degrees of arc "
                                   f"(need {options.min_arc_deg:g}); spread them around the ring")
    elif not result.fixed_center and result.arc_deg < options.min_arc_deg:
        raise ComputationError(f"fit failed: the ring peaks found span only {result.arc_deg:.1f} degrees of arc")
    se = max(result.center_se + (result.radius_se,))
    if not np.isfinite(se) or se > 0.1 * r:
        raise ComputationError(f"fit failed: the circle is poorly determined (standard error {se:.3g} px "
                               f"for radius {r:.1f} px)")
