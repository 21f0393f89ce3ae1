"""Least-squares circle fits on points: an algebraic start and a robust geometric refinement.

Pure numpy on (n, 2) arrays of (x, y) pixel coordinates, so the single-ring pipeline
(:mod:`calterm.core.circle.fit`) can run a dozen of them in a few milliseconds. Shared, not the
circle capability's own: the geometry calibration's ring grower (:mod:`calterm.core.calibrate.points`)
fits circles to a ring's first peaks too, and capabilities never import one another.

* :func:`taubin_fit` is Taubin's algebraic fit (Chernov's Newton-based solver): no start needed,
  nearly unbiased on short arcs, where Kåsa's fit shrinks the radius.
* :func:`geometric_fit` minimises the sum of a loss of the orthogonal distances by Levenberg-Marquardt
  with iteratively reweighted residuals (Cauchy loss for robustness, plain squares for the final
  refit). We keep our own loop rather than ``scipy.optimize.least_squares`` because that has no
  per-iteration callback (the history must have one row per iteration) and its fixed overhead is
  larger than the whole fit of twelve points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Circle = tuple[float, float, float]  # cx, cy, r in pixels
IterationCallback = Callable[[np.ndarray, float, int], None]  # params, cost, inliers


def as_points(points) -> np.ndarray:
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    return pts


def residuals(points: np.ndarray, circle) -> np.ndarray:
    """Signed orthogonal distance of each point to the circle (positive = outside)."""
    cx, cy, r = circle
    return np.hypot(points[:, 0] - cx, points[:, 1] - cy) - r


def line_deviation(points: np.ndarray) -> float:
    """Largest distance of a point from the points' principal line (0 for collinear points)."""
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    normal = vt[-1]
    return float(np.max(np.abs(centred @ normal)))


def arc_coverage_deg(points: np.ndarray, center) -> float:
    """Angle (degrees) of the smallest arc, seen from ``center``, that holds every point."""
    if len(points) < 2:
        return 0.0
    ang = np.sort(np.arctan2(points[:, 1] - center[1], points[:, 0] - center[0]))
    gaps = np.diff(np.concatenate([ang, ang[:1] + 2 * np.pi]))
    return float(np.degrees(2 * np.pi - gaps.max()))


def kasa_fit(points: np.ndarray) -> Circle:
    """Kåsa's linear fit (fallback when Taubin's solver degenerates)."""
    x, y = points[:, 0], points[:, 1]
    a = np.column_stack([x, y, np.ones_like(x)])
    sol, *_ = np.linalg.lstsq(a, x * x + y * y, rcond=None)
    cx, cy = sol[0] / 2, sol[1] / 2
    return float(cx), float(cy), float(np.sqrt(max(sol[2] + cx * cx + cy * cy, 0.0)))


def taubin_fit(points: np.ndarray) -> Circle:
    """Taubin's algebraic circle fit (N. Chernov's formulation)."""
    mean = points.mean(axis=0)
    x, y = points[:, 0] - mean[0], points[:, 1] - mean[1]
    z = x * x + y * y
    mxx, myy, mxy = (x * x).mean(), (y * y).mean(), (x * y).mean()
    mxz, myz, mzz = (x * z).mean(), (y * z).mean(), (z * z).mean()
    mz = mxx + myy
    cov_xy = mxx * myy - mxy * mxy
    var_z = mzz - mz * mz
    a3, a2 = 4 * mz, -3 * mz * mz - mzz
    a1 = var_z * mz + 4 * cov_xy * mz - mxz * mxz - myz * myz
    a0 = mxz * (mxz * myy - myz * mxy) + myz * (myz * mxx - mxz * mxy) - var_z * cov_xy
    xr, yr = 0.0, a0
    for _ in range(99):  # Newton from 0 on the characteristic polynomial, monotone by construction
        dy = a1 + xr * (2 * a2 + 3 * a3 * xr)
        if dy == 0:
            break
        xnew = xr - yr / dy
        if xnew == xr or not np.isfinite(xnew):
            break
        ynew = a0 + xnew * (a1 + xnew * (a2 + xnew * a3))
        if abs(ynew) >= abs(yr):
            break
        xr, yr = xnew, ynew
    det = xr * xr - xr * mz + cov_xy
    if not np.isfinite(det) or abs(det) < 1e-12 * max(mz * mz, 1e-300):
        return kasa_fit(points)
    cx = (mxz * (myy - xr) - myz * mxy) / det / 2
    cy = (myz * (mxx - xr) - mxz * mxy) / det / 2
    return float(cx + mean[0]), float(cy + mean[1]), float(np.sqrt(cx * cx + cy * cy + mz))


def circle_from_three(p: np.ndarray) -> np.ndarray:
    """Circles through triples of points, vectorised: ``p`` is (k, 3, 2); returns (k, 3), NaN if collinear."""
    ax, ay = p[:, 0, 0], p[:, 0, 1]
    bx, by = p[:, 1, 0] - ax, p[:, 1, 1] - ay
    cx, cy = p[:, 2, 0] - ax, p[:, 2, 1] - ay
    d = 2 * (bx * cy - by * cx)
    with np.errstate(divide="ignore", invalid="ignore"):
        ux = (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / d
        uy = (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / d
    out = np.column_stack([ux + ax, uy + ay, np.hypot(ux, uy)])
    out[np.abs(d) < 1e-9] = np.nan
    return out


def robust_cost(res: np.ndarray, scale: float | None) -> float:
    """Mean Cauchy loss (``scale`` in px), or mean squared residual when ``scale`` is None."""
    if scale is None:
        return float(np.mean(res * res))
    return float(np.mean(scale * scale * np.log1p((res / scale) ** 2)))


@dataclass(frozen=True)
class GeometricFit:
    circle: Circle
    cost: float
    iterations: int


def geometric_fit(
    points: np.ndarray,
    start,
    scale: float | None = None,
    fixed_center: tuple[float, float] | None = None,
    max_iter: int = 50,
    on_iteration: IterationCallback | None = None,
) -> GeometricFit:
    """Minimise the (Cauchy-robust if ``scale``) orthogonal distances from ``start``.

    With ``fixed_center`` only the radius moves. ``on_iteration(params, cost, inliers)`` is called
    after every accepted step; inliers are the points within ``scale`` (all points without one).
    """
    p = np.array(start, dtype=float)
    if fixed_center is not None:
        p[:2] = fixed_center
    free = slice(2, 3) if fixed_center is not None else slice(0, 3)
    lam = 1e-3

    def evaluate(q):
        res = residuals(points, q)
        return res, robust_cost(res, scale)

    res, cost = evaluate(p)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        dx, dy = points[:, 0] - p[0], points[:, 1] - p[1]
        d = np.maximum(np.hypot(dx, dy), 1e-12)
        jac = np.column_stack([-dx / d, -dy / d, -np.ones_like(d)])[:, free]
        w = np.ones_like(res) if scale is None else 1.0 / (1.0 + (res / scale) ** 2)
        jtw = jac.T * w
        a, g = jtw @ jac, jtw @ res
        improved = False
        for _ in range(12):
            try:
                step = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            q = p.copy()
            q[free] += step
            if q[2] <= 0:
                lam *= 10
                continue
            res_q, cost_q = evaluate(q)
            if cost_q <= cost:
                improved = True
                converged = np.max(np.abs(step)) < 1e-9 * max(1.0, q[2]) or cost - cost_q <= 1e-15 * max(cost, 1e-300)
                p, res, cost = q, res_q, cost_q
                lam = max(lam / 10, 1e-12)
                break
            lam *= 10
        if not improved:
            break
        if on_iteration is not None:
            inliers = len(res) if scale is None else int(np.sum(np.abs(res) <= scale))
            on_iteration(p.copy(), cost, inliers)
        if converged:
            break
    return GeometricFit((float(p[0]), float(p[1]), float(p[2])), cost, it)


def standard_errors(points: np.ndarray, circle, fixed_center: bool = False) -> tuple[float, float, float]:
    """Standard errors (cx, cy, r) from the Jacobian at the solution and the residual variance.

    NaN when there are too few points to estimate the variance (n <= number of parameters).
    """
    res = residuals(points, circle)
    n = len(points)
    k = 1 if fixed_center else 3
    if n <= k:
        return (np.nan, np.nan, np.nan)
    s2 = float(np.sum(res * res) / (n - k))
    if fixed_center:
        return (0.0, 0.0, float(np.sqrt(s2 / n)))
    dx, dy = points[:, 0] - circle[0], points[:, 1] - circle[1]
    d = np.maximum(np.hypot(dx, dy), 1e-12)
    jac = np.column_stack([-dx / d, -dy / d, -np.ones_like(d)])
    try:
        cov = s2 * np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        return (np.inf, np.inf, np.inf)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return (float(se[0]), float(se[1]), float(se[2]))
