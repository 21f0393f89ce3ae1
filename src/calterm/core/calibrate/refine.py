"""Least-squares refinement of the PONI geometry on control points, with history.

pyFAI computes 2θ at any pixel for trial parameters (``Geometry.tth(d1, d2, param)``); scipy's
``least_squares`` does the optimisation. We write this loop ourselves rather than use pyFAI's
``GeometryRefinement`` because we need per-parameter fix/free *and* bounds with a free wavelength,
a robust loss (a few bad peaks must not drag the fit), one history row per iteration, and
uncertainties, all without the refinement class inheriting from the integrator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from calterm.core.calibrate.uncertainty import point_sigma
from calterm.core.common.detectors import mean_pixel_m
from calterm.core.common.geometry import PARAMS, Constraints, PoniGeometry, tth_at
from calterm.core.common.history import History
from calterm.errors import ComputationError, InputError

HISTORY_COLUMNS = ("iteration", "stage", *PARAMS, "cost", "rms_2th_rad", "n_points")

# Typical scales of each parameter, so finite-difference steps and trust regions are balanced.
_SCALE = {"dist": 1e-3, "poni1": 1e-4, "poni2": 1e-4, "rot1": 1e-4, "rot2": 1e-4, "rot3": 1e-4,
          "wavelength": 1e-14}


@dataclass(frozen=True)
class ControlPoints:
    """Fitted points: row/column in pixels (integers at pixel centres), ring index (1-based), d (Å)."""

    rows: np.ndarray
    cols: np.ndarray
    ring: np.ndarray
    d_A: np.ndarray
    weight: np.ndarray | None = None  # 1/σ of each point's 2θ; None = all equal

    def __len__(self) -> int:
        return int(self.rows.size)

    def subset(self, keep: np.ndarray) -> ControlPoints:
        w = None if self.weight is None else self.weight[keep]
        return ControlPoints(self.rows[keep], self.cols[keep], self.ring[keep], self.d_A[keep], w)

    @staticmethod
    def concat(parts: list[ControlPoints]) -> ControlPoints:
        if not parts:
            e = np.zeros(0)
            return ControlPoints(e, e, np.zeros(0, int), e)
        weights = None if any(p.weight is None for p in parts) else np.concatenate([p.weight for p in parts])
        return ControlPoints(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("rows", "cols", "ring", "d_A")),
                             weight=weights)


@dataclass(frozen=True)
class RefineResult:
    geometry: PoniGeometry
    sigma: dict[str, float]
    residual_rad: np.ndarray
    cost: float


def delta_tth(geometry: PoniGeometry, detector, points: ControlPoints) -> np.ndarray:
    """2θ at each point minus its ring's 2θ (radians)."""
    return _residuals(geometry.to_pyfai(detector), geometry.as_vector(), points)


def _residuals(pyfai_geo, vector: np.ndarray, points: ControlPoints) -> np.ndarray:
    s = vector[6] * 1e10 / (2.0 * points.d_A)
    ring_tth = 2.0 * np.arcsin(np.clip(s, -1.0, 1.0))
    tth = tth_at(pyfai_geo, points.rows, points.cols, vector[:6])
    return tth - ring_tth


def refine_geometry(
    start: PoniGeometry,
    points: ControlPoints,
    detector,
    constraints: Constraints,
    history: History | None = None,
    stage: str = "refine",
    loss: str = "soft_l1",
    f_scale_rad: float = 2e-4,
    with_sigma: bool = True,
) -> RefineResult:
    """Fit the free parameters to the points; return geometry, 1-σ errors and residuals.

    ``with_sigma=False`` leaves ``sigma`` empty: intermediate fits that only steer the next
    extraction skip the uncertainty estimate (its Jacobian and jackknife).
    """
    free = constraints.free
    if not free:
        raise InputError("every geometry parameter is fixed: nothing to refine")
    if len(points) < len(free) + 1:
        raise ComputationError(f"{len(points)} control points cannot fix {len(free)} free parameters")
    if np.any(points.d_A <= 0) or not np.all(np.isfinite(points.rows)):
        raise ComputationError("control points contain invalid values")
    index = [PARAMS.index(n) for n in free]
    scale = np.array([_SCALE[n] for n in free])
    base = start.as_vector()
    lo, hi = constraints.lower_upper(free)
    x0 = base[index]
    if np.any(x0 < lo) or np.any(x0 > hi):
        x0 = np.clip(x0, lo, hi)  # a start outside the user's bounds starts at the nearest bound
    pyfai_geo = start.to_pyfai(detector)
    weight = np.ones(len(points)) if points.weight is None else points.weight

    def vector_of(x: np.ndarray) -> np.ndarray:
        v = base.copy()
        v[index] = x
        return v

    def fun(x: np.ndarray) -> np.ndarray:
        return _residuals(pyfai_geo, vector_of(x), points) * weight

    def jac(x: np.ndarray) -> np.ndarray:
        # Forward differences with steps a thousandth of each parameter's scale (the residual is
        # smooth and nearly linear there); not recorded in the history: they are not iterations.
        f0 = fun(x)
        J = np.empty((len(points), len(x)))
        for j in range(len(x)):
            h = scale[j] * 1e-3
            xp = x.copy()
            xp[j] += h
            J[:, j] = (fun(xp) - f0) / h
        return J

    f_scale = f_scale_rad * float(np.median(weight))

    def recorded(x: np.ndarray) -> np.ndarray:
        r = fun(x)
        if history is not None:
            raw = r / weight
            geo = start.with_vector(PARAMS, vector_of(x))
            history.add(iteration=len(history), stage=stage, **geo.as_dict(), cost=robust_cost(r, loss, f_scale),
                        rms_2th_rad=float(np.sqrt(np.mean(raw**2))), n_points=len(points))
        return r

    sol = least_squares(recorded, x0, jac=jac, bounds=(lo, hi), x_scale=scale, loss=loss, f_scale=f_scale,
                        method="trf", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=200)
    vector = vector_of(sol.x)
    geometry = start.with_vector(PARAMS, vector)
    residual = _residuals(pyfai_geo, vector, points)
    if not with_sigma:
        return RefineResult(geometry, {}, residual, float(sol.cost))
    # σ from a block jackknife over (ring, sector), not from J and r alone: the points' errors are
    # correlated within a ring (see uncertainty.py)
    r = fun(sol.x)
    robust = 1.0 / np.sqrt(1.0 + (r / f_scale) ** 2) if loss == "soft_l1" else None
    tth = 2.0 * np.arcsin(np.clip(vector[6] * 1e10 / (2.0 * points.d_A), -1.0, 1.0))
    radial_rad = mean_pixel_m(detector) / vector[0] * np.cos(tth) ** 2 * weight  # 2θ per px of radius
    values = point_sigma(jac(sol.x), r, points.ring, points.rows, points.cols, geometry.beam_center_px(detector),
                         radial_rad, robust)
    sigma = {name: float(v) for name, v in zip(free, values, strict=True)}
    return RefineResult(geometry, sigma, residual, float(sol.cost))


def robust_cost(r: np.ndarray, loss: str, f_scale: float) -> float:
    """The cost ``least_squares`` minimises (so the history's lowest cost is the solution)."""
    z = (r / f_scale) ** 2
    if loss == "linear":
        rho = z
    elif loss == "soft_l1":
        rho = 2 * (np.sqrt(1 + z) - 1)
    elif loss == "cauchy":
        rho = np.log1p(z)
    else:
        raise ValueError(f"unsupported loss {loss!r}")
    return float(0.5 * f_scale**2 * np.sum(rho))
