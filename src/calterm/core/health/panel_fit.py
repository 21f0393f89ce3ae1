"""Panel geometry from the powder rings: every panel's offset (and in-plane rotation) fitted jointly
with the common PONI geometry, each with its uncertainty.

Rotational self-correlation (:mod:`calterm.core.health.alignment`) assumes the rings are circles
about the centre, so on a tilted detector it reads the rings' ellipticity as panel shifts (1.8-2.5
px on the tilted demo image, up to 5 px on a one-piece CCD). Here the rings are what a calibration
says they are: a pixel's 2θ comes from pyFAI's geometry at the pixel's true position
(:meth:`Panel.true_positions`), and the fit moves the common geometry (dist, poni1, poni2, rot1,
rot2) and each panel's pose until every ring peak (:mod:`.panel_peaks`) lies on its ring. Tilt is
in the common geometry, so it cannot hide in the offsets.

A common translation of all panels is the PONI; the offsets are therefore reported relative to
their mean (the gauge: mean shift 0, mean rotation 0). Uncertainties come from the Jacobian at the
solution scaled by the residual scatter (points weighted by their own centroid error); a panel whose
offset is within 3σ on both axes has "no significant shift". Rotational correlation stays as the
coarse start (the peaks are searched within a few pixels of the model) and for images without a
calibrant.

scipy's ``least_squares`` does the solving; the Jacobian is ours because its structure is known:
5 finite-difference columns for the common geometry and, for each panel, the image gradient of 2θ
times the derivative of the pose (8 evaluations of 2θ instead of 5 + 3n).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from calterm.core.common.geometry import PoniGeometry, tth_at
from calterm.core.common.jobs import JobContext
from calterm.core.common.panel_layouts import Panel
from calterm.core.health.panel_peaks import PanelModel, RingPoints, extract_ring_points
from calterm.errors import ComputationError

COMMON = ("dist", "poni1", "poni2", "rot1", "rot2")
SIGNIFICANCE = 3.0  # a shift beyond 3σ on either axis is reported as significant
ROUNDS = ((8.0, 3.0), (5.0, 3.0), (4.0, 3.0))  # (search window, centroid half-width) px per round


@dataclass(frozen=True)
class PanelOffset:
    """One panel: its content's displacement (px, x = column, y = row) with 1σ, its in-plane
    rotation (degrees) with 1σ, and the ring peaks that measured it."""

    name: str
    shift: tuple[float, float]
    sigma: tuple[float, float]
    rot_deg: float
    sigma_rot_deg: float
    n_points: int

    @property
    def significant(self) -> bool:
        """Beyond 3σ on either axis (or its rotation): a shift worth correcting."""
        s = [abs(v) > SIGNIFICANCE * e for v, e in zip(self.shift, self.sigma, strict=True)]
        return any(s) or (self.sigma_rot_deg > 0 and abs(self.rot_deg) > SIGNIFICANCE * self.sigma_rot_deg)

    @property
    def verdict(self) -> str:
        if self.n_points == 0 or not np.all(np.isfinite(self.sigma)):
            return "undetermined (no ring peaks)"
        return "significant shift" if self.significant else "no significant shift"

    def as_dict(self) -> dict:
        return {"name": self.name, "shift": [round(v, 4) for v in self.shift],
                "sigma": [round(v, 4) if np.isfinite(v) else None for v in self.sigma],
                "rot_deg": round(self.rot_deg, 5), "sigma_rot_deg": round(self.sigma_rot_deg, 5),
                "n_points": self.n_points, "significant": self.significant, "verdict": self.verdict}


@dataclass(frozen=True)
class PanelFit:
    """The common geometry refined with the panels, each panel's offset, and the fit's quality."""

    geometry: PoniGeometry
    panels: list[PanelOffset]
    rms_px: float
    n_points: int
    rotations: bool
    rounds: list[dict] = field(default_factory=list)

    def report(self) -> dict:
        return {"method": "ring fit", "geometry": self.geometry.as_dict(), "rms_px": round(self.rms_px, 4),
                "n_points": self.n_points, "rotations": self.rotations,
                "panels": [p.as_dict() for p in self.panels],
                "significant": [p.name for p in self.panels if p.significant]}


class _Problem:
    """Residuals (px across the ring, weighted by each peak's error) and their structured Jacobian."""

    def __init__(self, ai, base: PoniGeometry, panels: Sequence[Panel], pts: RingPoints, rotations: bool) -> None:
        self.ai, self.base, self.panels, self.pts, self.rotations = ai, base, list(panels), pts, rotations
        self.n = len(self.panels)
        self.per = 3 if rotations else 2
        self.wt = 1.0 / np.maximum(pts.sigma_px, 1e-3)
        self.wt = self.wt / np.sqrt(np.mean(self.wt ** 2)) if pts.size else self.wt  # relative weights: the scatter sets the scale
        self.gauge = 1e3 * np.sqrt(pts.size)
        self.pix = float(np.sqrt(ai.detector.pixel1 * ai.detector.pixel2))
        # common parameters in pixel-sized units (dist and PONI in px, rotations in px at the distance)
        self.scale = np.array([self.pix, self.pix, self.pix, self.pix / base.dist, self.pix / base.dist])

    def unpack(self, x: np.ndarray):
        param = np.array([*(self.base.as_vector(COMMON) + x[:5] * self.scale), self.base.rot3])
        poses = x[5:].reshape(self.n, self.per)
        shifts = poses[:, :2]
        rots = poses[:, 2] if self.rotations else np.zeros(self.n)
        return param, shifts, rots

    def _positions(self, shifts, rots):
        pts = self.pts
        r, c = np.empty(pts.size), np.empty(pts.size)
        for i, panel in enumerate(self.panels):
            sel = pts.panel == i
            r[sel], c[sel] = panel.true_positions(tuple(shifts[i]), float(rots[i]), pts.rows[sel], pts.cols[sel])
        return r, c

    def residuals(self, x: np.ndarray) -> np.ndarray:
        param, shifts, rots = self.unpack(x)
        r, c = self._positions(shifts, rots)
        tth = tth_at(self.ai, r, c, param)
        g = self._g(r, c, param, tth)
        res = self.wt * (tth - self.pts.tth) / g
        return np.concatenate([res, self._gauge(shifts, rots)])

    def _gauge(self, shifts, rots) -> np.ndarray:
        rows = [self.gauge * shifts[:, 0].mean(), self.gauge * shifts[:, 1].mean()]
        if self.rotations:
            rows.append(self.gauge * rots.mean() * 100.0)
        return np.array(rows)

    def _g(self, r, c, param, tth) -> np.ndarray:
        h = 0.5
        gr = (tth_at(self.ai, r + h, c, param) - tth) / h
        gc = (tth_at(self.ai, r, c + h, param) - tth) / h
        self._grad = (gr, gc)
        return np.hypot(gr, gc)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        param, shifts, rots = self.unpack(x)
        r, c = self._positions(shifts, rots)
        tth = tth_at(self.ai, r, c, param)
        g = self._g(r, c, param, tth)
        gr, gc = self._grad
        m = self.pts.size
        jac = np.zeros((m + (3 if self.rotations else 2), x.size))
        w = self.wt / g
        for k in range(5):
            step = np.zeros(6)
            step[k] = 1e-3 * self.scale[k]
            jac[:m, k] = w * (tth_at(self.ai, r, c, param + step) - tth) / 1e-3
        for i, panel in enumerate(self.panels):
            sel = np.flatnonzero(self.pts.panel == i)
            col = 5 + self.per * i
            jac[sel, col] = -w[sel] * gc[sel]  # d col / d sx = -1
            jac[sel, col + 1] = -w[sel] * gr[sel]  # d row / d sy = -1
            if self.rotations:
                cx, cy = panel.centre
                u, v = self.pts.cols[sel] - cx, self.pts.rows[sel] - cy
                cs, sn = np.cos(rots[i]), np.sin(rots[i])
                d_row, d_col = cs * u - sn * v, -sn * u - cs * v
                jac[sel, col + 2] = w[sel] * (gr[sel] * d_row + gc[sel] * d_col)
            jac[m, col] = self.gauge / self.n
            jac[m + 1, col + 1] = self.gauge / self.n
            if self.rotations:
                jac[m + 2, col + 2] = self.gauge * 100.0 / self.n
        return jac


def _solve(problem: _Problem, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares with one pass of outlier rejection (|r| > 4 robust σ): the solution and the kept
    points' mask."""
    from scipy.optimize import least_squares

    sol = least_squares(problem.residuals, x0, jac=problem.jacobian, method="trf", x_scale="jac", max_nfev=60)
    res = problem.residuals(sol.x)[: problem.pts.size]
    robust = 1.4826 * np.median(np.abs(res - np.median(res)))
    return sol.x, np.abs(res) <= 4.0 * max(robust, 1e-6)


def _covariance(problem: _Problem, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Parameter covariance (SVD pseudo-inverse: an undetermined direction gets a huge σ, not a crash)
    and the residual RMS (px, unweighted)."""
    jac = problem.jacobian(x)
    res = problem.residuals(x)[: problem.pts.size]
    dof = max(problem.pts.size - (x.size - (3 if problem.rotations else 2)), 1)
    s2 = float(np.sum(res ** 2)) / dof
    norms = np.linalg.norm(jac, axis=0)
    norms[norms == 0] = 1.0
    _, sv, vt = np.linalg.svd(jac / norms, full_matrices=False)
    inv = np.where(sv > sv.max() * 1e-10, 1.0 / np.maximum(sv, 1e-300) ** 2, 1e30)
    cov = (vt.T * inv) @ vt / np.outer(norms, norms) * s2
    raw = res / problem.wt
    return cov, float(np.sqrt(np.mean(raw ** 2)))


def fit_panels(image: np.ndarray, valid: np.ndarray, panels: Sequence[Panel], geometry: PoniGeometry, detector,
               rings_tth: Sequence[float], *, start_shifts: dict[str, tuple[float, float]] | None = None,
               rotations: bool = False, ctx: JobContext | None = None) -> PanelFit:
    """Fit every panel's offset (and rotation) jointly with the common geometry (see the module docstring).

    ``start_shifts`` (panel name -> (dx, dy) px) is the coarse start, e.g. rotational correlation on
    an untilted detector; the common geometry starts from ``geometry``.
    """
    ctx = ctx or JobContext()
    panels = list(panels)
    n = len(panels)
    ai = geometry.to_pyfai(detector)
    image = np.asarray(image, float)
    valid = np.asarray(valid, bool) & np.isfinite(image)
    per = 3 if rotations else 2
    x = np.zeros(5 + per * n)
    if start_shifts:
        start = np.array([start_shifts.get(p.name, (0.0, 0.0)) for p in panels], float)
        start -= start.mean(axis=0)  # the common part is the PONI's
        x[5:].reshape(n, per)[:, :2] = start
    rounds, base = [], geometry
    problem = None
    for k, (window, half) in enumerate(ROUNDS):
        ctx.check()
        ctx.report(f"ring peaks, round {k + 1}", k, len(ROUNDS))
        probe = _Problem(ai, base, panels, _empty_points(), rotations)
        param, shifts, rots = probe.unpack(x)
        model = PanelModel(ai, tuple(param), tuple(panels), shifts, rots)
        pts = extract_ring_points(image, valid, model, rings_tth, window_px=window, half_px=half,
                                  pixel_m=probe.pix)
        if pts.size < 5 + per * n:
            raise ComputationError(f"only {pts.size} ring peaks found on the panels: too few for "
                                   f"{5 + per * n} parameters (check the calibration and the calibrant)")
        problem = _Problem(ai, base, panels, pts, rotations)
        x, keep = _solve(problem, x)
        problem = _Problem(ai, base, panels, pts.subset(keep), rotations)
        x, _ = _solve(problem, x)
        rounds.append({"window_px": window, "points": int(keep.sum()), "rejected": int((~keep).sum())})
    assert problem is not None
    cov, rms = _covariance(problem, x)
    param, shifts, rots = problem.unpack(x)
    sig = np.sqrt(np.clip(np.diag(cov), 0, None)).reshape(-1)
    sig_poses = np.maximum(sig[5:].reshape(n, per), _ring_jackknife(problem, x, ctx))
    geo = PoniGeometry(*param, wavelength=geometry.wavelength)
    counts = np.bincount(problem.pts.panel, minlength=n)
    out = []
    for i, p in enumerate(panels):
        sx, sy = (float(v) if v < 1e6 else float("inf") for v in sig_poses[i, :2])
        if counts[i] == 0:
            sx = sy = float("inf")
        out.append(PanelOffset(p.name, (float(shifts[i, 0]), float(shifts[i, 1])), (sx, sy),
                               float(np.degrees(rots[i])),
                               float(np.degrees(sig_poses[i, 2])) if rotations else 0.0, int(counts[i])))
    ctx.report("panels fitted", len(ROUNDS), len(ROUNDS))
    return PanelFit(geo, out, rms, problem.pts.size, rotations, rounds)


def _ring_jackknife(problem: _Problem, x: np.ndarray, ctx: JobContext) -> np.ndarray:
    """Each pose's σ from leaving out one ring at a time (0 where fewer than 3 rings saw the panel).

    The Jacobian's σ assumes independent peaks, but a ring's peaks share its errors (its profile,
    its background, its neighbours): measured on synthetic quadrants, the offsets' errors were up to
    2.5 times the Jacobian's σ (0.008 px against 0.003), radially, the same on every ring. Leaving
    rings out sees that; the reported σ is the larger of the two.
    """
    from scipy.optimize import least_squares

    pts, n, per = problem.pts, problem.n, problem.per
    rings = np.unique(pts.ring)
    out = np.zeros((n, per))
    if rings.size < 3:
        return out
    reps = []
    for r in rings:
        ctx.check()
        sub = _Problem(problem.ai, problem.base, problem.panels, pts.subset(pts.ring != r), problem.rotations)
        sol = least_squares(sub.residuals, x, jac=sub.jacobian, method="trf", x_scale="jac", max_nfev=20)
        counts = np.bincount(sub.pts.panel, minlength=n)
        reps.append((sol.x[5:].reshape(n, per), counts > 0))
    for i in range(n):
        vals = np.array([poses[i] for poses, seen in reps if seen[i]])
        k = len(vals)
        if k >= 3:
            out[i] = np.sqrt((k - 1) / k * np.sum((vals - vals.mean(axis=0)) ** 2, axis=0))
    return out


def _empty_points() -> RingPoints:
    e = np.zeros(0)
    return RingPoints(e, e, e.astype(int), e.astype(int), e, e, e)
