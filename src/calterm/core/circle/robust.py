"""Robust fit stages on points (steps 3-7 of :mod:`calterm.core.circle.fit`), each adding history rows.

Kept apart from the pipeline so each file stays small: this module knows points, losses and the
optimizers; :mod:`calterm.core.circle.fit` knows images, modes and validation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calterm.core.circle.evolution import differential_evolution
from calterm.core.circle.points import DEFAULT_WIDTH_PX, sample_ring
from calterm.core.common import circle_fits as lsq
from calterm.core.common.history import History
from calterm.core.common.jobs import JobContext
from calterm.errors import ComputationError, InputError

HISTORY_COLUMNS = ("stage", "cx", "cy", "r", "cost", "inliers")
LOSS_SCALE_PX = 2.0  # Cauchy scale for DE and the multi-start: a click-sized error
MIN_THRESHOLD_PX = 1.0  # rejection threshold floor
MIN_RING_SAMPLES = 12


@dataclass(frozen=True)
class CircleOptions:
    """Knobs of the robust fit (defaults suit a ring of 5-20 typed points)."""

    search_px: float = 10.0  # half-width of the radial peak search around each point
    popsize: int = 15  # scipy's population multiplier (15 x parameters members)
    generations: int = 100  # DE generations at most (stops earlier once converged)
    starts: int = 4  # local refinements: DE optimum, algebraic fit, jittered DE optimum...
    mad_threshold: float = 3.5
    use_image: bool = True  # refine the final fit against ring peaks all along the circle
    min_arc_deg: float = 20.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("popsize", "generations", "starts"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1")
        if not (np.isfinite(self.search_px) and self.search_px >= 0):
            raise InputError("search size must be a non-negative number of pixels")
        if not (np.isfinite(self.mad_threshold) and self.mad_threshold > 0):
            raise InputError("MAD threshold must be positive")


class Recorder:
    """Appends history rows; keeps the optimisation code free of bookkeeping."""

    def __init__(self, history: History, ctx: JobContext | None) -> None:
        self.history, self.ctx = history, ctx

    def row(self, stage: str, circle, cost: float, inliers: int) -> None:
        self.history.add(stage=stage, cx=float(circle[0]), cy=float(circle[1]), r=float(circle[2]),
                         cost=float(cost), inliers=int(inliers))

    def callback(self, stage: str):
        return lambda p, cost, inliers: self.row(stage, p, cost, inliers)

    def report(self, stage: str, done: int, total: int) -> None:
        if self.ctx is not None:
            self.ctx.report(stage, done, total)


def _de_search(pts, start, fixed_center, options: CircleOptions, rec: Recorder):
    """Global search by differential evolution around the algebraic start; one history row per generation."""
    cx0, cy0, r0 = start
    span = 0.5 * r0 + 2 * options.search_px + 5.0
    scale = LOSS_SCALE_PX

    if fixed_center is not None:
        bounds = [(max(0.5, r0 - span), r0 + span)]
    else:
        bounds = [(cx0 - span, cx0 + span), (cy0 - span, cy0 + span), (max(0.5, r0 - span), r0 + span)]

    def unpack(p):
        return (fixed_center[0], fixed_center[1], p[0]) if fixed_center is not None else (p[0], p[1], p[2])

    def cost(p):  # (k, S): S members at once
        cx, cy, r = unpack(p)
        res = np.hypot(pts[:, 0, None] - cx, pts[:, 1, None] - cy) - r
        return np.mean(scale * scale * np.log1p((res / scale) ** 2), axis=0)

    def on_generation(x, energy):
        c = unpack(x)
        rec.row("de", c, energy, int(np.sum(np.abs(lsq.residuals(pts, c)) <= scale)))

    best, _, _ = differential_evolution(cost, bounds, popsize=options.popsize, generations=options.generations,
                                        seed=options.seed, on_generation=on_generation)
    return tuple(float(v) for v in unpack(best))


def _multi_start(pts, algebraic, de_best, fixed_center, options: CircleOptions, rec: Recorder):
    rng = np.random.default_rng(options.seed)
    starts = [de_best, algebraic]
    while len(starts) < options.starts:
        jitter = rng.uniform(-1, 1, 3) * np.array([2, 2, 1]) * LOSS_SCALE_PX
        starts.append(tuple(np.asarray(de_best) + jitter))
    best = None
    for i, start in enumerate(starts[: options.starts], 1):
        fit = lsq.geometric_fit(pts, start, scale=LOSS_SCALE_PX, fixed_center=fixed_center,
                                on_iteration=rec.callback(f"local{i}"))
        if best is None or fit.cost < best.cost:
            best = fit
    return best.circle


def rejection_floor_px(width_px: float) -> float:
    """Smallest rejection threshold: 1 px, or a tenth of the ring's FWHM for broad rings, whose peaks
    scatter more (and real rings are slightly elliptical); always well inside the search window."""
    return max(MIN_THRESHOLD_PX, 0.1 * width_px)


def _reject_and_refit(pts, circle, fixed_center, options: CircleOptions, rec: Recorder, stage: str = "refit",
                      floor_px: float = MIN_THRESHOLD_PX):
    """MAD rejection then plain least squares on the rest, until the kept set is stable."""
    keep = np.ones(len(pts), dtype=bool)
    threshold = floor_px
    for _ in range(5):
        res = lsq.residuals(pts, circle)
        med = np.median(res)
        mad = np.median(np.abs(res - med))
        threshold = max(options.mad_threshold * 1.4826 * mad, floor_px)
        new_keep = np.abs(res - med) <= threshold
        if new_keep.sum() < 3:
            raise ComputationError("fewer than 3 points agree on a circle: add points on the ring")
        rec.row("mad", circle, float(np.mean(res[new_keep] ** 2)), int(new_keep.sum()))
        if np.array_equal(new_keep, keep) and _ > 0:
            break
        keep = new_keep
        circle = lsq.geometric_fit(pts[keep], circle, fixed_center=fixed_center,
                                   on_iteration=rec.callback(stage)).circle
    return circle, keep, threshold


def fit_points(pts: np.ndarray, fixed_center, options: CircleOptions, rec: Recorder,
               floor_px: float = MIN_THRESHOLD_PX):
    """Steps 3-6 on already refined points: (circle, keep mask, threshold)."""
    if fixed_center is not None:
        d = np.hypot(pts[:, 0] - fixed_center[0], pts[:, 1] - fixed_center[1])
        algebraic = (fixed_center[0], fixed_center[1], float(np.median(d)))
    else:
        algebraic = lsq.taubin_fit(pts)
    rec.row("algebraic", algebraic, lsq.robust_cost(lsq.residuals(pts, algebraic), LOSS_SCALE_PX), len(pts))
    rec.report("differential evolution", 1, 4)
    de_best = _de_search(pts, algebraic, fixed_center, options, rec)
    rec.report("multi-start", 2, 4)
    best = _multi_start(pts, algebraic, de_best, fixed_center, options, rec)
    rec.report("outliers", 3, 4)
    return _reject_and_refit(pts, best, fixed_center, options, rec, floor_px=floor_px)


def refine_on_image(image, circle, fixed_center, options: CircleOptions, rec: Recorder,
                    width_px: float = DEFAULT_WIDTH_PX, search_px: float | None = None, passes: int = 6):
    """Step 7: (circle, ring peaks kept) from peaks all along the circle, or (None, reason).

    The radial window is at least 1.5 ring widths, so the peak and some background on both
    sides are in it however wide the ring. Sectors start at 8 px of arc; while the peaks scatter
    by more than a tenth of the ring width (a weak ring: noise, not the ring, decides where each
    peak lands) they double, up to 64 px, so each peak averages more of the ring.
    """
    search = max(options.search_px if search_px is None else search_px, 1.5 * width_px, 3.0)
    sector = 8.0
    kept = np.zeros((0, 2))
    for _ in range(passes):
        ring = sample_ring(image, circle[:2], circle[2], search, width_px, sector_px=sector)
        pts = ring.points[ring.ok]
        if len(pts) < MIN_RING_SAMPLES:
            if kept.size:  # longer sectors left too few: keep the last good pass
                break
            return None, f"only {len(pts)} ring peaks found along the circle (need {MIN_RING_SAMPLES})"
        start = lsq.geometric_fit(pts, circle, scale=max(1.0, 0.1 * width_px), fixed_center=fixed_center,
                                  on_iteration=rec.callback("image")).circle
        new, keep, _ = _reject_and_refit(pts, start, fixed_center, options, rec, stage="image",
                                         floor_px=rejection_floor_px(width_px))
        moved = float(np.max(np.abs(np.subtract(new, circle))))
        circle, kept = new, pts[keep]
        scatter = 1.4826 * float(np.median(np.abs(lsq.residuals(kept, circle))))
        if scatter > 0.1 * width_px and sector < 64:
            sector *= 2
            continue
        if moved < 0.01:  # the peaks are measured relative to the circle: a smaller move changes nothing
            break
    return circle, kept
