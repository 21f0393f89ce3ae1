"""How often calterm's calibration is right from rough or no start values, on the benchmark images.

    python benchmarks/sweep_calibrate.py [--cases NAME,...] [--offset PX] [--directions N]
    python benchmarks/sweep_calibrate.py --wrong-calibrants [NAME,...]

For every case (see ``cases.py``), calibrate from start centres ``--offset`` px off the truth in
``--directions`` evenly spaced directions, each with the distance 5 % short and 5 % long; then
once with no start values at all. A run counts as right when the verdict is *good* and every ring
lies within half a pixel of the truth (as in ``bench_calibrate.py``); a *good* verdict on a wrong
geometry is listed as the worst outcome. Prints one line per miss and a summary per case.

``--wrong-calibrants`` instead calibrates every case, from its typed start values, with each listed
calibrant but its own: none may be called *good* (a wrong calibrant must never pass as a success).
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
from cases import BenchCase, all_cases, image_path  # noqa: E402

CACHE = Path.home() / ".cache" / "calterm" / "bench"


def run_one(case: BenchCase, path: Path, distance_mm: float | None,
            centre: tuple[float, float] | None) -> tuple[str, float, float, float]:
    """(verdict, max |Δ2θ| in degrees, centre error in px, seconds) for one start."""
    det = case.detector()
    t = time.perf_counter()
    result = calibrate(CalibrationRequest(str(path), case.calibrant, case.wavelength_m, detector=case.detector_name,
                                          distance_mm=distance_mm, center_xy=centre))
    seconds = time.perf_counter() - t
    err = max_tth_error_deg(result.geometry, case.truth, det, det.shape)
    centre_err = float(np.hypot(*np.subtract(result.geometry.beam_center_px(det), case.true_center_xy())))
    return result.verdict.status, err, centre_err, seconds


def sweep(case: BenchCase, offset_px: float, directions: int) -> tuple[int, int, int, list[float]]:
    """(right, doubtful, wrong-but-good, times) over the case's starts; misses are printed."""
    path = image_path(case, CACHE)
    cx, cy = case.true_center_xy()
    truth_mm = case.true_direct_distance_mm()
    half_pixel_deg = math.degrees(0.5 * case.detector().pixel1 / case.truth.dist)
    starts: list[tuple[float | None, tuple[float, float] | None]] = [(None, None)]
    for k in range(directions):
        angle = 2 * math.pi * k / directions
        centre = (cx + offset_px * math.cos(angle), cy + offset_px * math.sin(angle))
        starts += [(truth_mm * 0.95, centre), (truth_mm * 1.05, centre)]
    right = doubtful = false_good = 0
    times = []
    for distance_mm, centre in starts:
        status, err, centre_err, seconds = run_one(case, path, distance_mm, centre)
        times.append(seconds)
        correct = err <= half_pixel_deg
        right += status == "good" and correct
        doubtful += status != "good"
        false_good += status == "good" and not correct
        if status != "good" or not correct:
            where = "no start values" if centre is None else f"{distance_mm:.1f} mm, centre ({centre[0]:.1f}, {centre[1]:.1f})"
            print(f"  {case.name}: {where}: {status}, max |Δ2θ| {err:.2e}°, centre {centre_err:.2f} px", flush=True)
    return right, doubtful, false_good, times


WRONG_CALIBRANTS = "LaB6,CeO2,Si,alpha_Al2O3,Au,Ni,Pt,Al,Cr2O3,ZnO,NaCl,TiO2,diamond,quartz,CuO,C60"


def wrong_calibrants(case: BenchCase, names: list[str]) -> tuple[int, int, list[float]]:
    """(runs, false successes, times) calibrating ``case`` with each calibrant of ``names`` but its own."""
    path = image_path(case, CACHE)
    det = case.detector()
    runs = false_good = 0
    times = []
    for name in names:
        if name == case.calibrant:
            continue
        t = time.perf_counter()
        result = calibrate(CalibrationRequest(str(path), name, case.wavelength_m, detector=case.detector_name,
                                              distance_mm=case.typed_distance_mm(), center_xy=case.typed_center_xy()))
        times.append(time.perf_counter() - t)
        runs += 1
        if result.verdict.status == "good":
            false_good += 1
            err = max_tth_error_deg(result.geometry, case.truth, det, det.shape)
            print(f"  {case.name} read as {name}: called good, max |Δ2θ| {err:.2e}°", flush=True)
    return runs, false_good, times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(all_cases()), help="comma-separated case names")
    parser.add_argument("--offset", type=float, default=20.0, help="start centre distance from the truth (px)")
    parser.add_argument("--directions", type=int, default=8, help="start centres evenly spaced around the truth")
    parser.add_argument("--wrong-calibrants", nargs="?", const=WRONG_CALIBRANTS, default=None, metavar="NAME,...",
                        help="calibrate each case with these calibrants instead (default: 16 common ones)")
    args = parser.parse_args(argv)
    cases = all_cases()
    for name in args.cases.split(","):
        if name not in cases:
            parser.error(f"unknown case {name!r}; known: {', '.join(cases)}")
    if args.wrong_calibrants:
        for name in args.cases.split(","):
            runs, false_good, times = wrong_calibrants(cases[name], args.wrong_calibrants.split(","))
            print(f"{name:24s} wrong calibrants {runs}, called good {false_good}  "
                  f"time median {np.median(times):.1f} s, max {max(times):.1f} s", flush=True)
        return 0
    for name in args.cases.split(","):
        right, doubtful, false_good, times = sweep(cases[name], args.offset, args.directions)
        print(f"{name:24s} right {right}/{len(times)}  doubtful {doubtful}  wrong but good {false_good}  "
              f"time median {np.median(times):.2f} s, max {max(times):.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
