"""One least-squares fit over every image's control points (scipy ``least_squares``, pyFAI's 2θ).

Each point keeps its own image's geometry (built from the parameter slots by the model) and its
ring's 2θ from its calibrant and the one wavelength. The Jacobian is taken by forward differences
slot by slot, recomputing only the images a slot touches (a per-image distance moves one image).
We write the loop rather than use pyFAI's ``GoniometerRefinement`` because that class needs the
model as code strings for each parameter, has no robust loss and no per-parameter bounds in
PONI units, and returns no uncertainties; ``benchmarks/bench_joint.py`` runs it side by side.

1σ: the block jackknife of :mod:`calterm.core.calibrate.uncertainty` with blocks = (image, ring,
azimuthal sector) and its systematic radial floor: errors shared inside one image's ring arc count once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from calterm.core.calibrate.refine import ControlPoints
from calterm.core.calibrate.uncertainty import (
    SECTORS,
    block_labels,
    neighbour_correlation,
    parameter_sigma,
    systematic_sigma,
)
from calterm.core.common.detectors import mean_pixel_m
from calterm.core.common.geometry import PARAMS, PoniGeometry, tth_at
from calterm.core.joint.model import ParameterModel
from calterm.errors import ComputationError

_SCALE = {"dist": 1e-3, "poni1": 1e-4, "poni2": 1e-4, "rot1": 1e-4, "rot2": 1e-4, "rot3": 1e-4, "wavelength": 1e-14}
SIGMA_METHOD = ("block jackknife over (image, ring, 8 azimuthal sectors), at least the residual covariance over "
                "the effective number of points, plus a 0.003 px common radial bias")


@dataclass(frozen=True)
class Slot:
    """One fitted number: which parameter, which image (None: every image), and its name."""

    param: str
    image: int | None
    name: str


@dataclass(frozen=True)
class JointFitResult:
    geometries: tuple[PoniGeometry, ...]
    residuals: tuple[np.ndarray, ...]
    values: dict[str, float]
    sigma: dict[str, float]
    nfev: int


def slots_of(model: ParameterModel, n_images: int, refine_wavelength: bool) -> list[Slot]:
    """The fitted slots in a fixed order: shared and linked ones first, then per-image ones."""
    slots: list[Slot] = []
    for p in PARAMS:
        mode = model.modes[p]
        if p == "wavelength":
            if refine_wavelength:
                slots.append(Slot(p, None, p))
        elif mode == "shared":
            slots.append(Slot(p, None, p))
        elif mode == "linked":
            slots.append(Slot(p, None, "L0"))
        elif mode == "per-image":
            slots.extend(Slot(p, i, f"{p}[{i}]") for i in range(n_images))
    return slots


def start_vector(slots: list[Slot], starts: list[PoniGeometry], model: ParameterModel) -> np.ndarray:
    """Start values from each image's own calibration: the median over images for a shared slot,
    median(dist_i - travel_i) for L0."""
    x = []
    for s in slots:
        values = np.array([getattr(g, s.param) for g in starts])
        if s.image is not None:
            x.append(values[s.image])
        elif s.name == "L0":
            x.append(float(np.median(values - np.asarray(model.travel_m))))
        else:
            x.append(float(np.median(values)))
    return np.array(x, float)


def _vectors(x: np.ndarray, slots: list[Slot], base: list[np.ndarray], model: ParameterModel) -> list[np.ndarray]:
    """Each image's 7-parameter PONI vector for slot values ``x``."""
    out = [b.copy() for b in base]
    for value, s in zip(x, slots, strict=True):
        k = PARAMS.index(s.param)
        if s.image is not None:
            out[s.image][k] = value
        else:
            for i, v in enumerate(out):
                v[k] = value + (model.travel_m[i] if s.name == "L0" else 0.0)
    return out


def _image_residual(pyfai_geo, vector: np.ndarray, pts: ControlPoints) -> np.ndarray:
    ring_tth = 2.0 * np.arcsin(np.clip(vector[6] * 1e10 / (2.0 * pts.d_A), -1.0, 1.0))
    return tth_at(pyfai_geo, pts.rows, pts.cols, vector[:6]) - ring_tth


def joint_fit(starts: list[PoniGeometry], points: list[ControlPoints], detectors: list, model: ParameterModel,
              refine_wavelength: bool, f_scale_rad: float = 2e-4) -> JointFitResult:
    """Fit the model's slots to every image's points at once; geometries, residuals, values and 1σ."""
    n = len(starts)
    slots = slots_of(model, n, refine_wavelength)
    total = sum(len(p) for p in points)
    if total < len(slots) + 1:
        raise ComputationError(f"{total} control points cannot fix {len(slots)} joint parameters")
    base = [g.as_vector() for g in starts]
    geos = [g.to_pyfai(d) for g, d in zip(starts, detectors, strict=True)]
    x0 = start_vector(slots, starts, model)
    scale = np.array([_SCALE[s.param] for s in slots])

    def per_image(x: np.ndarray, only: set[int] | None = None, current: list[np.ndarray] | None = None):
        vectors = _vectors(x, slots, base, model)
        return [(_image_residual(geos[i], vectors[i], points[i]) if only is None or i in only else current[i])
                for i in range(n)]

    def fun(x: np.ndarray) -> np.ndarray:
        return np.concatenate(per_image(x))

    def jac(x: np.ndarray) -> np.ndarray:
        parts = per_image(x)
        f0 = np.concatenate(parts)
        J = np.zeros((total, len(x)))
        for j, s in enumerate(slots):
            h = scale[j] * 1e-3
            xp = x.copy()
            xp[j] += h
            touched = set(range(n)) if s.image is None else {s.image}
            J[:, j] = (np.concatenate(per_image(xp, touched, parts)) - f0) / h
        return J

    f_scale = f_scale_rad
    sol = least_squares(fun, x0, jac=jac, x_scale=scale, loss="soft_l1", f_scale=f_scale, method="trf",
                        xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=200)
    vectors = _vectors(sol.x, slots, base, model)
    geometries = tuple(starts[i].with_vector(PARAMS, vectors[i]) for i in range(n))
    residuals = per_image(sol.x)
    r = np.concatenate(residuals)
    J = jac(sol.x)
    sigma = _sigma(J, r, f_scale, points, geometries, detectors)
    values = {s.name: float(v) for s, v in zip(slots, sol.x, strict=True)}
    return JointFitResult(geometries, tuple(residuals[i] for i in range(n)), values,
                          {s.name: float(v) for s, v in zip(slots, sigma, strict=True)}, int(sol.nfev))


def _sigma(J, r, f_scale, points, geometries, detectors) -> np.ndarray:
    """Block jackknife with blocks (image, ring, sector), robust weights, the systematic floor."""
    weights = 1.0 / np.sqrt(1.0 + (r / f_scale) ** 2)
    blocks, phis, rings, radial = [], [], [], []
    stride = 10_000 * SECTORS
    for i, (pts, geo, det) in enumerate(zip(points, geometries, detectors, strict=True)):
        beam = geo.beam_center_px(det)
        blocks.append(i * stride + block_labels(pts.ring, pts.rows, pts.cols, beam))
        phis.append(np.arctan2(pts.rows - beam[1], pts.cols - beam[0]))
        rings.append(i * 10_000 + pts.ring)
        tth = 2.0 * np.arcsin(np.clip(geo.wavelength * 1e10 / (2.0 * pts.d_A), -1.0, 1.0))
        radial.append(mean_pixel_m(det) / geo.dist * np.cos(tth) ** 2)
    phi = np.concatenate(phis)
    rho = neighbour_correlation(r, np.concatenate(rings), phi)
    statistical = parameter_sigma(J, r, np.concatenate(blocks), weights, rho)
    image = np.concatenate([np.full(len(pts.ring), i) for i, pts in enumerate(points)])
    return np.sqrt(statistical**2 + systematic_sigma(J, np.concatenate(radial), phi, groups=image) ** 2)
