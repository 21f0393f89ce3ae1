"""Panel alignment: the ring fit (`calterm align --poni --calibrant`) against rotational
self-correlation (what cctbx's ``cspad.quadrants_cbf`` does, calterm's ``core.health.rotational``),
side by side on the same images, and the CrystFEL file read back by pyFAI.

    python benchmarks/bench_align.py            # all cases (~2 min on a loaded 2-core machine)
    python benchmarks/bench_align.py --quick    # the quadrant cases only

Cases sweep detectors (generic 100 µm, Pilatus1M with its gaps), distances, calibrants (CeO2, LaB6),
tilts (0-2°), signal (peak 2000 and 150 counts), layouts (quadrants, Pilatus modules, a CSPad-like
8x8 grid) and displacements (none; up to 15 px). Images are rendered by
``calterm.core.simulate.panels.render_panels``: each panel's pixels at their true positions, 2θ from
pyFAI. Offsets are relative (a common translation is the PONI's), so each method's error is taken
after removing the common translation that best matches the truth. "beyond 3σ" counts undisplaced
panels the ring fit calls significant (correlation gives no σ). Prints a Markdown table and a JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np


def detector(spec):
    from calterm.core.common.geometry import PoniGeometry
    from calterm.core.simulate.powder import SyntheticCase, make_detector

    if isinstance(spec, int):
        return make_detector(SyntheticCase(None, "CeO2", PoniGeometry(0.1, 0, 0), shape=(spec, spec), pixel_size_um=100))
    return make_detector(SyntheticCase(spec, "LaB6", PoniGeometry(0.1, 0, 0)))


DISPLACED = {"top-left": (15.0, 1.2), "top-right": (-13.6, -2.8), "bottom-right": (2.45, -14.7), "bottom-left": (0.0, 0.0)}


def cases(quick: bool):
    from calterm.core.common.geometry import PoniGeometry

    d = math.radians
    out = [
        # name, detector, geometry, calibrant, layout, truth ("random:A" = uniform +-A px per panel), peak
        ("generic 512, CeO2, untilted, quadrants displaced <= 15 px", 512,
         PoniGeometry(0.07, 259.2e-4, 251.3e-4, 0, 0, 0, 0.5e-10), "CeO2", "quadrants", DISPLACED, 2000),
        ("generic 512, CeO2, tilt 1.5°, quadrants displaced <= 15 px", 512,
         PoniGeometry(0.07, 259.2e-4, 251.3e-4, d(1.2), d(-0.9), 0, 0.5e-10), "CeO2", "quadrants", DISPLACED, 2000),
        ("generic 512, CeO2, tilt 1.5°, displaced, peak 150 counts", 512,
         PoniGeometry(0.07, 259.2e-4, 251.3e-4, d(1.2), d(-0.9), 0, 0.5e-10), "CeO2", "quadrants", DISPLACED, 150),
        ("generic 512, CeO2, tilt 2°, undisplaced quadrants", 512,
         PoniGeometry(0.06, 249.7e-4, 262.1e-4, d(-1.6), d(1.2), 0, 0.6e-10), "CeO2", "quadrants", {}, 2000),
        ("Pilatus1M, LaB6 0.33 Å, 0.18 m, tilt 1.2°, undisplaced quadrants", "Pilatus1M",
         PoniGeometry(0.18, 0.0912, 0.0835, d(0.9), d(-0.8), 0, 0.3344e-10), "LaB6", "quadrants", {}, 2000),
    ]
    if not quick:
        out += [
            ("Pilatus1M, LaB6 0.4 Å, 0.20 m, tilt 2°, 10 modules displaced <= 3 px", "Pilatus1M",
             PoniGeometry(0.20, 0.0912, 0.0835, d(1.7), d(-1.1), 0, 0.4e-10), "LaB6", "modules", "random:3", 2000),
            ("generic 512, CeO2, tilt 1.4°, CSPad-like 8x8 sensors displaced <= 3 px", 512,
             PoniGeometry(0.08, 0.0256, 0.0250, 0.02, 0.015, 0, 0.5e-10), "CeO2", "grid:8x8", "random:3", 2000),
        ]
    return out


def relative_error(names, fitted, truth, sigma=None):
    """Max |fitted - truth| after the best common translation (weights 1/σ² when given)."""
    e = np.array([np.subtract(fitted[n], truth.get(n, (0.0, 0.0))[:2]) for n in names], float)
    ok = np.all(np.isfinite(e), axis=1)
    w = np.ones_like(e) if sigma is None else 1.0 / np.square(np.array([sigma[n] for n in names], float))
    w[~ok] = 0
    e = e - np.nansum(e * w, axis=0) / w.sum(axis=0)
    return e, ok


def run_case(name, det_spec, geo, calibrant, layout, truth, peak, seed=1):
    from calterm.core.common.calibrants import load_calibrant
    from calterm.core.common.panel_layouts import resolve_layout
    from calterm.core.health.alignment import COARSE_POINTS
    from calterm.core.health.panel_fit import fit_panels
    from calterm.core.health.rotational import align_panel
    from calterm.core.simulate.panels import render_panels
    from calterm.errors import ComputationError

    det = detector(det_spec)
    panels = resolve_layout(layout, det.shape, det)
    if isinstance(truth, str):
        amp = float(truth.split(":")[1])
        rng = np.random.default_rng(3)
        truth = {p.name: tuple(rng.uniform(-amp, amp, 2)) for p in panels}
    image = render_panels(geo, det, calibrant, panels, truth, resolution_deg=0.1, peak_intensity=peak, seed=seed)
    valid = image >= 0
    centre = geo.beam_center_px(det)
    search = 2 + max([abs(v) for t in truth.values() for v in t[:2]] + [4.0])
    t0 = time.perf_counter()
    corr = {}
    for p in panels:
        try:  # cctbx-like correlation at its full sample (80k points per panel)
            corr[p.name] = align_panel(image, valid, p, centre, search_px=search).shift
        except ComputationError:
            corr[p.name] = (np.nan, np.nan)
    t_corr = time.perf_counter() - t0
    t0 = time.perf_counter()
    start = {}  # the ring fit's own coarse start, as `calterm align` takes it (20k points per panel)
    for p in panels:
        with contextlib.suppress(ComputationError):
            start[p.name] = align_panel(image, valid, p, centre, search_px=search, max_points=COARSE_POINTS).shift
    t_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit = fit_panels(image, valid, panels, geo, det, load_calibrant(calibrant).two_theta_rad(geo.wavelength),
                     start_shifts=start)
    t_fit = time.perf_counter() - t0
    names = [p.name for p in panels]
    e_corr, ok_c = relative_error(names, corr, truth)
    fitted = {p.name: p.shift for p in fit.panels}
    sig = {p.name: p.sigma for p in fit.panels}
    e_fit, ok_f = relative_error(names, fitted, truth, sig)
    seen = np.array([p.n_points > 0 for p in fit.panels]) & ok_f
    z = np.abs(e_fit[seen]) / np.array([sig[n] for n, s in zip(names, seen, strict=True) if s])
    undisplaced = [p for p in fit.panels if np.allclose(truth.get(p.name, (0, 0))[:2], 0)]
    return {"case": name, "panels": len(panels), "corr_max_px": float(np.nanmax(np.abs(e_corr[ok_c]))),
            "fit_max_px": float(np.abs(e_fit[seen]).max()), "fit_median_px": float(np.median(np.abs(e_fit[seen]))),
            "max_err_over_sigma": float(z.max()), "median_sigma_px": float(np.median([sig[n] for n in names])),
            "undisplaced_beyond_3sigma": sum(p.significant for p in undisplaced) if not truth else None, "undetermined": int((~seen).sum()), "t_corr_s": t_corr, "t_start_s": t_start, "t_fit_s": t_fit,
            "rms_px": fit.rms_px, "n_points": fit.n_points}


def crystfel_check() -> float:
    """Max distance (px) between calterm's panel model and what pyFAI reads from the .geom calterm wrote."""
    from pyFAI.geometry.crystfel import build_geometry, parse_crystfel_geom

    from calterm.core.common.geometry import PoniGeometry
    from calterm.core.common.panel_layouts import resolve_layout
    from calterm.core.health.crystfel import geom_text

    det = detector("Pilatus1M")
    geo = PoniGeometry(0.2, 0.0912, 0.0835, 0, 0, 0, 1e-10)
    panels = resolve_layout("modules", det.shape, det)
    rng = np.random.default_rng(2)
    poses = {p.name: (*rng.uniform(-3, 3, 2), 0.0) for p in panels}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.geom"
        path.write_text(geom_text(panels, poses, geo, det))
        z, y, x = build_geometry(parse_crystfel_geom(str(path))).calc_pos_zyx(use_cython=False)
    ai = geo.to_pyfai(det)
    worst = 0.0
    for p in panels:
        rows, cols = np.mgrid[p.y0:p.y1, p.x0:p.x1].astype(float)
        r, c = p.true_positions(poses[p.name][:2], 0.0, rows, cols)
        _, my, mx = ai.calc_pos_zyx(d1=r, d2=c, param=list(geo.as_vector()[:6]), use_cython=False)
        worst = max(worst, float(np.abs(y[p.slices] - my).max()), float(np.abs(x[p.slices] - mx).max()))
    return worst / det.pixel1


def main() -> None:
    from threadpoolctl import threadpool_limits

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the quadrant cases only")
    args = ap.parse_args()
    rows = []
    with threadpool_limits(limits=1):
        for c in cases(args.quick):
            rows.append(run_case(*c))
            print(f"done: {rows[-1]['case']}", flush=True)
    print("\n| case | panels | correlation max error px | ring fit max error px | ring fit median px | "
          "max error/σ | undisplaced beyond 3σ | correlation s | ring fit s (its coarse start + fit) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        und = "-" if r["undisplaced_beyond_3sigma"] is None else r["undisplaced_beyond_3sigma"]
        print(f"| {r['case']} | {r['panels']} | {r['corr_max_px']:.3f} | {r['fit_max_px']:.4f} | "
              f"{r['fit_median_px']:.4f} | {r['max_err_over_sigma']:.2f} | {und} | {r['t_corr_s']:.1f} | "
              f"{r['t_start_s'] + r['t_fit_s']:.1f} ({r['t_start_s']:.1f} + {r['t_fit_s']:.1f}) |")
    geom = crystfel_check()
    print(f"\nCrystFEL file (Pilatus1M, 10 displaced modules) read by pyFAI: max position difference {geom:.2e} px")
    print(json.dumps({"cases": rows, "crystfel_max_px": geom}))


if __name__ == "__main__":
    main()
