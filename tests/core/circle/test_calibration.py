"""Ring -> calibration (exact Bragg geometry) and the building blocks: least squares, DE, cancellation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calterm.core.circle import calibration as cc
from calterm.core.circle.fit import fit_ring
from calterm.core.circle.points import working_image
from calterm.core.common import circle_fits as lsq
from calterm.core.simulate.single_ring import SingleRingCase, render_single_ring
from calterm.errors import InputError


def test_agbh_orders_from_pyfai():
    assert cc.ring_d_spacing_nm(calibrant="AgBh") == pytest.approx(5.838, abs=1e-4)
    assert cc.ring_d_spacing_nm(calibrant="AgBh", order=2) == pytest.approx(5.838 / 2, abs=1e-4)
    with pytest.raises(InputError):
        cc.ring_d_spacing_nm(calibrant="AgBh", order=10_000)
    with pytest.raises(InputError):
        cc.ring_d_spacing_nm(5.0, "AgBh")


def test_distance_from_a_pyfai_ring_is_exact_at_wide_angle():
    # 2θ = 23.1° at 1 Å and d = 0.25 nm: small-angle r = Dλ/d would be 6.5 % (16 px) short
    case = SingleRingCase(shape=(380, 380), center=(10.4, 12.2), d_spacings_nm=(0.25,), wavelength_A=1.0,
                          distance_mm=60.0, pixel_size_um=100.0, peak_intensity=3000.0, resolution_deg=0.3,
                          seed=2)
    r_true = case.radii_px()[0]
    small_angle = case.distance_mm * 1e3 * (case.wavelength_A / 10 / 0.25) / case.pixel_size_um
    assert abs(small_angle - r_true) > 15
    image = working_image(render_single_ring(case))
    fit = fit_ring(image)
    assert abs(fit.radius - r_true) < 0.1
    cal = cc.calibrate_ring(fit.radius, 0.25, case.wavelength_A, case.pixel_size_um, fit.radius_se)
    assert cal.distance_mm == pytest.approx(case.distance_mm, rel=2e-4)
    assert cal.distance_se_mm < 0.1
    assert cal.scale_inv_nm_per_px == pytest.approx(1 / (0.25 * fit.radius))
    assert cal.q_per_px_inv_nm == pytest.approx(2 * math.pi * cal.scale_inv_nm_per_px)


def test_calibration_by_parameters_is_the_inverse():
    r = cc.radius_px_for_d(0.5, 1.0, 130.0, 50.0)
    assert cc.d_spacing_at_radius_nm(r, 1.0, 130.0, 50.0) == pytest.approx(0.5, rel=1e-12)
    by_params = cc.calibrate_by_parameters(r, 1.0, 130.0, 50.0)
    assert by_params.d_spacing_nm == pytest.approx(0.5, rel=1e-12) and by_params.source == "parameters"
    # agrees with pyFAI's own 2θ for a pixel at that radius on an untilted detector
    import pyFAI.detectors
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    det = pyFAI.detectors.Detector(pixel1=50e-6, pixel2=50e-6, max_shape=(10, 4000))
    ai = AzimuthalIntegrator(dist=0.13, poni1=0.5 * 50e-6, poni2=0.5 * 50e-6, detector=det, wavelength=1e-10)
    tth = ai.tth(np.array([0.0]), np.array([r]))[0]
    assert math.degrees(tth) == pytest.approx(by_params.two_theta_deg, abs=1e-9)


def test_impossible_geometry_is_an_input_error():
    with pytest.raises(InputError):
        cc.two_theta_rad(0.05, 1.5)  # λ > 2d
    with pytest.raises(InputError):
        cc.d_spacing_at_radius_nm(-1.0, 1.0, 100.0, 100.0)


def test_taubin_and_geometric_fit_recover_an_exact_circle():
    rng = np.random.default_rng(1)
    ang = rng.uniform(0.2, 1.4, 30)  # a 70° arc
    pts = np.column_stack([100 + 250 * np.cos(ang), -40 + 250 * np.sin(ang)])
    assert np.allclose(lsq.taubin_fit(pts), (100, -40, 250), atol=1e-6)
    noisy = pts + rng.normal(0, 0.3, pts.shape)
    fit = lsq.geometric_fit(noisy, lsq.taubin_fit(noisy))
    se = lsq.standard_errors(noisy, fit.circle)
    assert np.all(np.abs(np.subtract(fit.circle, (100, -40, 250))) < 4 * np.array(se))
    assert lsq.arc_coverage_deg(pts, (100, -40)) == pytest.approx(np.degrees(ang.max() - ang.min()))


def test_circles_through_triples():
    p = np.array([[[0, 0], [2, 0], [1, 1]], [[0, 0], [1, 1], [2, 2]]], dtype=float)
    out = lsq.circle_from_three(p)
    assert np.allclose(out[0], (1, 0, 1))
    assert np.isnan(out[1]).all()


def test_differential_evolution_finds_the_global_minimum_reproducibly():
    from calterm.core.circle.evolution import differential_evolution

    def rastrigin(p):  # (k, S): many local minima, global minimum 0 at (1, -2)
        q = p - np.array([[1.0], [-2.0]])
        return np.sum(q * q - 10 * np.cos(2 * np.pi * q) + 10, axis=0)

    rows = []
    x, fx, gens = differential_evolution(rastrigin, [(-5, 5), (-5, 5)], popsize=20, generations=300, seed=3,
                                         on_generation=lambda b, e: rows.append(e))
    assert np.allclose(x, (1, -2), atol=1e-3) and fx < 1e-4
    assert len(rows) == gens and all(b <= a for a, b in zip(rows, rows[1:], strict=False))
    again, _, _ = differential_evolution(rastrigin, [(-5, 5), (-5, 5)], popsize=20, generations=300, seed=3)
    assert np.array_equal(x, again)


def test_a_cancelled_fit_stops():
    from calterm.core.circle.fit import fit_circle
    from calterm.core.common.jobs import JobContext
    from calterm.errors import Cancelled

    ctx = JobContext()
    ctx.cancel.cancel()
    ang = np.radians(np.arange(0, 360, 40))
    pts = np.column_stack([50 + 30 * np.cos(ang), 50 + 30 * np.sin(ang)])
    with pytest.raises(Cancelled):
        fit_circle(pts, None, ctx=ctx)
