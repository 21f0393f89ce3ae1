"""Detector distortion and parallax: calterm against pyFAI's own refinement, side by side.

    nice .venv/bin/python benchmarks/bench_distortion.py [--realdata ../shared/realdata]

1. The lab CCD (``CeO2_PI_CCD_Mo.SPE``, Mo Kα1, 100 µm assumed) from three starts: calterm flat
   (``fit_distortion=False``), calterm with the distortion fitted, and pyFAI's
   ``GeometryRefinement.refine2`` (6 PONI parameters, what pyFAI-calib2 refines) on calterm's own
   control points of the same start: RMS, RMS / peak noise, the geometry's spread over the starts.
2. Synthetic images rendered by pyFAI on detectors displaced by known fields (a spline): how close
   the fitted field and the geometry come to the truth, flat against fitted.
3. Synthetic thick sensors (pyFAI's parallax-aware geometry): distance and centre error from the
   truth without and with ``--sensor``, and pyFAI's refine2 on the same points (no parallax).
Prints Markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from calterm.core.calibrate.distortion import TERMS, SmoothDistortion, distorted_detector
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate
from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.sensor import with_sensor
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, make_detector, render

MO_KALPHA1_M = 0.70932e-10
STARTS = ({}, {"distance_mm": 105.0, "center_xy": (505.0, 535.0)}, {"distance_mm": 130.0})


def pyfai_refine(result, calibrant: str) -> PoniGeometry:
    """pyFAI's GeometryRefinement (refine2: dist, poni1, poni2, rot1, rot2; rot3 fixed) on the
    result's points, from the result's geometry."""
    import pyFAI.calibrant
    from pyFAI.geometryRefinement import GeometryRefinement

    cal = pyFAI.calibrant.get_calibrant(calibrant)
    cal.wavelength = result.geometry.wavelength
    g = result.geometry
    data = np.c_[result.rows, result.cols, result.ring - 1]
    ref = GeometryRefinement(data, dist=g.dist, poni1=g.poni1, poni2=g.poni2, rot1=g.rot1, rot2=g.rot2, rot3=0.0,
                             detector=result.detector, wavelength=g.wavelength, calibrant=cal)
    ref.refine2(10000, fix=["rot3", "wavelength"])
    return PoniGeometry(ref.dist, ref.poni1, ref.poni2, ref.rot1, ref.rot2, ref.rot3, g.wavelength)


def rms_on(geometry: PoniGeometry, result) -> float:
    ring_tth = result.geometry.tth(result.detector, result.rows, result.cols) - result.residual_rad
    return float(np.sqrt(np.mean((geometry.tth(result.detector, result.rows, result.cols) - ring_tth) ** 2)))


def real_ccd(realdata: Path) -> None:
    path = str(realdata / "CeO2_PI_CCD_Mo.SPE")
    rows = {"calterm, flat": [], "pyFAI refine2 (same points)": [], "calterm, distortion fitted": []}
    for start in STARTS:
        req = CalibrationRequest(path, "CeO2", MO_KALPHA1_M, pixel_size_um=100.0, **start)
        t = time.perf_counter()
        flat = calibrate(replace(req, fit_distortion=False))
        t_flat = time.perf_counter() - t
        t = time.perf_counter()
        fitted = calibrate(replace(req, fit_distortion=True))
        t_fit = time.perf_counter() - t
        t = time.perf_counter()
        pf = pyfai_refine(flat, "CeO2")
        t_pf = time.perf_counter() - t
        floor = flat.verdict.noise_floor_rad
        rows["calterm, flat"].append((flat.geometry, flat.detector, flat.verdict.rms_rad, floor, t_flat))
        rows["pyFAI refine2 (same points)"].append((pf, flat.detector, rms_on(pf, flat), floor, t_pf))
        rows["calterm, distortion fitted"].append((fitted.geometry, fitted.detector, fitted.verdict.rms_rad,
                                                   fitted.verdict.noise_floor_rad, t_fit))
    print("| CeO2_PI_CCD_Mo.SPE, 3 starts | RMS mrad | RMS / peak noise | distance spread µm | centre spread px | time s |")
    print("|---|---|---|---|---|---|")
    for name, runs in rows.items():
        rms = [r[2] * 1e3 for r in runs]
        ratio = [r[2] / r[3] for r in runs]
        dists = [r[0].dist * 1e6 for r in runs]
        centres = np.array([r[0].beam_center_px(r[1]) for r in runs])
        spread = float(np.max(np.hypot(*(centres - centres.mean(axis=0)).T)))
        print(f"| {name} | {min(rms):.3f}-{max(rms):.3f} | {min(ratio):.2f}-{max(ratio):.2f} | "
              f"{max(dists) - min(dists):.1f} | {spread:.3f} | {np.mean([r[4] for r in runs]):.1f} |")


def synthetic_distortion() -> None:
    cases = [("barrel + stretch", dict(radial3=2.5e-3, stretch_cos2=1.5e-3),
              PoniGeometry(0.09, 0.026, 0.027, 0.004, -0.003, 0.0, 0.5e-10)),
             ("pincushion + skew + trefoil", dict(radial3=-2e-3, stretch_sin2=-1.2e-3, trefoil_cos3=1e-3),
              PoniGeometry(0.075, 0.024, 0.028, -0.012, 0.008, 0.0, 0.5e-10)),
             ("stretch only, tilted", dict(stretch_cos2=-2e-3, stretch_sin2=1e-3),
              PoniGeometry(0.11, 0.025, 0.026, 0.01, 0.01, 0.0, 0.5e-10))]
    print("| synthetic 500x540, LaB6 | field max px | field error RMS px (fitted) | Δdist µm flat / fitted | "
          "Δcentre px flat / fitted | RMS µrad flat / fitted | verdict flat / fitted |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, terms, truth in cases:
            field = SmoothDistortion((500, 540), tuple(terms.get(t, 0.0) for t in TERMS))
            case = SyntheticCase(None, "LaB6", truth, shape=(500, 540), pixel_size_um=100.0, peak_intensity=4000.0,
                                 seed=3)
            image, _ = render(case, detector=distorted_detector(make_detector(case), field))
            path = Path(folder) / "d.tif"
            write_image(path, image.astype(np.float32))
            req = CalibrationRequest(str(path), "LaB6", truth.wavelength, pixel_size_um=100.0)
            flat = calibrate(replace(req, fit_distortion=False))
            fitted = calibrate(replace(req, fit_distortion=True))
            r, c = np.mgrid[0:500:10, 0:540:10]
            want = np.array(field.displacement_px(r.ravel(), c.ravel()))
            got = (np.array(fitted.distortion.displacement_px(r.ravel(), c.ravel()))
                   if fitted.distortion is not None else np.zeros_like(want))
            err = float(np.sqrt(np.mean(np.sum((got - want) ** 2, axis=0))))
            centre = truth.beam_center_px(make_detector(case))

            def off(res, centre=centre, truth=truth):
                return (abs(res.geometry.dist - truth.dist) * 1e6,
                        float(np.hypot(*np.subtract(res.geometry.beam_center_px(res.detector), centre))))
            (df, cf), (dd, cd) = off(flat), off(fitted)
            print(f"| {name} | {np.hypot(*want).max():.2f} | {err:.3f} | {df:.0f} / {dd:.0f} | {cf:.2f} / {cd:.2f} | "
                  f"{flat.verdict.rms_rad * 1e6:.0f} / {fitted.verdict.rms_rad * 1e6:.0f} | "
                  f"{flat.verdict.status} / {fitted.verdict.status} |")


def thick_sensors() -> None:
    cases = [("Si", 1000.0, PoniGeometry(0.08, 0.026, 0.027, 0.03, -0.02, 0.0, 0.4e-10)),
             ("Si", 450.0, PoniGeometry(0.10, 0.026, 0.027, 0.0, 0.0, 0.0, 0.3e-10)),
             ("CdTe", 750.0, PoniGeometry(0.06, 0.022, 0.030, -0.02, 0.025, 0.0, 0.2e-10))]
    print("| thick sensor, synthetic 500x540 LaB6 | Δdist µm: no sensor / pyFAI refine2 / --sensor | "
          "Δcentre px: no sensor / --sensor | RMS µrad: no sensor / --sensor |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for material, um, truth in cases:
            case = SyntheticCase(None, "LaB6", truth, shape=(500, 540), pixel_size_um=100.0, peak_intensity=4000.0,
                                 seed=11)
            image, _ = render(case, detector=with_sensor(make_detector(case), material, um))
            path = Path(folder) / "s.tif"
            write_image(path, image.astype(np.float32))
            req = CalibrationRequest(str(path), "LaB6", truth.wavelength, pixel_size_um=100.0, fit_distortion=False)
            without = calibrate(req)
            with_px = calibrate(replace(req, sensor=(material, um)))
            pf = pyfai_refine(without, "LaB6")
            centre = truth.beam_center_px(make_detector(case))

            def dc(geometry, det, centre=centre):
                return float(np.hypot(*np.subtract(geometry.beam_center_px(det), centre)))
            print(f"| {material} {um:.0f} µm, {truth.wavelength * 1e10:.1f} Å, D {truth.dist * 1e3:.0f} mm | "
                  f"{abs(without.geometry.dist - truth.dist) * 1e6:.0f} / {abs(pf.dist - truth.dist) * 1e6:.0f} / "
                  f"{abs(with_px.geometry.dist - truth.dist) * 1e6:.1f} | "
                  f"{dc(without.geometry, without.detector):.2f} / {dc(with_px.geometry, with_px.detector):.2f} | "
                  f"{without.verdict.rms_rad * 1e6:.0f} / {with_px.verdict.rms_rad * 1e6:.0f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--realdata", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "realdata")
    args = p.parse_args()
    real_ccd(args.realdata)
    print()
    synthetic_distortion()
    print()
    thick_sensors()


if __name__ == "__main__":
    main()
