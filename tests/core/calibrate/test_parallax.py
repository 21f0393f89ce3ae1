"""Parallax through pyFAI's sensor model: a synthetic thick-sensor image (rendered by pyFAI's
parallax-aware geometry) is fitted closer to the truth with the sensor than without, and the PONI
says so the way pyFAI writes it."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate, write_poni
from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.sensor import with_sensor
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, make_detector, render
from calterm.errors import InputError


def _truth_error(result, truth: PoniGeometry, detector) -> tuple[float, float]:
    """(|Δ distance| mm, |Δ beam centre| px) from the truth."""
    centre = np.hypot(*np.subtract(result.geometry.beam_center_px(result.detector), truth.beam_center_px(detector)))
    return abs(result.geometry.dist - truth.dist) * 1e3, float(centre)


@pytest.mark.parametrize("material, thickness_um, geometry", [
    ("Si", 1000.0, PoniGeometry(0.08, 0.026, 0.027, 0.03, -0.02, 0.0, 0.4e-10)),
    ("CdTe", 750.0, PoniGeometry(0.06, 0.022, 0.030, -0.02, 0.025, 0.0, 0.2e-10)),
])
def test_thick_sensor_is_fitted_closer_with_parallax(tmp_path, material, thickness_um, geometry):
    case = SyntheticCase(None, "LaB6", geometry, shape=(500, 540), pixel_size_um=100.0, peak_intensity=4000.0, seed=11)
    image, _ = render(case, detector=with_sensor(make_detector(case), material, thickness_um))
    path = tmp_path / "thick.tif"
    write_image(path, image.astype(np.float32))
    base = dict(image_path=str(path), calibrant="LaB6", wavelength_m=geometry.wavelength, pixel_size_um=100.0,
                fit_distortion=False)
    without = calibrate(CalibrationRequest(**base))
    with_px = calibrate(CalibrationRequest(**base, sensor=(material, thickness_um)))
    assert with_px.verdict.ok, with_px.verdict.reasons
    det = make_detector(case)
    d_without, c_without = _truth_error(without, geometry, det)
    d_with, c_with = _truth_error(with_px, geometry, det)
    assert d_with < 0.5 * d_without, (d_with, d_without)
    assert d_with < 0.05  # mm
    assert c_with < 0.2
    # Not asserted: a lower RMS with the sensor. On the CdTe case the truth itself leaves 0.191 mrad
    # (peak-extraction bias on broad, steep rings) and the no-sensor fit 0.180 mrad: a wrong distance
    # absorbs some of that bias, so the RMS cannot rank the two; the distance to the truth does.
    # written as pyFAI writes it, read back by pyFAI with the parallax switched on
    import pyFAI

    poni = write_poni(with_px, tmp_path / "thick.poni")
    text = poni.read_text()
    assert "Parallax: True" in text and '"sensor"' in text
    ai = pyFAI.load(str(poni))
    assert ai.parallax is not None and ai.detector.sensor.material.name == material
    assert abs(ai.detector.sensor.thickness - thickness_um * 1e-6) < 1e-9


def test_sensor_input_is_checked():
    det = make_detector(SyntheticCase(None, "LaB6", PoniGeometry(0.1, 0.02, 0.02), shape=(50, 50)))
    with pytest.raises(InputError, match="unknown sensor material"):
        with_sensor(det, "Unobtainium", 300.0)
    with pytest.raises(InputError, match="thickness"):
        with_sensor(det, "Si", -3.0)
    assert with_sensor(det, "si", 450.0).sensor.material.name == "Si"
