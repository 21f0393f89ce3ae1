"""Wavelength and distance from a series at known detector travel: calterm's joint fit against
pyFAI's ``GoniometerRefinement``, side by side in one run, from the same starts.

    python benchmarks/bench_joint.py [--repeat N]

Five images of LaB6 on a Pilatus1M binned 2x2 (module gaps), tilted (rot1 20, rot2 -15 mrad),
Poisson noise, at 200, 300, 400, 500 and 600 mm (L0 = 200 mm, travel 0-400 mm along the
detector normal), rendered once at λ = 0.3 Å (not timed). Both methods start from the same
place: each image's own calterm calibration (geometry and control points) with the wavelength
typed 5e-4 off. calterm: ``calterm.core.joint.fit.joint_fit`` (least squares over every point,
soft-L1). pyFAI: ``GoniometerRefinement`` with ``ExtendedTransformation`` (dist = L0 + pos,
shared centre and tilts, energy free: λ = hc/E), the same points as pyFAI ``ControlPoints``,
``refine3`` (SLSQP) with rot3 fixed, repeated until no improvement, once with its defaults
(tol 1e-12: on a cost of ~1e-9 rad² SLSQP stops after one iteration) and once with ftol 1e-20. Figures: relative λ error, L0 error (µm), wall time of the
joint step (median of --repeat), ratio. The end-to-end time (five calibrations + the joint fit) is
printed too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from calterm.core.calibrate.model import CalibrationRequest  # noqa: E402
from calterm.core.common.geometry import PoniGeometry  # noqa: E402
from calterm.core.joint.calibrate_many import calibrate_many  # noqa: E402
from calterm.core.joint.fit import joint_fit  # noqa: E402
from calterm.core.joint.model import JointRequest, ParameterModel  # noqa: E402
from calterm.core.simulate.powder import SyntheticCase  # noqa: E402
from calterm.core.simulate.series import distance_series  # noqa: E402

HC_KEV_A = 12.398419843320026
DEBUG = False
WAVELENGTH = 0.3e-10
L0 = 0.2
TRAVEL = [0.0, 0.1, 0.2, 0.3, 0.4]
BASE = SyntheticCase("Pilatus1M", "LaB6", PoniGeometry(L0, 0.0850, 0.0800, 0.020, -0.015, 0.0, WAVELENGTH),
                     binning=2, resolution_deg=0.08, peak_intensity=3000.0, seed=5)


def pyfai_goniometer(own, points, travel, wavelength_start, **options):
    """pyFAI's multi-distance refinement on the same points and starts: (λ, L0, seconds)."""
    from pyFAI.calibrant import get_calibrant
    from pyFAI.control_points import ControlPoints
    from pyFAI.goniometer import ExtendedTransformation, GoniometerRefinement

    trans = ExtendedTransformation(dist_expr="L0 + pos", poni1_expr="poni1", poni2_expr="poni2", rot1_expr="rot1",
                                   rot2_expr="rot2", rot3_expr="rot3", wavelength_expr="hc/nrj*1e-10",
                                   param_names=["L0", "poni1", "poni2", "rot1", "rot2", "rot3", "nrj"],
                                   pos_names=["pos"], constants={"hc": HC_KEV_A})
    g = [r.geometry for r in own]
    start = [float(np.median([x.dist - t for x, t in zip(g, travel, strict=True)])),
             *(float(np.median([getattr(x, p) for x in g])) for p in ("poni1", "poni2", "rot1", "rot2")), 0.0,
             HC_KEV_A / (wavelength_start * 1e10)]
    t0 = time.perf_counter()
    gonio = GoniometerRefinement(start, pos_function=lambda travel_m: travel_m, trans_function=trans,
                                 detector=own[0].detector, wavelength=wavelength_start)
    for k, (result, pts, pos) in enumerate(zip(own, points, travel, strict=True)):
        cal = get_calibrant("LaB6")
        cal.wavelength = wavelength_start
        cp = ControlPoints(calibrant=cal)
        for ring in np.unique(pts.ring):
            sel = pts.ring == ring
            cp.append(list(zip(pts.rows[sel], pts.cols[sel], strict=True)), ring=int(ring) - 1)
        gonio.new_geometry(f"img{k}", metadata=pos, control_points=cp, calibrant=cal,
                           geometry=result.geometry.to_pyfai(result.detector))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # refine3 prints; repeated until no improvement
        cost = np.inf
        for _ in range(10):
            new = gonio.refine3(fix=["rot3"], method="slsqp", **options)
            if not new < cost * (1 - 1e-9):
                break
            cost = new
    param = gonio.param
    if DEBUG:
        print(buf.getvalue()[-3000:])
    seconds = time.perf_counter() - t0
    return HC_KEV_A / param[6] * 1e-10, float(param[0]), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    typed = WAVELENGTH * (1 + 5e-4)
    with tempfile.TemporaryDirectory() as folder:
        series = distance_series(BASE, TRAVEL, folder)
        requests = tuple(CalibrationRequest(str(p), "LaB6", typed, detector="Pilatus1M", distance_mm=g.dist * 1e3) for p, g in series)
        model = ParameterModel({"dist": "linked"}, tuple(TRAVEL))
        t = time.perf_counter()
        result = calibrate_many(JointRequest(requests, model))
        end_to_end = time.perf_counter() - t
    own = [f.own for f in result.images]
    from calterm.core.joint.calibrate_many import _points

    points = [_points(r) for r in own]
    ours, theirs, tuned = [], [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        fit = joint_fit([r.geometry for r in own], points, [r.detector for r in own], model, True)
        ours.append((fit.geometries[0].wavelength, fit.values["L0"], time.perf_counter() - t))
        theirs.append(pyfai_goniometer(own, points, TRAVEL, typed))
        tuned.append(pyfai_goniometer(own, points, TRAVEL, typed, ftol=1e-20, maxiter=500))
    print(f"5 images, {sum(len(p) for p in points)} control points, Pilatus1M 2x2, L0 {L0 * 1e3:.0f} mm, "
          f"travel 0-{TRAVEL[-1] * 1e3:.0f} mm, λ {WAVELENGTH * 1e10} Å typed {typed / WAVELENGTH - 1:+.1e} off")
    print(f"end to end (5 calibrations + joint fit): {end_to_end:.2f} s, joint verdict {result.status}")
    print("| method | relative λ error | L0 error (µm) | joint step (s, median) |")
    print("|---|---|---|---|")
    for name, runs in (("calterm joint_fit", ours), ("pyFAI GoniometerRefinement.refine3 (its defaults)", theirs),
                       ("pyFAI refine3, SLSQP ftol 1e-20, maxiter 500", tuned)):
        wl, l0, _ = runs[0]
        print(f"| {name} | {wl / WAVELENGTH - 1:+.2e} | {(l0 - L0) * 1e6:+.2f} | "
              f"{np.median([r[2] for r in runs]):.3f} |")
    print(f"time ratio pyFAI / calterm: {np.median([r[2] for r in theirs]) / np.median([r[2] for r in ours]):.1f}x "
          f"(tuned {np.median([r[2] for r in tuned]) / np.median([r[2] for r in ours]):.1f}x); "
          f"calterm 1σ: λ {result.sigma['wavelength'] / WAVELENGTH:.1e} relative, L0 {result.sigma['L0'] * 1e6:.2f} µm")
    print("own calibrations alone (λ typed off): distance errors "
          + ", ".join(f"{(r.geometry.dist - L0 - t) * 1e6:+.0f}" for r, t in zip(own, TRAVEL, strict=True)) + " µm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
