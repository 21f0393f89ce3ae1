"""Calibration accuracy over a sweep of synthetic images, to check an accuracy change is not tuned to a case.

    nice python benchmarks/sweep_accuracy.py [--cases N] [--seed S]
    PYTHONPATH=OTHER_TREE/src nice python benchmarks/sweep_accuracy.py   # the same images, another engine

``N`` images are drawn at random (seeded) over detectors (generic flat panels of 75-400 µm pixels,
a 2x2-binned Pilatus1M with its module gaps, a binned PerkinElmer and Eiger4M), calibrants (LaB6,
CeO2, Si, corundum), wavelengths 0.2-1 Å, distances 100-450 mm, tilts 0-6°, ring widths 0.05-0.12°,
peaks of 300-3000 counts on 20-400 counts of background (Poisson noise, some with hot and dead
pixels or a background ramp), the beam near the middle, in a corner or off an edge. Each is
calibrated from typed start values (distance 3 % long, centre 8 px off, no tilt) and judged
against the truth: max |Δ2θ| over the detector, in degrees and in pixels. Images are cached like
the bench's, so two engines (two ``PYTHONPATH``\\ s) see the same pixels; the median and the worst
case are printed last.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calterm.core.calibrate.model import CalibrationRequest  # noqa: E402
from calterm.core.calibrate.pipeline import calibrate  # noqa: E402
from calterm.core.common.geometry import max_tth_error_deg  # noqa: E402
from calterm.core.simulate.powder import SyntheticCase, make_detector  # noqa: E402
from cases import BenchCase, fit2d_poni, image_path  # noqa: E402
from sweep_calibrate import CACHE  # noqa: E402

# (detector, binning, generic shape, generic pixel µm)
DETECTORS = [(None, 1, (512, 512), 172.0), (None, 1, (768, 768), 100.0), (None, 1, (512, 640), 400.0),
             (None, 1, (1024, 1024), 75.0), ("Pilatus1M", 2, None, None), ("Perkin", 2, None, None),
             ("Eiger4M", 4, None, None)]
CALIBRANTS = ["LaB6", "CeO2", "Si", "alpha_Al2O3"]


def draw(k: int, rng: np.random.Generator) -> BenchCase:
    """The k-th case of the sweep."""
    name, binning, shape, pixel_um = DETECTORS[k % len(DETECTORS)]
    calibrant = CALIBRANTS[(k // len(DETECTORS) + k) % len(CALIBRANTS)]
    probe = SyntheticCase(name, calibrant, fit2d_poni("Pilatus1M", 0, 0, 100, 0, 0, 1.0), shape=shape,
                          pixel_size_um=pixel_um or 100.0, binning=binning)
    det = make_detector(probe)
    ny, nx = (int(s) for s in det.shape)
    pixel_mm = det.pixel1 * 1e3
    where = rng.choice(["middle", "middle", "corner", "off edge"])
    x, y = {"middle": (nx * rng.uniform(0.35, 0.65), ny * rng.uniform(0.35, 0.65)),
            "corner": (nx * rng.uniform(0.03, 0.1), ny * rng.uniform(0.9, 0.97)),
            "off edge": (-nx * rng.uniform(0.03, 0.1), ny * rng.uniform(0.4, 0.6))}[where]
    # a distance that puts 4-20 rings on the detector: detector width 0.6-1.6x the distance
    dist_mm = float(np.clip(nx * pixel_mm / rng.uniform(0.6, 1.6), 100.0, 450.0))
    wavelength_A = rng.uniform(0.2, 1.0)
    tilt, plane = rng.uniform(0.0, 6.0), rng.uniform(0.0, 360.0)
    geometry = _fit2d_generic(det, x, y, dist_mm, tilt, plane, wavelength_A)
    peak = float(rng.choice([300.0, 900.0, 3000.0]))
    background = float(rng.choice([20.0, 100.0, 400.0]))
    harsh = rng.uniform() < 0.4
    synthetic = SyntheticCase(name, calibrant, geometry, shape=shape, pixel_size_um=pixel_um or 100.0,
                              binning=binning, peak_intensity=peak, background=background,
                              resolution_deg=float(rng.uniform(0.05, 0.12)), seed=100 + k,
                              hot_pixels=int(harsh) * 100, dead_pixels=int(harsh) * 300,
                              background_ramp=(1.0, -0.5) if rng.uniform() < 0.3 else (0.0, 0.0))
    label = (f"s{k:02d}-{name or 'flat'}{shape[0] if shape else ''}-{calibrant}-{dist_mm:.0f}mm-tilt{tilt:.1f}"
             f"-{where.replace(' ', '')}-{peak:.0f}on{background:.0f}")
    return BenchCase(label, label, synthetic, distance_factor=1.03, center_offset_px=(8.0, -6.0))


def _fit2d_generic(det, x, y, dist_mm, tilt, plane, wavelength_A):
    from dataclasses import replace

    from calterm.core.common.geometry import geometry_from_fit2d

    fit2d = {"directDist": dist_mm, "centerX": x + 0.5, "centerY": y + 0.5, "tilt": tilt, "tiltPlanRotation": plane}
    return replace(geometry_from_fit2d(det, fit2d, wavelength_A * 1e-10), rot3=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    errors_px = []
    for k in range(args.cases):
        case = draw(k, rng)
        path = image_path(case, CACHE)
        det = case.detector()
        t = time.perf_counter()
        try:
            result = calibrate(CalibrationRequest(str(path), case.calibrant, case.wavelength_m,
                                                  detector=case.detector_name if case.synthetic.detector else None,
                                                  pixel_size_um=None if case.synthetic.detector else
                                                  case.synthetic.pixel_size_um,
                                                  distance_mm=case.typed_distance_mm(), center_xy=case.typed_center_xy()))
        except Exception as exc:  # noqa: BLE001 - a sweep reports every outcome
            print(f"{case.name:60s} failed: {exc}", flush=True)
            continue
        seconds = time.perf_counter() - t
        err = max_tth_error_deg(result.geometry, case.truth, det, det.shape, step=4)
        px = err / math.degrees(det.pixel1 / case.truth.dist)
        errors_px.append(px)
        print(f"{case.name:60s} {result.verdict.status:8s} max |Δ2θ| {err:.2e}° = {px:.4f} px  "
              f"{result.rows.size:5d} points  {seconds:5.2f} s", flush=True)
    if errors_px:
        print(f"median {np.median(errors_px):.4f} px, worst {np.max(errors_px):.4f} px over {len(errors_px)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
