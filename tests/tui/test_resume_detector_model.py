"""A resumed session keeps the calibration's detector model: the fitted distortion, the user's
spline file and the sensor (parallax). Saved PONIs, refits and the numbers on the results screen
after ``--resume`` are those of the detector the calibration used, not a flat one by name.

The images are rendered by pyFAI on a detector whose pixels a known smooth field displaces (the
ground truth); calibrations are calterm's real pipeline."""

from __future__ import annotations

import asyncio
import json
import os

import numpy as np
import pytest

from calterm.core.calibrate.distortion import TERMS, SmoothDistortion, distorted_detector
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate, refit, write_poni
from calterm.core.common.geometry import PoniGeometry
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, make_detector, render
from calterm.tui.screens.calibrate.results import with_detector
from calterm.tui.session import Session, request_key
from calterm.tui.session_file import dumps, load_session, loads, save_session

SHAPE = (500, 540)
PIXEL_UM = 100.0
GEOMETRY = PoniGeometry(0.09, 0.026, 0.027, 0.004, -0.003, 0.0, 0.5e-10)
# barrel + a 2-fold stretch (a taper): pixels moved by up to ~3 px
TRUE_FIELD = SmoothDistortion(SHAPE, tuple({"radial3": 2.5e-3, "stretch_cos2": 1.5e-3}.get(t, 0.0) for t in TERMS))


def _render(folder) -> str:
    case = SyntheticCase(None, "LaB6", GEOMETRY, shape=SHAPE, pixel_size_um=PIXEL_UM, peak_intensity=4000.0, seed=3)
    image, _ = render(case, detector=distorted_detector(make_detector(case), TRUE_FIELD))
    path = os.path.join(folder, "distorted.tif")
    write_image(path, image.astype(np.float32))
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """(request, result): a calibration that fitted a smooth distortion."""
    folder = tmp_path_factory.mktemp("fitted")
    request = CalibrationRequest(_render(folder), "LaB6", GEOMETRY.wavelength, pixel_size_um=PIXEL_UM,
                                 fit_distortion=True)
    result = calibrate(request)
    assert result.distortion is not None and result.verdict.ok, result.verdict.reasons
    return request, result


@pytest.fixture(scope="module")
def with_model(tmp_path_factory):
    """(request, result): a calibration given the true field as a spline file and a 1 mm Si sensor."""
    folder = tmp_path_factory.mktemp("model")
    spline = os.path.join(folder, "taper.spline")
    TRUE_FIELD.spline((PIXEL_UM, PIXEL_UM)).write(spline)
    request = CalibrationRequest(_render(folder), "LaB6", GEOMETRY.wavelength, pixel_size_um=PIXEL_UM,
                                 spline_path=spline, sensor=("Si", 1000.0))
    result = calibrate(request)
    assert result.detector.splinefile == spline and result.detector.sensor is not None
    return request, result


def _resumed(request, result, folder) -> Session:
    s = Session(request=request, screen="results")
    s.set_result(result, request_key(request))
    return load_session(save_session(s, folder / "session.json"))


def _positions_px(detector, rows, cols) -> np.ndarray:
    p1, p2, _ = detector.calc_cartesian_positions(rows, cols)
    return np.stack([p1 / detector.pixel1, p2 / detector.pixel2])


def test_a_fitted_distortion_survives_resume_and_the_poni_names_its_spline(fitted, tmp_path):
    import pyFAI

    request, result = fitted
    back = _resumed(request, result, tmp_path)
    d, e = result.distortion, back.result.distortion
    assert e is not None, "the fitted distortion was lost on resume"
    assert (e.shape, e.terms, e.coefficients) == (d.shape, d.terms, d.coefficients)  # bit for bit

    original = pyFAI.load(str(write_poni(result, tmp_path / "original.poni")))
    resumed = pyFAI.load(str(write_poni(with_detector(back.result, back.request), tmp_path / "resumed.poni")))
    spline = resumed.detector.splinefile  # the versioned spline beside the PONI (resumed.v0.spline)
    assert spline and os.path.basename(spline).startswith("resumed.") and spline.endswith(".spline")
    assert os.path.isfile(spline)
    rng = np.random.default_rng(1)
    rows, cols = rng.uniform(0, SHAPE[0] - 1, 200), rng.uniform(0, SHAPE[1] - 1, 200)
    # what pyFAI reads from the resumed PONI moves every pixel as the original PONI does ...
    assert np.max(np.abs(_positions_px(resumed.detector, rows, cols)
                         - _positions_px(original.detector, rows, cols))) < 1e-6
    # ... and as the fitted field says (0.5 px: pyFAI's spline convention, edges at integers)
    flat = _positions_px(make_detector(SyntheticCase(None, "LaB6", GEOMETRY, shape=SHAPE, pixel_size_um=PIXEL_UM)),
                         rows, cols)
    moved = _positions_px(resumed.detector, rows, cols) - flat
    assert np.max(np.abs(moved - np.stack(d.displacement_px(rows, cols)))) < 1e-3
    assert np.max(np.hypot(*moved)) > 0.5  # a real field, not a flat detector that passes by accident
    assert resumed.dist == pytest.approx(result.geometry.dist, abs=1e-12)


def test_the_spline_file_and_sensor_survive_resume_and_reach_the_poni(with_model, tmp_path):
    import pyFAI

    request, result = with_model
    back = _resumed(request, result, tmp_path)
    assert back.request == request and back.request.sensor == ("Si", 1000.0)
    ai = pyFAI.load(str(write_poni(with_detector(back.result, back.request), tmp_path / "resumed.poni")))
    assert ai.detector.splinefile == os.path.abspath(request.spline_path)
    assert ai.detector.sensor is not None and ai.detector.sensor.material.name == "Si"
    assert ai.detector.sensor.thickness == pytest.approx(1e-3, rel=1e-12)
    assert ai.parallax is not None  # "Parallax: True": pyFAI models the 1 mm of silicon
    ref = pyFAI.load(str(write_poni(result, tmp_path / "original.poni")))
    rng = np.random.default_rng(2)
    rows, cols = rng.uniform(0, SHAPE[0] - 1, 200), rng.uniform(0, SHAPE[1] - 1, 200)
    assert np.max(np.abs(np.degrees(ai.tth(rows, cols) - ref.tth(rows, cols)))) < 1e-9


def test_another_spline_or_sensor_drops_the_result(with_model, tmp_path):
    """The detector model is part of what a result describes: a changed one is not resumed."""
    from dataclasses import replace

    request, result = with_model
    for changed in (replace(request, sensor=("Si", 450.0)), replace(request, spline_path=None)):
        s = Session(request=changed, screen="results")
        s.set_result(result, request_key(request))
        assert s.drop_stale() and s.result is None


def test_a_session_saved_without_the_detector_model_still_loads(fitted):
    request, result = fitted
    s = Session(request=request, screen="results")
    s.set_result(result, request_key(request))
    doc = json.loads(dumps(s))
    del doc["result"]["distortion"]  # as written before results kept it
    back = loads(json.dumps(doc))
    assert back.result.distortion is None and back.result.verdict.rms_rad == result.verdict.rms_rad
    assert back.drop_stale() == []  # and its key (no spline, no sensor) still matches


def test_the_results_screen_after_resume_shows_the_same_rms_and_refits_alike(fitted, tmp_path, tui):
    """After ``--resume`` the summary shows the calibration's RMS, and deleting the first point
    refits to the RMS the original session's refit gives (not a flat detector's)."""
    request, result = fitted
    s = Session(request=request, screen="results")
    s.set_result(result, request_key(request))
    path = save_session(s, tmp_path / "saved.json")
    keep = np.ones(result.rows.size, dtype=bool)
    keep[0] = False
    expected = refit(result, request, keep).verdict.rms_rad

    async def go():
        app = tui.open_app(["--resume", "--session", str(path)])
        async with app.run_test(size=(120, 32)) as pilot:
            await tui.settle(app, pilot)
            assert app.current_mode == "results" and app.session.result is not None
            assert f"RMS {result.verdict.rms_rad * 1e3:.3f} mrad" in tui.screen_text(app)
            await pilot.press("d")
            await tui.settle(app, pilot)
            new = app.session.result
            assert new.rows.size == result.rows.size - 1
            assert new.verdict.rms_rad == pytest.approx(expected, rel=1e-6)
            assert f"RMS {expected * 1e3:.3f} mrad" in tui.screen_text(app)

    asyncio.run(go())
