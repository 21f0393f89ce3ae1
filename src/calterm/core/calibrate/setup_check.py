"""Is the fitted set-up one a beamline can have, and do the points determine it?

A small residual is not enough: with few points on two short arcs, a geometry far from any real
set-up can fit them as well as the true one. Measured on AgBe_Quantum.img (ADSC Quantum, silver
behenate, 27 points on rings 1 and 4): a fit with the sample 3 mm from the detector plane, seen
edge-on (Fit2D tilt 90.7°, direct distance −234 mm), ended at RMS 0.16 mrad, under 4x its peak
noise, and was called *good*. Two facts give it away, neither tuned to that image:

- the detector is seen edge-on: the ray to the image centre meets the detector at 89° from its
  normal. A detector faces the sample (even on a 2θ arm, the point of normal incidence is on it or
  near it). Extreme real set-ups stay well inside 85°: a 41 cm PerkinElmer 50 mm from the sample
  with the beam in a corner sees its centre at 80°, a Pilatus 2M so placed at 75°.
- the points do not determine the distance: its σ is 60 % of its value. Right fits end at
  σ(dist)/dist 1.0e-5 to 3.8e-5 on the twelve images of benchmarks/sweep_wrong_calibrant.py and
  1.3e-4 on the real CeO2 CCD. The limit, 0.5 %, is a d-spacing scale no diffraction user accepts
  (38x the worst right fit measured); wrong two-ring fits end above it (CuO on a CeO2 corner image:
  0.7 %, a 61°-tilted geometry no ring count can judge; ZnO on it: 2.6 %).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from calterm.core.calibrate.model import Verdict
from calterm.core.common.geometry import PoniGeometry

MAX_INCIDENCE_DEG = 85.0  # the ray to the image centre, from the detector's normal (tan 85° = 11.4)
MAX_RELATIVE_SIGMA_DIST = 0.005


def setup_reasons(geometry: PoniGeometry, detector, shape: tuple[int, int], sigma: dict[str, float]) -> list[str]:
    """Why this geometry is not a possible, determined set-up (empty when it is)."""
    reasons: list[str] = []
    if not np.isfinite(geometry.dist) or geometry.dist <= 0:
        return [f"the fitted distance {geometry.dist * 1e3:.1f} mm is not in front of the detector"]
    centre = np.array([shape[0] / 2.0]), np.array([shape[1] / 2.0])
    cos_alpha = float(np.asarray(geometry.to_pyfai(detector).cos_incidence(*centre, path="numpy")).ravel()[0])
    incidence = float(np.degrees(np.arccos(np.clip(cos_alpha, -1.0, 1.0))))
    if incidence > MAX_INCIDENCE_DEG:
        reasons.append(f"the fitted detector is seen edge-on from the sample (the ray to the image centre meets it "
                       f"{incidence:.0f}° from its normal; distance {geometry.dist * 1e3:.1f} mm): not a possible "
                       "set-up; type --distance MM and --center X,Y")
    s_dist = sigma.get("dist", 0.0) if sigma else 0.0
    if np.isfinite(s_dist) and s_dist > MAX_RELATIVE_SIGMA_DIST * geometry.dist:
        reasons.append(f"the points do not determine the distance: {geometry.dist * 1e3:.1f} ± {s_dist * 1e3:.1f} mm "
                       f"({s_dist / geometry.dist:.1%}); more rings, or type --distance MM")
    return reasons


def with_setup_check(verdict: Verdict, geometry: PoniGeometry, detector, shape: tuple[int, int],
                     sigma: dict[str, float]) -> Verdict:
    """``verdict`` made doubtful (failed stays failed) when the set-up is impossible or undetermined."""
    reasons = setup_reasons(geometry, detector, shape, sigma)
    if not reasons:
        return verdict
    status = "failed" if verdict.status == "failed" else "doubtful"
    return replace(verdict, status=status, reasons=(*reasons, *verdict.reasons))
