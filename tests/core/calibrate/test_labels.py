"""Ring labels must agree with the image: a strong ring called "ring 2" needs ring 1 to be
plausibly absent (off the detector, masked), else the labels are shifted and the distance wrong.

The one-ring image of issue 12: Eiger2_250k, LaB6 at 1 Å, 80 mm, beam centred, made with pyFAI's
``fake_calibration_image``: only ring 1 is on the detector, as arcs in the four corners."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.calibrate.explained import explain
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate, prepare
from calterm.core.calibrate.refine import ControlPoints
from calterm.core.calibrate.verdict import judge, ring_residuals
from calterm.core.common.geometry import PoniGeometry, geometry_from_center
from calterm.core.io.images import write_image

WAVELENGTH = 1e-10


def _one_ring_image(path, distance_mm=80.0, noise=True):
    """pyFAI's own renderer (not calterm's), as a user outside the project would make it."""
    import pyFAI.calibrant
    import pyFAI.detectors
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    det = pyFAI.detectors.detector_factory("Eiger2_250k")
    ai = AzimuthalIntegrator(detector=det, wavelength=WAVELENGTH)
    ai.setFit2D(distance_mm, det.shape[1] / 2, det.shape[0] / 2)
    cal = pyFAI.calibrant.get_calibrant("LaB6")
    cal.wavelength = WAVELENGTH
    image = cal.fake_calibration_image(ai)
    if noise:  # counts on a flat background, so the peak search has a noise floor to work against
        image = np.random.default_rng(0).poisson(image * 300 + 100)
    write_image(path, image.astype(np.float32))
    return det


@pytest.fixture(scope="module")
def one_ring(tmp_path_factory):
    path = tmp_path_factory.mktemp("onering") / "lab6_one_ring.tif"
    det = _one_ring_image(path)
    return path, det


def _scattered_ring1_and_real_ring2(prep, det, distance_m, centre):
    """The mislabelled fit: the real ring (ring 1 at the truth) carried as ring 2 at a shorter
    distance, plus 11 scattered points taken as ring 1 (what calterm did on this image)."""
    geometry = geometry_from_center(det, distance_m, centre, WAVELENGTH)
    rng = np.random.default_rng(5)
    # the real ring at 80 mm sits at the radius ring 2 has at distance_m: points on its corner arcs
    ny, nx = prep.image.shape
    radius2 = distance_m * np.tan(prep.tth_rad[1]) / det.pixel1
    phi = np.concatenate([np.linspace(a - 0.25, a + 0.25, 60) for a in np.pi / 4 + np.arange(4) * np.pi / 2])
    rows2, cols2 = centre[1] + radius2 * np.sin(phi), centre[0] + radius2 * np.cos(phi)
    keep = (rows2 >= 0) & (rows2 < ny) & (cols2 >= 0) & (cols2 < nx)
    radius1 = distance_m * np.tan(prep.tth_rad[0]) / det.pixel1
    phi1 = rng.uniform(0, 2 * np.pi, 11)
    pts = ControlPoints(np.concatenate([centre[1] + radius1 * np.sin(phi1), rows2[keep]]),
                        np.concatenate([centre[0] + radius1 * np.cos(phi1), cols2[keep]]),
                        np.concatenate([np.ones(11, int), np.full(keep.sum(), 2)]),
                        np.concatenate([np.full(11, prep.d_A[0]), np.full(keep.sum(), prep.d_A[1])]))
    residual = rng.normal(0, 2e-5, len(pts))
    return geometry, pts, residual


def test_a_scattered_ring_1_under_a_strong_ring_2_is_not_good(one_ring):
    path, det = one_ring
    prep = prepare(CalibrationRequest(str(path), "LaB6", WAVELENGTH, detector="Eiger2_250k"))
    centre = (det.shape[1] / 2 - 0.5, det.shape[0] / 2 - 0.5)
    geometry, pts, residual = _scattered_ring1_and_real_ring2(prep, det, 0.0548, centre)
    rings = ring_residuals(pts, residual, WAVELENGTH)
    explained = explain(prep.image.data, prep.valid, geometry, det, prep.tth_rad)
    verdict = judge(pts, residual, rings, centre, prep.tth_rad, px_per_rad=0.0548 / det.pixel1, explained=explained)
    assert verdict.status != "good", verdict.reasons
    assert any("labels are shifted" in r and "calterm circle" in r for r in verdict.reasons), verdict.reasons


def test_the_right_labels_pass_the_label_check(rendered):
    """Every ring on the image, ring 1 strong: nothing to object to (and on corundum, whose (006) is 2 %)."""
    from calterm.core.calibrate.labels import label_reasons

    for name in ("pilatus", "pilatus_corundum", "eiger_corner"):
        case = rendered(name)
        prep = prepare(CalibrationRequest(str(case.path), case.case.calibrant, case.truth.wavelength,
                                          detector=case.detector_name))
        profile = explain(prep.image.data, prep.valid, case.truth, case.detector, prep.tth_rad).profile
        phi = np.linspace(0, 2 * np.pi, 100)
        bx, by = case.beam_xy
        pts = ControlPoints.concat([ControlPoints(by + 50 * (k + 1) * np.sin(phi), bx + 50 * (k + 1) * np.cos(phi),
                                                  np.full(100, k + 1), np.full(100, prep.d_A[k])) for k in range(3)])
        rings = ring_residuals(pts, np.zeros(len(pts)), case.truth.wavelength)
        assert label_reasons(rings, profile, prep.tth_rad) == [], name


def test_the_one_ring_image_is_not_good_and_points_to_circle_or_distance(one_ring):
    path, det = one_ring
    result = calibrate(CalibrationRequest(str(path), "LaB6", WAVELENGTH, detector="Eiger2_250k"))
    assert result.verdict.status != "good", result.verdict.reasons
    text = " ".join(result.verdict.reasons)
    assert "calterm circle" in text and "--distance" in text, text


def test_a_typed_fixed_distance_on_the_one_ring_image_still_refuses_one_ring(one_ring):
    """With the distance typed and fixed the labels are the user's, but one ring still fixes nothing
    of the tilt: the verdict says so rather than "good"."""
    from calterm.core.common.geometry import Constraints

    path, det = one_ring
    request = CalibrationRequest(str(path), "LaB6", WAVELENGTH, detector="Eiger2_250k", distance_mm=80.0,
                                 constraints=Constraints().with_fixed(fix=["dist"]))
    result = calibrate(request)
    assert result.verdict.status != "good"
    assert abs(result.geometry.dist - 0.08) < 1e-9


def test_a_two_ring_image_with_ring_1_present_is_still_good(tmp_path):
    """The same detector at 70 mm: rings 1 and 2 on the detector, correctly labelled -> good."""
    path = tmp_path / "lab6_two_rings.tif"
    det = _one_ring_image(path, distance_mm=70.0)
    result = calibrate(CalibrationRequest(str(path), "LaB6", WAVELENGTH, detector="Eiger2_250k"))
    assert result.verdict.status == "good", result.verdict.reasons
    truth = PoniGeometry(0.07, det.shape[0] / 2 * det.pixel1, det.shape[1] / 2 * det.pixel2, 0, 0, 0, WAVELENGTH)
    assert abs(result.geometry.dist - truth.dist) < 2e-4
