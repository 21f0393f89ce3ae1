"""A centre off along the ridge of a corner image: the calibration must still find the truth.

With the beam near a corner only arcs are visible, and moving the centre towards them changes
every radius alike, so ring symmetry barely tells such centres apart; on a tilted detector the
symmetric centre slides along that ridge. We hand the pipeline the centre such a slide gave
(7 px off on the binned, tilted Eiger image, where rings 1 and 2 are 10 px apart) and check that
the ridge fallback recovers, and that without it the same start is not called good.
"""

from __future__ import annotations

import numpy as np

from calterm.core.calibrate import pipeline as calibrate_module
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate
from calterm.core.common.geometry import max_tth_error_deg


def _biased(case, monkeypatch):
    bx, by = case.beam_xy
    monkeypatch.setattr(calibrate_module, "_centre", lambda *a, **k: (bx - 6.7, by - 0.8))
    return CalibrationRequest(str(case.path), case.case.calibrant, case.truth.wavelength, detector=case.detector_name,
                              distance_mm=case.truth.dist * 1e3 * 1.05, center_xy=(bx + 10, by - 10))


def test_ridge_fallback_recovers_a_slid_centre(rendered, monkeypatch):
    case = rendered("eiger_corner")
    result = calibrate(_biased(case, monkeypatch))
    assert result.verdict.status == "good", result.verdict.reasons
    assert max_tth_error_deg(result.geometry, case.truth, case.detector, case.image.shape) < 2e-3
    centre_err = np.hypot(*np.subtract(result.geometry.beam_center_px(case.detector), case.beam_xy))
    assert centre_err < 0.05


def test_without_the_fallback_the_slid_centre_is_not_good(rendered, monkeypatch):
    """The start above is a real trap: with no ridge shifts the pipeline cannot say good."""
    case = rendered("eiger_corner")
    request = _biased(case, monkeypatch)
    monkeypatch.setattr(calibrate_module, "_ridge_shifts", lambda *a, **k: [])
    result = calibrate(request)
    assert result.verdict.status != "good"
    assert max_tth_error_deg(result.geometry, case.truth, case.detector, case.image.shape) > 0.1


def _shifts(case, beam):
    prep = calibrate_module.prepare(CalibrationRequest(str(case.path), case.case.calibrant, case.truth.wavelength,
                                                       detector=case.detector_name))
    return calibrate_module._ridge_shifts(prep, beam, case.truth.dist)


def test_ridge_points_towards_the_arcs(rendered):
    case = rendered("eiger_corner")
    beam = (20.0, 47.0)  # near the top-left corner: the arcs lie down and to the right
    moves = np.subtract(_shifts(case, beam), beam)
    assert len(moves) == 2
    # ±0.6 of the gap between rings 1 and 2 (about 10 px on this binned image)
    assert np.allclose(np.hypot(*moves.T), np.hypot(*moves[0]))
    assert 4 < np.hypot(*moves[0]) < 8
    assert moves[0][0] > 0 and moves[0][1] > 0
    assert np.allclose(moves[1], -moves[0])


def test_no_ridge_amid_whole_rings(rendered):
    """With whole rings about the centre, symmetry pins it every way: no shifts to try."""
    case = rendered("eiger_corner")
    assert _shifts(case, (258.0, 270.0)) == []
