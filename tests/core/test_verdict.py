"""The verdict must never present a wrong geometry as a success."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from calterm.core.calibrate import prepare
from calterm.core.calibration import CalibrationRequest
from calterm.core.explained import explain
from calterm.core.refine import ControlPoints
from calterm.core.verdict import judge, ring_residuals


def _prep(case):
    return prepare(CalibrationRequest(str(case.path), case.case.calibrant, case.truth.wavelength,
                                      detector=case.detector_name))


def test_the_image_explains_the_true_geometry_not_a_wrong_one(rendered):
    case = rendered("eiger_corner")
    prep = _prep(case)
    right = explain(prep.image.data, prep.valid, case.truth, case.detector, prep.tth_rad)
    wrong = explain(prep.image.data, prep.valid, replace(case.truth, dist=case.truth.dist * 1.3), case.detector,
                    prep.tth_rad)
    assert right.peaks >= 5 and right.explained_fraction > 0.9
    assert wrong.explained_fraction < 0.4


def test_one_well_fitted_ring_is_not_enough(rendered):
    case = rendered("pilatus")
    prep = _prep(case)
    phi = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    bx, by = case.beam_xy
    r = 60.0
    pts = ControlPoints(by + r * np.sin(phi), bx + r * np.cos(phi), np.ones(200, int), np.full(200, prep.d_A[0]))
    residual = np.random.default_rng(0).normal(0, 1e-5, 200)
    rings = ring_residuals(pts, residual, case.truth.wavelength)
    verdict = judge(pts, residual, rings, case.beam_xy, prep.tth_rad)
    assert verdict.status != "good"
    two = ControlPoints.concat([pts, replace(pts, ring=np.full(200, 2), d_A=np.full(200, prep.d_A[1]),
                                             rows=by + 1.4 * r * np.sin(phi), cols=bx + 1.4 * r * np.cos(phi))])
    residual2 = np.random.default_rng(1).normal(0, 1e-5, 400)
    verdict = judge(two, residual2, ring_residuals(two, residual2, case.truth.wavelength), case.beam_xy,
                    prep.tth_rad, n_predicted=30)
    assert verdict.status == "doubtful" and any("only 2 were found" in r for r in verdict.reasons)
