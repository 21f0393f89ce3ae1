"""Panel geometry from the powder rings: every panel's offset (and in-plane rotation) fitted jointly
with the common PONI geometry, each with its uncertainty.

Rotational self-correlation (:mod:`calterm.core.health.alignment`) assumes the rings are circles
about the centre, so on a tilted detector it reads the rings' ellipticity as panel shifts (1.8-2.5
px on the tilted demo image, up to 5 px on a one-piece CCD). Here the rings are what a calibration
says they are: a pixel's 2θ comes from pyFAI's geometry at the pixel's true position
(:meth:`Panel.true_positions`), and the fit moves the common geometry (dist, poni1, poni2, rot1,
rot2) and each panel's pose until every ring peak (:mod:`.panel_peaks`) lies on its ring. Tilt is
in the common geometry, so it cannot hide in the offsets.

A common translation of all panels is the PONI; the offsets are therefore relative: fitted with
their information-weighted mean at 0 (and mean rotation 0), reported relative to their weighted
median, so that one displaced panel reads as itself displaced and the others in place. Uncertainties come from the Jacobian at the
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
# search windows (px from the model ring) per round: wide enough for the coarse start's error (the
# correlation's, a few px on a tilted detector), then narrow, so that close rings can be used too
WINDOWS = (8.0, 4.0, 2.5)
FIRST_HALF_PX = 3.0  # centroid half-width before any ring width is measured; then 3 RMS widths


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
    noise_px: float = 0.0  # median peak-position error the arcs' own noise predicts
    anisotropy: tuple[float, float] | None = None  # (a, b) of r (a cos 2χ + b sin 2χ), when fitted

    @property
    def warnings(self) -> list[str]:
        """What makes the offsets doubtful: residuals far above the peaks' own noise mean the rings
        deviate from a PONI geometry plus panel offsets (a distortion), which the offsets may carry."""
        if self.noise_px > 0 and self.rms_px > 3.0 * self.noise_px:
            return [f"ring residuals {self.rms_px:.2f} px RMS are {self.rms_px / self.noise_px:.0f}x the peaks' "
                    "noise: the rings are not a PONI geometry plus panel offsets (a detector distortion?); "
                    "the offsets may carry it"]
        return []

    def report(self) -> dict:
        out = {"method": "ring fit", "geometry": self.geometry.as_dict(), "rms_px": round(self.rms_px, 4),
               "noise_px": round(self.noise_px, 4), "n_points": self.n_points, "rotations": self.rotations,
               "panels": [p.as_dict() for p in self.panels],
               "significant": [p.name for p in self.panels if p.significant], "fit_warnings": self.warnings}
        if self.anisotropy is not None:
            out["anisotropy"] = [round(v, 6) for v in self.anisotropy]
        return out


class _Problem:
    """Residuals (px across the ring, weighted by each peak's error) and their structured Jacobian."""

    def __init__(self, ai, base: PoniGeometry, panels: Sequence[Panel], pts: RingPoints, rotations: bool,
                 anisotropy: bool = False) -> None:
        self.ai, self.base, self.panels, self.pts, self.rotations = ai, base, list(panels), pts, rotations
        self.anisotropy = anisotropy
        self.n = len(self.panels)
        self.per = 3 if rotations else 2
        self.end = 5 + self.per * self.n  # poses end here; the anisotropy terms (if any) follow
        self.wt = 1.0 / np.maximum(pts.sigma_px, 1e-3)
        self.wt = self.wt / np.sqrt(np.mean(self.wt ** 2)) if pts.size else self.wt  # relative weights: the scatter sets the scale
        self.gauge = 1e3 * np.sqrt(pts.size)
        self.pix = float(np.sqrt(ai.detector.pixel1 * ai.detector.pixel2))
        # common parameters in pixel-sized units (dist and PONI in px, rotations in px at the distance)
        self.scale = np.array([self.pix, self.pix, self.pix, self.pix / base.dist, self.pix / base.dist])
        # The gauge (what "relative" means): the poses' mean weighted, axis by axis, by how well the
        # rings measure each panel along that axis. A plain mean would hand a far sensor's
        # unmeasurable tangential shift (rings are locally straight there) to every other panel's σ.
        # Panels without a ring peak are pinned at 0 and reported undetermined.
        counts = np.bincount(pts.panel, minlength=self.n) if pts.size else np.zeros(self.n, int)
        self.active = counts > 0
        self.weights = np.zeros((self.n, self.per))
        if pts.size:
            t3, t1, t2 = ai.calc_pos_zyx(d1=pts.rows, d2=pts.cols, param=list(base.as_vector()[:6]), use_cython=False)
            chi, r_px = np.arctan2(t1, t2), np.hypot(t1, t2) / self.pix
            # anisotropic magnification (a taper, unequal pixel pitches): radial error r (a cos 2χ + b sin 2χ),
            # a and b in 1e-3
            self.aniso_cols = np.column_stack([r_px * np.cos(2 * chi), r_px * np.sin(2 * chi)]) * 1e-3
            data = self._data_jacobian(np.zeros(self.end + (2 if anisotropy else 0)))
            info = np.square(data[:, 5:self.end]).sum(axis=0).reshape(self.n, self.per)
            info[~self.active] = 0.0
            self.weights = info / np.maximum(info.sum(axis=0), 1e-300)
        self.n_gauge = self.per + int((~self.active).sum()) * self.per

    def unpack(self, x: np.ndarray):
        param = np.array([*(self.base.as_vector(COMMON) + x[:5] * self.scale), self.base.rot3])
        poses = x[5:self.end].reshape(self.n, self.per)
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
        if self.anisotropy:
            res = res + self.wt * (self.aniso_cols @ x[self.end:])
        return np.concatenate([res, self._gauge(shifts, rots)])

    def _gauge(self, shifts, rots) -> np.ndarray:
        poses = np.column_stack([shifts, rots]) if self.rotations else shifts
        rows = list(self.gauge * (self.weights * poses).sum(axis=0))
        rows += list(self.gauge * poses[~self.active].ravel())
        return np.array(rows)

    def _g(self, r, c, param, tth) -> np.ndarray:
        h = 0.5
        gr = (tth_at(self.ai, r + h, c, param) - tth) / h
        gc = (tth_at(self.ai, r, c + h, param) - tth) / h
        self._grad = (gr, gc)
        return np.hypot(gr, gc)

    def _data_jacobian(self, x: np.ndarray) -> np.ndarray:
        param, shifts, rots = self.unpack(x)
        r, c = self._positions(shifts, rots)
        tth = tth_at(self.ai, r, c, param)
        g = self._g(r, c, param, tth)
        gr, gc = self._grad
        m = self.pts.size
        jac = np.zeros((m, x.size))
        w = self.wt / g
        for k in range(5):
            step = np.zeros(6)
            step[k] = 1e-3 * self.scale[k]
            jac[:, k] = w * (tth_at(self.ai, r, c, param + step) - tth) / 1e-3
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
        if self.anisotropy:
            jac[:, self.end:] = self.wt[:, None] * self.aniso_cols
        return jac

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        gauge = np.zeros((self.n_gauge, x.size))
        for k in range(self.per):
            gauge[k, 5 + k:self.end:self.per] = self.gauge * self.weights[:, k]
        row = self.per
        for i in np.flatnonzero(~self.active):
            for k in range(self.per):
                gauge[row, 5 + self.per * i + k] = self.gauge
                row += 1
        return np.vstack([self._data_jacobian(x), gauge])


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
    dof = max(problem.pts.size - (x.size - problem.n_gauge), 1)
    s2 = float(np.sum(res ** 2)) / dof
    norms = np.linalg.norm(jac, axis=0)
    norms[norms == 0] = 1.0
    _, sv, vt = np.linalg.svd(jac / norms, full_matrices=False)
    inv = 1.0 / np.maximum(sv, sv.max() * 1e-12) ** 2
    cov = (vt.T * inv) @ vt / np.outer(norms, norms) * s2
    raw = res / problem.wt
    return cov, float(np.sqrt(np.mean(raw ** 2)))


def fit_panels(image: np.ndarray, valid: np.ndarray, panels: Sequence[Panel], geometry: PoniGeometry, detector,
               rings_tth: Sequence[float], *, start_shifts: dict[str, tuple[float, float]] | None = None,
               rotations: bool = False, anisotropy: bool = False, ctx: JobContext | None = None) -> PanelFit:
    """Fit every panel's offset (and rotation) jointly with the common geometry (see the module docstring).

    ``start_shifts`` (panel name -> (dx, dy) px) is the coarse start, e.g. rotational correlation on
    an untilted detector; the common geometry starts from ``geometry``. ``anisotropy`` adds a
    common anisotropic magnification, r (a cos 2χ + b sin 2χ), which a one-piece CCD's fibre-optic
    taper shows and which would otherwise be read as quadrant shifts.
    """
    from threadpoolctl import threadpool_limits

    # small dense SVDs in every solver step: with OpenBLAS threads on a busy machine one 500 x 133
    # SVD took 0.77 s (64 sensors: 42 s a fit); with one thread the fit is BLAS-bound no more
    with threadpool_limits(limits=1):
        return _fit_panels(image, valid, panels, geometry, detector, rings_tth, start_shifts, rotations,
                           anisotropy, ctx or JobContext())


def _fit_panels(image, valid, panels, geometry, detector, rings_tth, start_shifts, rotations, anisotropy,
                ctx) -> PanelFit:
    panels = list(panels)
    n = len(panels)
    ai = geometry.to_pyfai(detector)
    image = np.asarray(image, float)
    valid = np.asarray(valid, bool) & np.isfinite(image)
    per = 3 if rotations else 2
    x = np.zeros(5 + per * n + (2 if anisotropy else 0))
    if start_shifts:
        start = np.array([start_shifts.get(p.name, (0.0, 0.0)) for p in panels], float)
        start -= start.mean(axis=0)  # the common part is the PONI's
        x[5:5 + per * n].reshape(n, per)[:, :2] = start
    rounds, base = [], geometry
    problem = None
    half = FIRST_HALF_PX
    for k, window in enumerate(WINDOWS):
        ctx.check()
        ctx.report(f"ring peaks, round {k + 1}", k, len(WINDOWS))
        probe = _Problem(ai, base, panels, _empty_points(), rotations)
        param, shifts, rots = probe.unpack(x)
        model = PanelModel(ai, tuple(param), tuple(panels), shifts, rots)
        pts = extract_ring_points(image, valid, model, rings_tth, window_px=window, half_px=half,
                                  pixel_m=probe.pix)
        if pts.size < x.size:
            raise ComputationError(f"only {pts.size} ring peaks found on the panels: too few for "
                                   f"{x.size} parameters (check the calibration and the calibrant)")
        problem = _Problem(ai, base, panels, pts, rotations, anisotropy)
        x, keep = _solve(problem, x)
        problem = _Problem(ai, base, panels, pts.subset(keep), rotations, anisotropy)
        x, _ = _solve(problem, x)
        rounds.append({"window_px": window, "half_px": round(half, 3), "points": int(keep.sum()),
                       "rejected": int((~keep).sum())})
        half = float(np.clip(3.0 * np.median(pts.width_px[keep]), 1.5, 4.0))
    assert problem is not None
    cov, rms = _covariance(problem, x)
    param, shifts, rots = problem.unpack(x)
    sig = np.sqrt(np.clip(np.diag(cov), 0, None)).reshape(-1)
    sig_poses = sig[5:5 + per * n].reshape(n, per)
    counts = np.bincount(problem.pts.panel, minlength=n)
    shifts, param = _median_gauge(shifts.copy(), sig_poses[:, :2], counts > 0, param, detector)
    geo = PoniGeometry(*param, wavelength=geometry.wavelength)
    out = []
    for i, p in enumerate(panels):
        sx, sy = (float(v) if v < 1e6 else float("inf") for v in sig_poses[i, :2])
        if counts[i] == 0:
            sx = sy = float("inf")
        out.append(PanelOffset(p.name, (float(shifts[i, 0]), float(shifts[i, 1])), (sx, sy),
                               float(np.degrees(rots[i])),
                               float(np.degrees(sig_poses[i, 2])) if rotations else 0.0, int(counts[i])))
    ctx.report("panels fitted", len(WINDOWS), len(WINDOWS))
    aniso = (float(x[-2]) * 1e-3, float(x[-1]) * 1e-3) if anisotropy else None
    return PanelFit(geo, out, rms, problem.pts.size, rotations, rounds, float(np.median(problem.pts.sigma_px)), aniso)


def _median_gauge(shifts: np.ndarray, sigma: np.ndarray, active: np.ndarray, param: np.ndarray, detector):
    """Shifts re-expressed relative to their weighted median (weights 1/σ², axis by axis), the PONI
    taking the common part: one displaced quadrant then reads as itself displaced and the others in
    place, not as a quarter of its shift spread over all four (what any mean would say). A common
    translation of every panel is exactly a move of the PONI in the detector plane, so the model and
    its residuals are unchanged; the σ are the fit's (relative to the information-weighted mean)."""
    t = np.zeros(2)
    for k in range(2):
        ok = active & np.isfinite(sigma[:, k]) & (sigma[:, k] > 0)
        if ok.any():
            v, w = shifts[ok, k], 1.0 / sigma[ok, k] ** 2
            order = np.argsort(v)
            cum = np.cumsum(w[order])
            t[k] = v[order][np.searchsorted(cum, 0.5 * cum[-1])]
    shifts[active] -= t
    param = np.array(param, float)
    param[1] += t[1] * detector.pixel1  # content displaced by +t everywhere = the PONI moved by +t
    param[2] += t[0] * detector.pixel2
    return shifts, param


def _empty_points() -> RingPoints:
    e = np.zeros(0)
    return RingPoints(e, e, e.astype(int), e.astype(int), e, e, e)
