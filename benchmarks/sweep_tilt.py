"""How far a detector tilt can go before calterm's calibration stops being right.

    python benchmarks/sweep_tilt.py [--tilts DEG,...] [--planes DEG,...]

A Pilatus1M LaB6 image (0.62 Å, 200 mm, beam at (480, 560)) is rendered by pyFAI at each tilt and
tilt-plane rotation (cached like the other benchmark images), then calibrated twice: from start
values typed as if the detector were untilted (distance 5 % long, centre 15 px right and 12 px up),
and with no start values. Each line says whether the verdict agrees with the truth: a *good*
verdict on a wrong geometry is the outcome that must never happen; a *doubtful* one on a geometry
the engine could not find is honest.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calterm.core.simulate.powder import SyntheticCase  # noqa: E402
from cases import BenchCase, fit2d_poni, image_path  # noqa: E402
from sweep_calibrate import CACHE, run_one  # noqa: E402


def tilted_case(tilt_deg: float, plane_deg: float) -> BenchCase:
    geometry = fit2d_poni("Pilatus1M", 480.0, 560.0, 200.0, tilt_deg, plane_deg, 0.6199)
    synthetic = SyntheticCase("Pilatus1M", "LaB6", geometry, peak_intensity=3000.0, background=30.0,
                              resolution_deg=0.08, seed=5)
    return BenchCase(f"pilatus1m-lab6-tilt{tilt_deg:g}-plane{plane_deg:g}",
                     f"Pilatus1M, LaB6, {tilt_deg:g}° tilt in the plane at {plane_deg:g}°", synthetic,
                     distance_factor=1.05, center_offset_px=(15.0, -12.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tilts", default="3,6,10,15,25", help="tilt angles in degrees")
    parser.add_argument("--planes", default="30,200", help="tilt-plane rotations in degrees")
    args = parser.parse_args(argv)
    false_good = 0
    for tilt in (float(v) for v in args.tilts.split(",")):
        for plane in (float(v) for v in args.planes.split(",")):
            case = tilted_case(tilt, plane)
            path = image_path(case, CACHE)
            half_pixel_deg = math.degrees(0.5 * case.detector().pixel1 / case.truth.dist)
            for label, distance_mm, centre in (("typed", case.typed_distance_mm(), case.typed_center_xy()),
                                               ("none", None, None)):
                status, err, centre_err, seconds = run_one(case, path, distance_mm, centre)
                correct = err <= half_pixel_deg
                outcome = ("right" if correct else "WRONG BUT GOOD") if status == "good" else \
                    ("doubtful, though correct" if correct else "doubtful (not found)")
                false_good += status == "good" and not correct
                print(f"tilt {tilt:4.1f}° plane {plane:5.1f}° start {label:5s} {status:8s} max |Δ2θ| {err:.2e}° "
                      f"centre {centre_err:7.2f} px {seconds:5.1f} s  {outcome}", flush=True)
    print(f"wrong but good: {false_good}")
    return 1 if false_good else 0


if __name__ == "__main__":
    sys.exit(main())
