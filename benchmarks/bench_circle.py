"""calterm's robust single-ring fit against a plain scipy differential-evolution circle fit.

    python benchmarks/bench_circle.py [--sets N] [--repeat N]

The image is the MuscleX notes' case (docs in ../shared/notes/single-ring.md): 981 x 1043 px, one
diffuse ring rendered by pyFAI at a known flat geometry (so the true centre and radius are
exact), with texture around the ring, diffuse scattering, a beam stop and Poisson noise. For each
of ``--sets`` click sets: 12 clicks scattered ±3 px around the ring, of which click 2 is misplaced
radially by 6 px (inside the 10 px search window: it should be refined back) and click 7 by
13 px (outside: it should be rejected). Rendering is not timed.

Methods, on the same clicks and image, in the same process:

* ``calterm``: ``fit_circle(points, image)`` — radial sub-pixel refinement, Taubin start,
  differential evolution, 4-start Levenberg-Marquardt, MAD rejection, refit, then refinement
  against ring peaks all along the circle.
* ``calterm --points-only``: the same without the final refinement against the image.
* ``scipy DE (default)``: ``scipy.optimize.differential_evolution`` with default settings
  (popsize 15, maxiter 1000, tol 0.01, polish) minimising the sum of squared orthogonal
  distances of the raw clicks, bounds = the image for the centre and its diagonal for the radius.

Times are the median (and fastest) wall time over all sets of ``--repeat`` runs each after one
warm-up — on a shared machine the fastest run is the best estimate of the unloaded cost; errors
are the Euclidean centre error and the absolute radius error against the truth, mean and worst
over the sets.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def _case():
    from calterm.core.simulate.single_ring import SingleRingCase

    return SingleRingCase(shape=(981, 1043), center=(517.37, 498.81), d_spacings_nm=(5.838,), wavelength_A=1.0,
                          distance_mm=2000.0, pixel_size_um=172.0, peak_intensity=300.0, resolution_deg=0.04,
                          modulation=0.5, diffuse=400.0, diffuse_px=120.0, background=20.0, beamstop_px=25.0,
                          seed=42)


def _clicks(case, seed: int) -> np.ndarray:
    from calterm.core.simulate.single_ring import clicks_on_ring

    pts = clicks_on_ring(case, 12, start_deg=7.0 * seed, jitter_px=3.0, seed=seed)
    for i, dr in ((2, 6.0), (7, 13.0)):
        d = pts[i] - case.center
        pts[i] = case.center + d * (1 + dr / np.hypot(*d))
    return pts


def plain_de(points: np.ndarray, shape) -> tuple[float, float, float]:
    from scipy.optimize import differential_evolution

    rows, cols = shape

    def cost(p):
        return float(np.sum((np.hypot(points[:, 0] - p[0], points[:, 1] - p[1]) - p[2]) ** 2))

    found = differential_evolution(cost, [(0, cols), (0, rows), (1, float(np.hypot(rows, cols)))], seed=0)
    return tuple(float(v) for v in found.x)


def _timed(fn, repeat: int):
    fn()  # warm-up: imports, caches
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=5, help="click sets (default 5)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per method and set (default 7)")
    args = parser.parse_args(argv)

    from calterm.core.circle.fit import CircleOptions, fit_circle
    from calterm.core.circle.points import working_image
    from calterm.core.simulate.single_ring import render_single_ring

    case = _case()
    image = working_image(render_single_ring(case))
    truth = np.array([*case.center, case.radii_px()[0]])
    methods = {
        "calterm (refine, DE, multi-start, MAD, image)": lambda p: fit_circle(p, image),
        "calterm --points-only (refine, DE, multi-start, MAD)": lambda p: fit_circle(
            p, image, CircleOptions(use_image=False)),
        "scipy differential_evolution, defaults, raw clicks": lambda p: plain_de(p, image.shape),
    }
    rows = []
    for name, method in methods.items():
        times, cerr, rerr, rejected = [], [], [], []
        for s in range(args.sets):
            pts = _clicks(case, s)
            t, out = _timed(lambda pts=pts, method=method: method(pts), args.repeat)
            circle = np.array(out.circle if hasattr(out, "circle") else out)
            times.extend(t)
            cerr.append(float(np.hypot(*(circle[:2] - truth[:2]))))
            rerr.append(float(abs(circle[2] - truth[2])))
            rejected.append(",".join(map(str, out.rejected)) if hasattr(out, "rejected") else "—")
        rows.append((name, statistics.median(times) * 1e3, min(times) * 1e3, np.mean(cerr), max(cerr),
                     np.mean(rerr), max(rerr), sorted(set(rejected))))
    print(f"Case: {case.shape[1]}x{case.shape[0]} px, true centre ({case.center[0]}, {case.center[1]}), "
          f"radius {truth[2]:.3f} px; {args.sets} sets of 12 clicks (±3 px; click 2 off by 6 px, "
          f"click 7 by 13 px); {args.repeat} timed runs each; {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}.\n")
    print("| method | time median (fastest) ms | centre error mean (max) px | radius error mean (max) px "
          "| clicks rejected |")
    print("|---|---|---|---|---|")
    for name, t_med, t_min, c_mean, c_max, r_mean, r_max, rej in rows:
        print(f"| {name} | {t_med:.1f} ({t_min:.1f}) | {c_mean:.4f} ({c_max:.4f}) | {r_mean:.4f} ({r_max:.4f}) "
              f"| {' / '.join(rej)} |")


if __name__ == "__main__":
    main()
