"""A smooth detector distortion fitted jointly with the geometry, and exported as a Fit2D spline.

Tapered CCDs, image plates and warped sensors move every pixel by a smooth field that no flat
PONI geometry can absorb: the verdict sees it as an azimuthal pattern shared by all rings. This
module models that field with a few low-order terms, fits them together with the free geometry
parameters on the control points, and writes it in the form pyFAI, Dioptas and Fit2D all read: a
Fit2D spline file (pyFAI's detector model, ``Detector.set_splineFile``).

The field is written in complex form about the image centre, z = (x - xc + i (y - yc)) / R with R
the half diagonal, displacement (dx + i dy) = R Σ c_k f_k(z). The terms are only those a geometry
cannot produce: a translation (f = 1) is the PONI, an isotropic scale (z) the distance and a
rotation (i z) nothing at all, so they are left out and the fit stays well posed:

- ``radial3``, ``radial5``: z|z|², z|z|⁴, barrel or pincushion distortion (a taper's optics);
- ``stretch_cos2``, ``stretch_sin2``: z̄, i z̄, different scales along two axes (the cos/sin 2χ pattern);
- ``stretch3_cos2``, ``stretch3_sin2``: the same growing with r²;
- ``trefoil_cos3``, ``trefoil_sin3``: z̄², i z̄², three-fold warping, and ``trefoil5_*`` growing with r²;
- ``quadrafoil_cos4``, ``quadrafoil_sin4``: z̄³, i z̄³, four-fold warping.

Why not pyFAI: pyFAI reads and applies a distortion (spline, per-pixel corners) but refines only
the six PONI parameters; its ``GeometryRefinement`` has no distortion terms. scipy's
``least_squares`` does the joint fit; pyFAI computes 2θ at the displaced pixel positions
(:func:`calterm.core.common.geometry.tth_at`) and writes the spline (``pyFAI.spline.Spline``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from calterm.core.calibrate.refine import ControlPoints, robust_cost
from calterm.core.common.geometry import PARAMS, Constraints, PoniGeometry, tth_at
from calterm.core.common.history import History
from calterm.core.common.spline_detector import pointwise
from calterm.errors import InputError

# Measured on the lab CCD (CeO2_PI_CCD_Mo.SPE, the flat fit's points): RMS/noise 6.7 flat, 2.5 with
# the two stretch terms, 2.0 with the first eight, 1.9 with all twelve (1.4 once the peaks are
# extracted again, see distortion_stage); r⁴-growing stretch and r⁶ radial terms add
# nothing there, and coma-like terms (|z|², degenerate with the tilts) moved the field by 54 px.
TERMS = ("radial3", "radial5", "stretch_cos2", "stretch_sin2", "stretch3_cos2", "stretch3_sin2",
         "trefoil_cos3", "trefoil_sin3", "trefoil5_cos3", "trefoil5_sin3", "quadrafoil_cos4", "quadrafoil_sin4")
_GEOMETRY_SCALE = {"dist": 1e-3, "poni1": 1e-4, "poni2": 1e-4, "rot1": 1e-4, "rot2": 1e-4, "rot3": 1e-4,
                   "wavelength": 1e-14}
_TERM_SCALE = 1e-3  # a coefficient of 1e-3 moves the corners by ~R/1000 ≈ 0.7 px on a 1k detector
# The spline is sampled every SPLINE_STEP_PX pixels and interpolated by pyFAI's cubic B-spline: on
# a 2 px field the spline puts pixels within 1e-4 px of the model (test_distortion).
SPLINE_STEP_PX = 16
# Two rings fix a geometry and little else: the 12 terms then bend the field by tens of pixels
# (measured 37 px on a mislabelled two-ring fit); three rings at different radii separate them.
MIN_RINGS = 3
REEXTRACT_PASSES = 2


def _basis(z: np.ndarray, terms: tuple[str, ...]) -> np.ndarray:
    """Each term's complex displacement field at the normalised positions ``z`` (terms x points)."""
    a = np.abs(z) ** 2
    c = np.conj(z)
    table = {"radial3": lambda: z * a, "radial5": lambda: z * a * a, "stretch_cos2": lambda: c,
             "stretch_sin2": lambda: 1j * c, "stretch3_cos2": lambda: c * a, "stretch3_sin2": lambda: 1j * c * a,
             "trefoil_cos3": lambda: c * c, "trefoil_sin3": lambda: 1j * c * c,
             "trefoil5_cos3": lambda: c * c * a, "trefoil5_sin3": lambda: 1j * c * c * a,
             "quadrafoil_cos4": lambda: c * c * c, "quadrafoil_sin4": lambda: 1j * c * c * c}
    return np.array([table[t]() for t in terms])


@dataclass(frozen=True)
class SmoothDistortion:
    """A smooth displacement field on a detector of ``shape``: where a pixel's signal really lands.

    ``displacement_px(rows, cols)`` is added to the raw pixel position (pyFAI's spline convention:
    physical position = (index + 0.5 + displacement) x pixel size)."""

    shape: tuple[int, int]
    coefficients: tuple[float, ...]
    terms: tuple[str, ...] = TERMS

    @property
    def centre_xy(self) -> tuple[float, float]:
        return ((self.shape[1] - 1) / 2.0, (self.shape[0] - 1) / 2.0)

    @property
    def radius_px(self) -> float:
        return float(np.hypot(*self.shape) / 2.0)

    def displacement_px(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Δrow, Δcol) in pixels at calterm positions (pixel centres at integers)."""
        return _displacement(np.asarray(rows, float), np.asarray(cols, float), self.shape,
                             np.asarray(self.coefficients), self.terms)

    def max_displacement_px(self) -> float:
        rows, cols = np.mgrid[0 : self.shape[0] : 8, 0 : self.shape[1] : 8]
        dr, dc = self.displacement_px(rows.ravel(), cols.ravel())
        return float(np.max(np.hypot(dr, dc)))

    def as_dict(self) -> dict:
        return {"terms": dict(zip(self.terms, (float(c) for c in self.coefficients), strict=True)),
                "centre_xy": list(self.centre_xy), "radius_px": self.radius_px,
                "max_displacement_px": self.max_displacement_px()}

    def spline(self, pixel_size_um: tuple[float, float]):
        """The field as a pyFAI ``Spline`` (Fit2D's format), sampled on a coarse grid."""
        from pyFAI.spline import Spline
        from scipy.interpolate import RectBivariateSpline

        ny, nx = self.shape
        # Spline coordinates are pixel edges (x = col + 0.5); the valid region is 0..nx, 0..ny.
        xs = np.unique(np.r_[np.arange(0, nx, SPLINE_STEP_PX), nx]).astype(float)
        ys = np.unique(np.r_[np.arange(0, ny, SPLINE_STEP_PX), ny]).astype(float)
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        dr, dc = self.displacement_px(Y.ravel() - 0.5, X.ravel() - 0.5)
        s = Spline()
        s.xmin, s.ymin, s.xmax, s.ymax = 0.0, 0.0, float(nx), float(ny)
        s.grid = 1000.0
        s.pixelSize = (float(pixel_size_um[1]), float(pixel_size_um[0]))  # Fit2D: x (columns) first
        s.splineOrder = 3
        for axis, values in (("x", dc), ("y", dr)):
            fitted = RectBivariateSpline(xs, ys, values.reshape(X.shape), kx=3, ky=3, s=0)
            kx, ky = fitted.get_knots()
            setattr(s, f"{axis}SplineKnotsX", kx)
            setattr(s, f"{axis}SplineKnotsY", ky)
            setattr(s, f"{axis}SplineCoeff", fitted.get_coeffs())
        return s


def _displacement(rows, cols, shape, coef, terms) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    radius = np.hypot(ny, nx) / 2.0
    z = ((cols - (nx - 1) / 2.0) + 1j * (rows - (ny - 1) / 2.0)) / radius
    d = radius * (coef @ _basis(z, terms)) if len(terms) else np.zeros_like(z)
    return d.imag, d.real


@dataclass(frozen=True)
class DistortionFit:
    geometry: PoniGeometry
    sigma: dict[str, float]
    residual_rad: np.ndarray
    distortion: SmoothDistortion
    cost: float


def ring_tth(wavelength_m: float, d_A: np.ndarray) -> np.ndarray:
    return 2.0 * np.arcsin(np.clip(wavelength_m * 1e10 / (2.0 * d_A), -1.0, 1.0))


def refine_with_distortion(start: PoniGeometry, points: ControlPoints, detector, constraints: Constraints,
                           shape: tuple[int, int], terms: tuple[str, ...] = TERMS,
                           history: History | None = None, stage: str = "distortion",
                           start_coefficients: np.ndarray | None = None,
                           f_scale_rad: float = 2e-4) -> DistortionFit:
    """Fit the free geometry parameters and the distortion terms together on the points.

    The geometry parameters are scaled as in :mod:`refine`, the terms by ``_TERM_SCALE``; the loss
    is the same robust soft-L1 so a few bad peaks do not bend the field."""
    free = constraints.free
    index = [PARAMS.index(n) for n in free]
    base = start.as_vector()
    lo_g, hi_g = constraints.lower_upper(free)
    n_terms = len(terms)
    lo = np.r_[lo_g, np.full(n_terms, -0.05)]  # |c| < 0.05: a field of at most ~R/20, far beyond any real taper
    hi = np.r_[hi_g, np.full(n_terms, 0.05)]
    c0 = np.zeros(n_terms) if start_coefficients is None else np.asarray(start_coefficients, float)
    x0 = np.clip(np.r_[base[index], c0], lo, hi)
    scale = np.r_[[_GEOMETRY_SCALE[n] for n in free], np.full(n_terms, _TERM_SCALE)]
    pyfai_geo = start.to_pyfai(detector)
    weight = np.ones(len(points)) if points.weight is None else points.weight
    rows, cols = np.asarray(points.rows, float), np.asarray(points.cols, float)
    ny, nx = shape
    radius = np.hypot(ny, nx) / 2.0
    z = ((cols - (nx - 1) / 2.0) + 1j * (rows - (ny - 1) / 2.0)) / radius
    basis = radius * _basis(z, terms) if n_terms else np.zeros((0, z.size), complex)

    def split(x):
        v = base.copy()
        v[index] = x[: len(index)]
        return v, x[len(index):]

    def raw(x):
        v, c = split(x)
        d = c @ basis if n_terms else 0.0
        return tth_at(pyfai_geo, rows + np.imag(d), cols + np.real(d), v[:6]) - ring_tth(v[6], points.d_A)

    def fun(x):
        return raw(x) * weight

    def jac(x):
        f0 = fun(x)
        J = np.empty((len(points), x.size))
        for j in range(x.size):
            xp = x.copy()
            xp[j] += scale[j] * 1e-3
            J[:, j] = (fun(xp) - f0) / (scale[j] * 1e-3)
        return J

    f_scale = f_scale_rad * float(np.median(weight))

    def recorded(x):
        r = fun(x)
        if history is not None:
            v, _ = split(x)
            geo = start.with_vector(PARAMS, v)
            history.add(iteration=len(history), stage=stage, **geo.as_dict(),
                        cost=robust_cost(r, "soft_l1", f_scale),
                        rms_2th_rad=float(np.sqrt(np.mean((r / weight) ** 2))), n_points=len(points))
        return r

    sol = least_squares(recorded, x0, jac=jac, bounds=(lo, hi), x_scale=scale, loss="soft_l1", f_scale=f_scale,
                        method="trf", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=200)
    v, c = split(sol.x)
    geometry = start.with_vector(PARAMS, v)
    sigma = _sigma(sol.jac, sol.fun, free)
    distortion = SmoothDistortion(tuple(int(s) for s in shape), tuple(float(a) for a in c), tuple(terms))
    return DistortionFit(geometry, sigma, raw(sol.x), distortion, float(sol.cost))


def _sigma(J: np.ndarray, r: np.ndarray, free: tuple[str, ...]) -> dict[str, float]:
    n, p = J.shape
    if n <= p:
        return {name: float("nan") for name in free}
    cov = np.linalg.pinv(J.T @ J) * float(np.sum(r**2) / (n - p))
    return {name: float(np.sqrt(max(cov[i, i], 0.0))) for i, name in enumerate(free)}


def distorted_detector(base, distortion: SmoothDistortion, folder: str | None = None):
    """A copy of the pyFAI detector ``base`` that applies ``distortion`` (through a spline file in
    ``folder``, a private temporary one by default: pyFAI's detectors load splines from files)."""
    import copy
    import os
    import tempfile

    folder = folder or tempfile.mkdtemp(prefix="calterm-spline-")
    path = os.path.join(folder, "distortion.spline")
    distortion.spline((base.pixel1 * 1e6, base.pixel2 * 1e6)).write(path)
    det = copy.deepcopy(base)
    det.splinefile = path
    for key, value in vars(base).items():  # calterm's marks (parallax): pyFAI's copy drops them
        if key.startswith("_calterm"):
            setattr(det, key, value)
    return pointwise(det)


def distortion_seen(verdict) -> bool:
    """Did the verdict find the smooth azimuthal pattern a detector distortion leaves?"""
    return any("detector distortion" in reason for reason in verdict.reasons)


def distortion_stage(prep, state, opts, history: History, ctx, why: str) -> tuple:
    """The flat fit refitted with the distortion: (state, rings, verdict, detector, distortion).

    The peaks are then extracted again around the corrected geometry and the field refitted
    (``REEXTRACT_PASSES``): the flat fit's windows and outlier cut were set by a residual three
    times too large, which let blended and off-ring peaks in. Measured on the lab CCD: RMS/noise
    1.93 after the first fit, 1.44 after one re-extraction, 1.42 after two. The residual and the
    verdict are pyFAI's on the spline-carrying detector: what is judged is what the files give."""
    from dataclasses import replace

    from calterm.core.calibrate import autorefine
    from calterm.core.calibrate.explained import explain
    from calterm.core.calibrate.refine import delta_tth
    from calterm.core.calibrate.ringpeaks import rings_on_detector
    from calterm.core.calibrate.setup_check import with_setup_check
    from calterm.core.calibrate.verdict import judge, ring_residuals
    from calterm.core.common.detectors import mean_pixel_m

    data, valid, base, tth_rad = prep.image.data, prep.valid, prep.detector.detector, prep.tth_rad
    flat_rms = float(np.sqrt(np.mean(state.residual_rad**2)))
    fit = refine_with_distortion(state.geometry, state.points, base, opts.constraints, data.shape, history=history)
    det = distorted_detector(base, fit.distortion)
    points = state.points
    # A user's pyFAI picker was built on the flat detector: its peaks are kept as they are.
    for _ in range(REEXTRACT_PASSES if opts.picker is None else 0):
        ctx.report("distortion: peaks again around the corrected geometry")
        moved = replace(state, geometry=fit.geometry, residual_rad=delta_tth(fit.geometry, det, points))
        grown = autorefine.grow(data, valid, det, moved, prep.d_A, tth_rad, opts, history, ctx)
        if np.unique(grown.points.ring).size < MIN_RINGS:
            break
        points, state = grown.points, grown
        fit = refine_with_distortion(grown.geometry, points, base, opts.constraints, data.shape, history=history,
                                     start_coefficients=np.array(fit.distortion.coefficients))
        det = distorted_detector(base, fit.distortion)
    residual = delta_tth(fit.geometry, det, points)
    new_state = replace(state, geometry=fit.geometry, sigma=fit.sigma, points=points, residual_rad=residual)
    rings = ring_residuals(points, residual, fit.geometry.wavelength)
    verdict = judge(points, residual, rings, fit.geometry.beam_center_px(det), tth_rad, state.n_rejected,
                    rings_on_detector(fit.geometry, det, data.shape, tth_rad),
                    fit.geometry.dist / mean_pixel_m(det), explain(data, valid, fit.geometry, det, tth_rad))
    verdict = with_setup_check(verdict, fit.geometry, det, data.shape, fit.sigma)
    note = (f"a smooth detector distortion was fitted with the geometry ({why}): {len(fit.distortion.terms)} "
            f"terms, pixels moved by up to {fit.distortion.max_displacement_px():.2f} px, RMS "
            f"{flat_rms * 1e3:.3f} -> {verdict.rms_rad * 1e3:.3f} mrad")
    verdict = replace(verdict, reasons=(note, *verdict.reasons))
    return new_state, rings, verdict, det, fit.distortion


def detector_model(choice, request, shape):
    """The user's spline file and sensor applied to the chosen detector (pyFAI's models)."""
    from dataclasses import replace

    det = choice.detector
    if request.spline_path and request.fit_distortion:
        # the fitted field would be written as the PONI's spline in place of the user's
        raise InputError("--spline and --fit-distortion: give one (a spline file is already a distortion model)")
    if request.spline_path:
        from calterm.core.common.spline_detector import with_spline

        det = with_spline(det, request.spline_path, shape)
    if request.sensor:
        from calterm.core.common.sensor import with_sensor

        det = with_sensor(det, *request.sensor)
    return choice if det is choice.detector else replace(choice, detector=det)


def with_distortion(prep, request, state, rings, verdict, history, opts, ctx) -> tuple:
    """(state, rings, verdict, detector, distortion): the fit with a smooth detector distortion when
    the user asks, or when the verdict sees one (kept then only if still good); else the flat fit
    unchanged, distortion None. A user's spline file is their distortion model: no second one."""
    det = prep.detector.detector
    wanted = request.fit_distortion
    if wanted is False or (wanted is None and (request.spline_path or not distortion_seen(verdict))):
        return state, rings, verdict, det, None
    why = "asked for" if wanted else "the verdict found its pattern"
    n_rings = int(np.unique(state.points.ring).size)
    if n_rings < MIN_RINGS:
        from dataclasses import replace

        note = (f"no detector distortion fitted ({why}): {n_rings} ring(s) cannot tell it from the geometry "
                f"(at least {MIN_RINGS} are needed)")
        return state, rings, replace(verdict, reasons=(*verdict.reasons, note)), det, None
    staged = distortion_stage(prep, state, opts, history, ctx, why)
    if wanted is None and not staged[2].ok:
        return state, rings, verdict, det, None
    return staged


def write_spline_beside(result, poni_path, command: str = ""):
    """Write ``result.distortion`` as ``NAME.spline`` next to the PONI (versioned, by the one writer)
    and return the detector that references that version: the PONI names an immutable file, so a
    later calibration's spline never changes what an earlier PONI means."""
    import copy
    from pathlib import Path

    from calterm.core.io.writer import write_output

    det = result.detector
    spline = result.distortion.spline((det.pixel1 * 1e6, det.pixel2 * 1e6))
    target = Path(poni_path).with_suffix(".spline")
    version = write_output(target, lambda tmp: spline.write(str(tmp)), command=command,
                           inputs={"poni": str(poni_path), "terms": result.distortion.as_dict()["terms"]})
    out = copy.deepcopy(det)
    out.splinefile = str(Path(version).resolve())
    for key, value in vars(det).items():
        if key.startswith("_calterm"):
            setattr(out, key, value)
    return out
