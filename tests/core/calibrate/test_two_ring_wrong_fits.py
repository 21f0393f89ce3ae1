"""A wrong calibrant fitted to two rings must not be called good. Found by the wide sweep
(benchmarks/sweep_wrong_calibrant.py): a Si image with the beam off the detector read as Au, Pt, Al
(8 of its 10 strongest rings on none of the fitted rings, 42 % of their height on them), and a CeO2
image with the beam in a corner read as CuO (a strongly tilted geometry that fits two short arcs and
smears every other ring: one clear profile peak, so no ring count judges it; its distance's σ, 0.7 %
of it, does). Both were *good*; the right calibrant stays good."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate
from calterm.core.common.geometry import PoniGeometry, max_tth_error_deg
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, render

SI_OFF = SyntheticCase("Pilatus1M", "Si", PoniGeometry(0.18, 0.090, -0.012, 0.0, 0.015, 0.0, 0.77e-10), binning=2,
                       resolution_deg=0.1, peak_intensity=3000.0, background=30.0, seed=39)
CEO2_CORNER = SyntheticCase("Eiger4M", "CeO2", PoniGeometry(0.15, 0.010, 0.008, 0.02, 0.03, 0.0, 0.73e-10), binning=4,
                            resolution_deg=0.12, seed=35)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two-ring")
    out = {}
    for name, case in (("si", SI_OFF), ("ceo2", CEO2_CORNER)):
        image, det = render(case)
        path = folder / f"{name}.tif"
        write_image(path, image.astype(np.float32))
        out[name] = (path, case, det)
    return out


def _run(images, name, calibrant):
    path, case, det = images[name]
    result = calibrate(CalibrationRequest(str(path), calibrant, case.geometry.wavelength, detector=case.detector))
    return result, max_tth_error_deg(result.geometry, case.geometry, det, det.shape)


@pytest.mark.parametrize("name, calibrant", [("si", "Au"), ("si", "Al"), ("ceo2", "CuO")])
def test_a_wrong_calibrant_on_two_rings_is_not_good(images, name, calibrant):
    result, err = _run(images, name, calibrant)
    assert err > 1.0  # a wrong geometry indeed (20-37° off at the worst pixel)
    assert result.verdict.status != "good", result.verdict.reasons


@pytest.mark.parametrize("name", ["si", "ceo2"])
def test_the_right_calibrant_is_still_good_and_right(images, name):
    path, case, det = images[name]
    result, err = _run(images, name, case.calibrant)
    assert result.verdict.status == "good", result.verdict.reasons
    assert err < np.degrees(0.5 * det.pixel1 / case.geometry.dist)  # within half a pixel everywhere
