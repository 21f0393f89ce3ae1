"""A fit is judged as a set-up too: possible (the detector faces the sample) and determined (the
distance's σ small beside it). Real set-ups across detectors, distances, beam positions and 2θ-arm
angles pass; the edge-on fit once called good on AgBe_Quantum.img does not."""

from __future__ import annotations

import numpy as np
import pyFAI.detectors
import pytest

from calterm.core.calibrate.model import Verdict
from calterm.core.calibrate.setup_check import setup_reasons, with_setup_check
from calterm.core.common.geometry import PoniGeometry

GOOD = Verdict("good", ("RMS 0.02 mrad, peak-position noise 0.02 mrad",), 2e-5, 2e-5)
SIGMA = {"dist": 2e-5, "poni1": 1e-6, "poni2": 1e-6, "rot1": 1e-5, "rot2": 1e-5}


def _centred(det, dist, beam_fraction=(0.5, 0.5), rot1=0.0, rot2=0.0):
    h, w = det.shape
    p1, p2 = det.pixel1, det.pixel2
    return PoniGeometry(dist, beam_fraction[0] * h * p1, beam_fraction[1] * w * p2, rot1, rot2, 0.0, 1e-10)


@pytest.mark.parametrize("name", ["Pilatus2M", "Eiger4M", "Pilatus1M", "Perkin", "Eiger2_250k", "Mar345"])
@pytest.mark.parametrize("dist", [0.05, 0.2, 1.0, 5.0])
@pytest.mark.parametrize("beam", [(0.5, 0.5), (0.0, 0.0), (1.0, 0.3)])
def test_real_setups_are_possible(name, dist, beam):
    det = pyFAI.detectors.detector_factory(name)
    g = _centred(det, dist, beam)
    assert setup_reasons(g, det, det.shape, SIGMA) == []
    assert with_setup_check(GOOD, g, det, det.shape, SIGMA) is GOOD


@pytest.mark.parametrize("arm_deg", [20, 45, 70])
def test_a_detector_on_a_two_theta_arm_is_possible(arm_deg):
    """The detector swung out on an arm, facing the sample: the beam is far off it, yet it is seen
    face on (the point of normal incidence at its centre)."""
    det = pyFAI.detectors.detector_factory("Pilatus1M")
    g = _centred(det, 0.3, rot2=np.radians(arm_deg))
    assert setup_reasons(g, det, det.shape, SIGMA) == []


def test_the_edge_on_fit_from_agbe_quantum_is_not_good():
    """The geometry calterm called good on AgBe_Quantum.img (70.7 µm, 1152²): sample 3.0 mm from the
    plane, rot1 1.584 rad (Fit2D tilt 90.7°, direct distance −234 mm), σ(dist) 1.8 mm."""
    det = pyFAI.detectors.Detector(70.7e-6, 70.7e-6, max_shape=(1152, 1152))
    g = PoniGeometry(0.003024, 0.063472, 0.261183, 1.583753, 0.062294, 0.0, 1.6083e-10)
    sigma = {"dist": 0.0018211, "poni1": 0.0043, "poni2": 0.0017, "rot1": 0.0085, "rot2": 0.0202}
    reasons = setup_reasons(g, det, (1152, 1152), sigma)
    assert len(reasons) == 2
    assert "edge-on" in reasons[0] and "89°" in reasons[0]
    assert "3.0 ± 1.8 mm (60.2%)" in reasons[1]
    verdict = with_setup_check(GOOD, g, det, (1152, 1152), sigma)
    assert verdict.status == "doubtful" and verdict.reasons[:2] == tuple(reasons)


def test_an_undetermined_distance_is_doubtful_and_failed_stays_failed():
    det = pyFAI.detectors.detector_factory("Pilatus1M")
    g = _centred(det, 0.2)
    loose = dict(SIGMA, dist=0.0012)  # 0.6 % of 200 mm
    assert with_setup_check(GOOD, g, det, det.shape, loose).status == "doubtful"
    assert with_setup_check(GOOD, g, det, det.shape, dict(SIGMA, dist=0.0008)).status == "good"  # 0.4 %
    failed = Verdict("failed", ("RMS 9 mrad",), 9e-3, 1e-5)
    assert with_setup_check(failed, g, det, det.shape, loose).status == "failed"
    behind = PoniGeometry(-0.1, 0.05, 0.05, 0.0, 0.0, 0.0, 1e-10)
    assert "not in front" in setup_reasons(behind, det, det.shape, SIGMA)[0]
