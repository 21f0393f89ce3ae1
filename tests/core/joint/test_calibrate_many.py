"""Joint calibration of several images (issue 16): the wavelength and L0 from a synthetic series at
known travel, per-image distances with a fixed wavelength, and bad input as one InputError."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.common.geometry import PoniGeometry
from calterm.core.joint.calibrate_many import calibrate_many, poni_paths, write_ponis
from calterm.core.joint.model import JointRequest, ParameterModel
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import distance_series
from calterm.errors import InputError

WAVELENGTH = 0.2e-10
L0 = 0.2
TRAVEL = [0.0, 0.1, 0.2]
# a generic 400x400 detector of 250 µm pixels, tilted, beam off centre: LaB6 rings at 200-500 mm
BASE = SyntheticCase(None, "LaB6", PoniGeometry(L0, 0.05, 0.052, 0.01, -0.006, 0.0, WAVELENGTH),
                     shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=11)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return distance_series(BASE, TRAVEL, tmp_path_factory.mktemp("joint"))


def _requests(series, wavelength_m, distances_mm=None):
    return tuple(CalibrationRequest(str(p), "LaB6", wavelength_m, pixel_size_um=250.0,
                                    distance_mm=None if distances_mm is None else distances_mm[k])
                 for k, (p, _) in enumerate(series))


@pytest.fixture(scope="module")
def linked(series):
    # the typed wavelength 0.3 % off: one image alone would put all of it into its distance
    request = JointRequest(_requests(series, WAVELENGTH * 1.003, [(L0 + t) * 1e3 for t in TRAVEL]),
                           ParameterModel({"dist": "linked"}, tuple(TRAVEL)))
    return calibrate_many(request)


def test_linked_distances_give_the_wavelength_and_l0(linked):
    assert linked.ok, linked.reasons
    assert linked.wavelength_refined
    assert abs(linked.wavelength_m / WAVELENGTH - 1) < 5e-5  # from 3e-3 off
    assert abs(linked.values["L0"] - L0) < 20e-6
    for f, t in zip(linked.images, TRAVEL, strict=True):
        assert abs(f.geometry.dist - (L0 + t)) < 20e-6
        assert abs(f.geometry.poni1 - 0.05) < 10e-6 and abs(f.geometry.poni2 - 0.052) < 10e-6
        # each image alone absorbed the wrong wavelength in its distance (and tilt): far off
        assert abs(f.own.geometry.dist - (L0 + t)) > 300e-6


def test_linked_sigma_covers_the_error(linked):
    assert abs(linked.wavelength_m - WAVELENGTH) < 4 * linked.sigma["wavelength"]
    assert abs(linked.values["L0"] - L0) < 4 * linked.sigma["L0"]
    assert linked.sigma["wavelength"] / WAVELENGTH < 1e-4  # and is not uselessly wide


def test_linked_sigma_covers_the_extraction_bias(tmp_path):
    """Noise free, what is left is the peak extraction's own bias, which differs between images at
    different distances (ring widths and sub-pixel phases in pixels): a σ from shared errors alone
    put λ 4.7σ off (+2.0e-5 for 4.3e-6)."""
    series = distance_series(replace(BASE, noise=False), TRAVEL, tmp_path)
    request = JointRequest(_requests(series, WAVELENGTH * 1.003, [(L0 + t) * 1e3 for t in TRAVEL]),
                           ParameterModel({"dist": "linked"}, tuple(TRAVEL)))
    result = calibrate_many(request)
    assert abs(result.wavelength_m / WAVELENGTH - 1) < 5e-5
    assert abs(result.wavelength_m - WAVELENGTH) < 3 * result.sigma["wavelength"]
    assert abs(result.values["L0"] - L0) < 3 * result.sigma["L0"]
    assert result.sigma["wavelength"] / WAVELENGTH < 1e-4


def test_per_image_residual_tables(linked):
    for f in linked.images:
        assert sum(r.count for r in f.rings) == f.residual_rad.size
        assert f.rms_2th_deg < 3 * f.own.rms_2th_deg
    summary = linked.summary()
    assert len(summary["images"]) == len(TRAVEL) and summary["wavelength_refined"] is True


def test_free_distances_keep_the_wavelength_and_say_so(series):
    truth_distances = [(L0 + t) for t in TRAVEL]
    result = calibrate_many(JointRequest(_requests(series, WAVELENGTH, [210.0, 290.0, 410.0])))
    assert not result.wavelength_refined and "not identifiable" in result.wavelength_note
    assert result.wavelength_m == WAVELENGTH
    assert "wavelength" not in result.values
    for f, d in zip(result.images, truth_distances, strict=True):
        assert abs(f.geometry.dist - d) < 20e-6


def test_one_poni_per_image_versioned(linked, tmp_path):
    import pyFAI

    request_paths = poni_paths(JointRequest(tuple(CalibrationRequest(f.image_path, "LaB6", WAVELENGTH)
                                                  for f in linked.images)), tmp_path)
    written = write_ponis(linked, request_paths)
    write_ponis(linked, request_paths)  # again: a new version, the old kept
    assert len(written) == len(TRAVEL)
    for path, f in zip(request_paths, linked.images, strict=True):
        ai = pyFAI.load(str(path))
        assert ai.dist == pytest.approx(f.geometry.dist, abs=1e-12)
        assert ai.wavelength == pytest.approx(linked.wavelength_m, rel=1e-12)
        assert path.with_name(path.stem + ".v1.poni").is_file()


def test_travel_of_the_wrong_length_is_one_input_error(series):
    with pytest.raises(InputError, match="2 values for 3 images"):
        JointRequest(_requests(series, WAVELENGTH), ParameterModel({"dist": "linked"}, (0.0, 0.1)))


def test_images_of_different_shapes_are_refused(series, tmp_path):
    other = distance_series(replace(BASE, shape=(300, 400)), [0.0], tmp_path, prefix="small")
    request = JointRequest((_requests(series, WAVELENGTH)[0],
                            CalibrationRequest(str(other[0][0]), "LaB6", WAVELENGTH, pixel_size_um=250.0)))
    with pytest.raises(InputError, match="one joint fit needs one detector"):
        calibrate_many(request)


def test_model_rules():
    with pytest.raises(InputError, match="only the distance can be linked"):
        ParameterModel({"poni1": "linked"})
    with pytest.raises(InputError, match="needs the travel"):
        ParameterModel({"dist": "linked"})
    with pytest.raises(InputError, match="unknown geometry parameter"):
        ParameterModel({"tilt": "shared"})
    assert np.isclose(sum(ParameterModel().modes[p] == "shared" for p in ParameterModel().modes), 5)
