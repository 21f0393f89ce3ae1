"""A wrong calibrant must never be called good: a wide sweep over images rendered many ways.

    nice python benchmarks/sweep_wrong_calibrant.py [--images NAME,...] [--calibrants NAME,...] [--cost]

Twelve images of five calibrants (LaB6, CeO2, Si, corundum, Au), each rendered differently:
detectors (binned Pilatus1M, Eiger4M, PerkinElmer, Pilatus2M, a generic flat panel), distances
(100-500 mm), wavelengths (0.2-1 Å), noise (low counts, strong background, hot and dead pixels),
spotty rings (a coarse powder), tilts, the beam in a corner or off the detector. Each is calibrated
as a new user would (detector, wavelength and calibrant typed, no start values) with its own
calibrant (must be good and right: a check that refuses everything is a defect) and with each of
the 16 common calibrants but its own (none may be called good). Prints one line per failure, one
per image and the totals: N wrong runs, how many called good (target 0), and right runs good.

``--cost`` instead times the identity and label checks on the full-size ``bench_calibrate.py``
cases (from their typed start values, as that benchmark runs them): the check's time against the
whole run's, median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calterm.core.calibrate.model import CalibrationRequest  # noqa: E402
from calterm.core.calibrate.pipeline import calibrate  # noqa: E402
from calterm.core.common.geometry import PoniGeometry, max_tth_error_deg  # noqa: E402
from calterm.core.io.images import write_image  # noqa: E402
from calterm.core.simulate.powder import SyntheticCase, render  # noqa: E402
from calterm.core.simulate.spotty import render_spotty  # noqa: E402

COMMON = ("LaB6", "CeO2", "Si", "alpha_Al2O3", "Au", "Ni", "Pt", "Al", "Cr2O3", "ZnO", "NaCl", "TiO2", "diamond",
          "quartz", "CuO", "C60")
CORUNDUM_HEIGHTS = (0.45, 1.0, 0.21, 0.02, 0.66, 0.01, 0.34, 0.89)  # NIST SRM 676's first rings


def _g(dist, poni1, poni2, rot1, rot2, wavelength_A):
    return PoniGeometry(dist, poni1, poni2, rot1, rot2, 0.0, wavelength_A * 1e-10)


# name: (recipe, spotty rings?) -- binned detectors, so one run takes seconds
IMAGES: dict[str, tuple[SyntheticCase, bool]] = {
    "lab6-pilatus1m-centre": (SyntheticCase("Pilatus1M", "LaB6", _g(0.20, 0.0912, 0.0835, 0.012, -0.008, 0.62),
                                            binning=2, resolution_deg=0.1, seed=31), False),
    "lab6-eiger4m-lowcounts": (SyntheticCase("Eiger4M", "LaB6", _g(0.25, 0.080, 0.078, 0.0, 0.01, 0.5), binning=4,
                                             resolution_deg=0.1, peak_intensity=150.0, background=40.0, seed=32),
                               False),
    "lab6-flatpanel-corner-1A": (SyntheticCase(None, "LaB6", _g(0.12, 0.004, 0.006, 0.02, 0.0, 1.0), shape=(512, 512),
                                               pixel_size_um=200.0, resolution_deg=0.12, seed=33), False),
    "ceo2-pilatus1m-centre": (SyntheticCase("Pilatus1M", "CeO2", _g(0.20, 0.0912, 0.0835, 0.012, -0.008, 0.5),
                                            binning=2, resolution_deg=0.1, seed=34), False),
    "ceo2-eiger4m-corner": (SyntheticCase("Eiger4M", "CeO2", _g(0.15, 0.010, 0.008, 0.02, 0.03, 0.73), binning=4,
                                          resolution_deg=0.12, seed=35), False),
    "ceo2-pilatus1m-spotty": (SyntheticCase("Pilatus1M", "CeO2", _g(0.25, 0.085, 0.090, -0.01, 0.01, 0.4), binning=2,
                                            resolution_deg=0.1, peak_intensity=4000.0, seed=36), True),
    "ceo2-perkin-noisy": (SyntheticCase("Perkin", "CeO2", _g(0.45, 0.21, 0.20, 0.01, -0.02, 0.3), binning=4,
                                        resolution_deg=0.08, peak_intensity=800.0, background=300.0, hot_pixels=100,
                                        dead_pixels=200, seed=37), False),
    "si-perkin-noisy": (SyntheticCase("Perkin", "Si", _g(0.40, 0.2, 0.21, 0.01, -0.01, 0.25), binning=4,
                                      resolution_deg=0.1, peak_intensity=800.0, background=300.0, hot_pixels=150,
                                      dead_pixels=150, seed=38), False),
    "si-pilatus1m-offdet": (SyntheticCase("Pilatus1M", "Si", _g(0.18, 0.090, -0.012, 0.0, 0.015, 0.77), binning=2,
                                          resolution_deg=0.1, peak_intensity=3000.0, background=30.0, seed=39), False),
    "si-pilatus2m-spotty": (SyntheticCase("Pilatus2M", "Si", _g(0.30, 0.14, 0.13, 0.01, 0.0, 0.5), binning=4,
                                          resolution_deg=0.12, peak_intensity=4000.0, seed=40), True),
    "corundum-pilatus1m": (SyntheticCase("Pilatus1M", "alpha_Al2O3", _g(0.20, 0.0912, 0.0835, 0.012, -0.008, 0.4),
                                         binning=2, resolution_deg=0.1, seed=41, ring_heights=CORUNDUM_HEIGHTS), False),
    "au-eiger4m-tilted": (SyntheticCase("Eiger4M", "Au", _g(0.15, 0.085, 0.075, 0.03, -0.02, 0.6), binning=4,
                                        resolution_deg=0.12, seed=42), False),
}


def image_file(name: str, folder: Path) -> tuple[Path, SyntheticCase, object]:
    case, spotty = IMAGES[name]
    image, det = render_spotty(case) if spotty else render(case)
    path = folder / f"{name}.tif"
    write_image(path, image.astype(np.float32))
    return path, case, det


def run_one(path: Path, case: SyntheticCase, det, calibrant: str) -> tuple[str, float, float, str]:
    """(verdict, max |Δ2θ| in degrees against the truth, seconds, first reason)."""
    t = time.perf_counter()
    result = calibrate(CalibrationRequest(str(path), calibrant, case.geometry.wavelength,
                                          detector=case.detector or None,
                                          pixel_size_um=None if case.detector else case.pixel_size_um))
    seconds = time.perf_counter() - t
    err = max_tth_error_deg(result.geometry, case.geometry, det, det.shape)
    return result.verdict.status, err, seconds, result.verdict.reasons[0] if result.verdict.reasons else ""


def sweep(names: list[str], calibrants: list[str]) -> int:
    wrong_runs = wrong_good = right_good = right_runs = 0
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path, case, det = image_file(name, Path(tmp))
            half_pixel_deg = math.degrees(0.5 * det.pixel1 / case.geometry.dist)
            status, err, seconds, reason = run_one(path, case, det, case.calibrant)
            right_runs += 1
            ok = status == "good" and err <= half_pixel_deg
            right_good += ok
            if not ok:
                print(f"  {name} read as {case.calibrant} (right): {status}, max |Δ2θ| {err:.1e}°: {reason}", flush=True)
            n = good = 0
            for calibrant in calibrants:
                if calibrant == case.calibrant:
                    continue
                status, err, seconds, reason = run_one(path, case, det, calibrant)
                times.append(seconds)
                n += 1
                if status == "good":
                    good += 1
                    print(f"  {name} read as {calibrant}: called good, max |Δ2θ| {err:.1e}°", flush=True)
            wrong_runs += n
            wrong_good += good
            print(f"{name:28s} right: {'good' if ok else 'NOT good'}  wrong calibrants {n}, called good {good}",
                  flush=True)
    print(f"\nwrong-calibrant runs {wrong_runs}, called good {wrong_good}; right calibrant good and right on "
          f"{right_good}/{right_runs} images; wrong runs median {np.median(times):.1f} s, max {max(times):.1f} s")
    return 0


def cost(repeat: int) -> int:
    """Time of the identity + label checks against the whole run, on bench_calibrate.py's cases."""
    from calterm.core.calibrate import explained, labels, verdict
    from cases import all_cases, image_path

    cache = Path.home() / ".cache" / "calterm" / "bench"
    print("| case | run (s) | identity check (s) | share | label check (s) |")
    print("|---|---|---|---|---|")
    original = verdict.label_reasons
    spent = [0.0]

    def timed_labels(*args, **kwargs):  # the label check runs inside every verdict: time each call
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    verdict.label_reasons = timed_labels
    try:
        for case in all_cases().values():
            path = image_path(case, cache)
            totals, checks, label_times = [], [], []
            for _ in range(repeat):
                spent[0] = 0.0
                result = calibrate(CalibrationRequest(str(path), case.calibrant, case.wavelength_m,
                                                      detector=case.detector_name,
                                                      distance_mm=case.typed_distance_mm(),
                                                      center_xy=case.typed_center_xy()))
                totals.append(result.timings_s["total"])
                checks.append(result.timings_s.get("identity", float("nan")))
                label_times.append(spent[0])
            run, check = float(np.median(totals)), float(np.median(checks))
            print(f"| {case.name} ({result.verdict.status}) | {run:.2f} | {check:.3f} | {check / run:.1%} | "
                  f"{np.median(label_times):.4f} |", flush=True)
    finally:
        verdict.label_reasons = original
    del explained, labels
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", default=",".join(IMAGES), help="comma-separated image names")
    parser.add_argument("--calibrants", default=",".join(COMMON), help="the wrong calibrants to read each image as")
    parser.add_argument("--cost", action="store_true", help="time the checks on bench_calibrate.py's cases instead")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case for --cost (median)")
    args = parser.parse_args(argv)
    if args.cost:
        return cost(args.repeat)
    names = args.images.split(",")
    for name in names:
        if name not in IMAGES:
            parser.error(f"unknown image {name!r}; known: {', '.join(IMAGES)}")
    return sweep(names, args.calibrants.split(","))


if __name__ == "__main__":
    sys.exit(main())
