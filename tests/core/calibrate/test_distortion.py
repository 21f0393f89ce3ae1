"""A smooth detector distortion fitted with the geometry: recovered on synthetic images rendered by
pyFAI on a distorted detector, and on the real lab CCD whose taper the verdict sees; the written
spline is pyFAI's (it integrates with it from the PONI)."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.calibrate.distortion import TERMS, SmoothDistortion, distorted_detector
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate, write_poni
from calterm.core.common.geometry import PoniGeometry
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, make_detector, render

MO_KALPHA1_A = 0.70932


def _field(**terms) -> SmoothDistortion:
    return SmoothDistortion((500, 540), tuple(terms.get(t, 0.0) for t in TERMS))


def test_the_written_spline_is_the_model():
    """pyFAI's detector with the spline puts each pixel where the model says (the field is exported
    without loss: what was fitted is what pyFAI integrates with)."""
    import pyFAI.detectors

    field = SmoothDistortion((1042, 1042), tuple(np.r_[2e-3, 0, 1.5e-3, 0, 0, 0, -1e-3, 0, 0, 4e-4, 0, 0]))
    base = pyFAI.detectors.Detector(1e-4, 1e-4, max_shape=(1042, 1042))
    det = distorted_detector(base, field)
    rng = np.random.default_rng(0)
    rows, cols = rng.uniform(0, 1041, 3000), rng.uniform(0, 1041, 3000)
    p = det.calc_cartesian_positions(rows, cols)
    q = base.calc_cartesian_positions(rows, cols)
    d_row, d_col = field.displacement_px(rows, cols)
    assert field.max_displacement_px() > 1.5
    assert np.max(np.abs((p[0] - q[0]) / 1e-4 - d_row)) < 1e-3
    assert np.max(np.abs((p[1] - q[1]) / 1e-4 - d_col)) < 1e-3


@pytest.mark.parametrize("truth, geometry", [
    # barrel + a 2-fold stretch (a taper), near-normal incidence
    (dict(radial3=2.5e-3, stretch_cos2=1.5e-3), PoniGeometry(0.09, 0.026, 0.027, 0.004, -0.003, 0.0, 0.5e-10)),
    # pincushion + skewed stretch + trefoil, closer and more tilted
    (dict(radial3=-2e-3, stretch_sin2=-1.2e-3, trefoil_cos3=1e-3), PoniGeometry(0.075, 0.024, 0.028, -0.012, 0.008, 0.0,
                                                                                0.5e-10)),
])
def test_a_known_distortion_is_recovered(tmp_path, truth, geometry):
    """Render at a known geometry on a detector whose pixels are displaced by a known field (a
    Fit2D spline pyFAI applies), fit, compare the field and the geometry with the truth."""
    field = _field(**truth)
    case = SyntheticCase(None, "LaB6", geometry, shape=(500, 540), pixel_size_um=100.0, peak_intensity=4000.0, seed=3)
    image, _ = render(case, detector=distorted_detector(make_detector(case), field))
    path = tmp_path / "distorted.tif"
    write_image(path, image.astype(np.float32))
    request = CalibrationRequest(str(path), "LaB6", geometry.wavelength, pixel_size_um=100.0)
    flat = calibrate(CalibrationRequest(**{**request.__dict__, "fit_distortion": False}))
    fitted = calibrate(CalibrationRequest(**{**request.__dict__, "fit_distortion": True}))
    assert fitted.verdict.ok, fitted.verdict.reasons
    assert fitted.distortion is not None and "fitted" in fitted.verdict.reasons[0]
    rows, cols = np.mgrid[0:500:10, 0:540:10]
    want = np.hypot(*field.displacement_px(rows.ravel(), cols.ravel()))
    got = fitted.distortion.displacement_px(rows.ravel(), cols.ravel())
    error = np.hypot(*np.subtract(got, field.displacement_px(rows.ravel(), cols.ravel())))
    assert want.max() > 0.8  # a real distortion: up to ~1-2 px at the corners
    # The field is recovered up to what a geometry absorbs (the r⁻³ residual of the fit's centre)
    assert np.sqrt(np.mean(error**2)) < 0.15 * np.sqrt(np.mean(want**2)), (error.max(), want.max())
    assert fitted.verdict.rms_rad < 0.5 * flat.verdict.rms_rad
    # ... and the geometry with it: distance within 0.1 %, beam centre within 0.3 px
    assert abs(fitted.geometry.dist - geometry.dist) < 1e-3 * geometry.dist
    true_centre = geometry.beam_center_px(make_detector(case))
    assert np.hypot(*np.subtract(fitted.geometry.beam_center_px(fitted.detector), true_centre)) < 0.3


def test_no_distortion_is_fitted_where_there_is_none(tmp_path):
    """On a flat detector the default (fit only when the verdict sees the pattern) leaves it alone."""
    geometry = PoniGeometry(0.09, 0.026, 0.027, 0.004, -0.003, 0.0, 0.5e-10)
    case = SyntheticCase(None, "LaB6", geometry, shape=(500, 540), pixel_size_um=100.0, peak_intensity=4000.0, seed=5)
    image, _ = render(case)
    path = tmp_path / "flat.tif"
    write_image(path, image.astype(np.float32))
    result = calibrate(CalibrationRequest(str(path), "LaB6", geometry.wavelength, pixel_size_um=100.0))
    assert result.verdict.ok and result.distortion is None


def ceo2(realdata, **kw) -> CalibrationRequest:
    return CalibrationRequest(str(realdata / "CeO2_PI_CCD_Mo.SPE"), "CeO2", MO_KALPHA1_A * 1e-10,
                              pixel_size_um=100.0, **kw)


def test_ceo2_ccd_distortion_is_fitted_and_pyfai_integrates_with_it(realdata, tmp_path):
    """The defect: the verdict saw the taper (RMS 1.1 mrad, mostly a smooth azimuthal pattern) and
    nothing could remove it. Now it is fitted by default (the verdict found it), from three starts
    to the same geometry, and the written spline + PONI give pyFAI the same 2θ at every point."""
    results = [calibrate(ceo2(realdata)),
               calibrate(ceo2(realdata, distance_mm=105.0, center_xy=(505.0, 535.0), fit_distortion=True)),
               calibrate(ceo2(realdata, distance_mm=130.0, fit_distortion=True))]
    for r in results:
        assert r.verdict.ok, r.verdict.reasons
        assert r.distortion is not None
        # the target: within 1.5x the peak-noise floor (measured 1.36-1.42x; flat 6.0x, 1.1 mrad)
        assert r.verdict.rms_rad < 1.5 * r.verdict.noise_floor_rad
        assert r.verdict.rms_rad < 3e-4
    assert "the verdict found its pattern" in results[0].verdict.reasons[0]
    ref = results[0]
    for r in results[1:]:
        assert abs(r.geometry.dist - ref.geometry.dist) < 1e-5
        assert np.hypot(*np.subtract(r.geometry.beam_center_px(r.detector), ref.geometry.beam_center_px(ref.detector))) < 0.1
    import pyFAI

    poni = write_poni(ref, tmp_path / "ccd.poni")
    assert (tmp_path / "ccd.spline").exists()
    ai = pyFAI.load(str(poni))
    assert ai.detector.splinefile and ai.detector.splinefile.endswith(".spline")
    rows, cols = ref.rows[::20], ref.cols[::20]
    ring_tth = ref.geometry.tth(ref.detector, rows, cols) - ref.residual_rad[::20]
    tth = ai.tth(rows, cols)  # pyFAI's own path: the spline read back from the PONI's detector config
    assert np.sqrt(np.mean((tth - ring_tth) ** 2)) < 1.05 * np.sqrt(np.mean(ref.residual_rad[::20] ** 2))
    flat_ai = pyFAI.load(str(poni))
    flat_ai.detector = pyFAI.detectors.Detector(1e-4, 1e-4, max_shape=ref.shape)
    assert np.sqrt(np.mean((flat_ai.tth(rows, cols) - ring_tth) ** 2)) > 2 * np.sqrt(np.mean((tth - ring_tth) ** 2))
    from calterm.core.io.images import load_image

    res = ai.integrate1d(load_image(str(realdata / "CeO2_PI_CCD_Mo.SPE")).data, 500, unit="2th_deg")
    assert np.isfinite(res.intensity).sum() > 400
