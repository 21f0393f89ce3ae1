"""Does the joint fit's 1σ cover its error? Linked-distance series over pixel sizes, distances,
calibrants, wavelengths, ring widths, with and without noise (issue 16; the trust issue's rule that a
σ holds): the wavelength's and L0's error against the truth in units of their σ.

usage: python benchmarks/sweep_joint_sigma.py [CASE ...]   (default: every case)
"""

import sys
import tempfile
import time

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.common.geometry import PoniGeometry
from calterm.core.joint.calibrate_many import calibrate_many
from calterm.core.joint.model import JointRequest, ParameterModel
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import distance_series

CASES = [  # px_um, shape, L0, travel, lam_A, res_deg, noise, calibrant, rot1, rot2
  (250, 400, 0.2, [0, .1, .2], 0.2, 0.06, False, "LaB6", .01, -.006),
  (250, 400, 0.2, [0, .1, .2], 0.2, 0.03, True, "LaB6", .01, -.006),
  (172, 500, 0.15, [0, .05, .1, .15], 0.3, 0.05, True, "CeO2", .02, .01),
  (100, 600, 0.1, [0, .05, .15], 0.4, 0.04, True, "LaB6", -.015, .005),
  (172, 500, 0.25, [0, .1, .2, .3, .4], 0.15, 0.04, False, "CeO2", .0, .02),
]
sel = [int(a) for a in sys.argv[1:]] or range(len(CASES))
for k in sel:
    px, n, L0, travel, lam, res, noise, cal, r1, r2 = CASES[k]
    lam_m = lam * 1e-10
    base = SyntheticCase(None, cal, PoniGeometry(L0, n * px * 1e-6 * 0.48, n * px * 1e-6 * 0.53, r1, r2, 0.0, lam_m),
                         shape=(n, n), pixel_size_um=px, peak_intensity=3000.0, seed=5 + k, resolution_deg=res, noise=noise)
    series = distance_series(base, travel, tempfile.mkdtemp())
    reqs = tuple(CalibrationRequest(str(p), cal, lam_m * 1.002, pixel_size_um=px, distance_mm=(L0 + t) * 1e3)
                 for (p, _), t in zip(series, travel, strict=True))
    t0 = time.time()
    r = calibrate_many(JointRequest(reqs, ParameterModel({"dist": "linked"}, tuple(travel))))
    e = r.wavelength_m / lam_m - 1
    s = r.sigma["wavelength"] / lam_m
    print(f"case {k}: px {px} L0 {L0} {cal} λ {lam} res {res} noise {noise}: dλ/λ {e:+.2e} σ {s:.1e} ({e/s:+.1f}σ)  dL0 {1e6*(r.values['L0']-L0):+.2f} ± {1e6*r.sigma['L0']:.2f} µm  ok={r.ok} {time.time()-t0:.0f}s", flush=True)
