"""Gain map: calterm's joint solve against the session-start alternating scheme, side by side.

    nice python benchmarks/bench_gain.py [--binning 1] [--repeat 2] [--base /tmp/base/src] [--large]

Cases (calterm.core.simulate.amorphous; five positions each with its PONI geometry, amorphous
scattering, beam-stop disc + arm with soft edges, module-wise gain factors, a ramp, speckle, 40
damaged pixels, Poisson noise), swept over what makes the problem hard:
  spread     the default: beam centres 23-27 % of the detector apart, no radial gain term;
  close      centres 6 % apart and a radial gain term (5 % centre to corner): the case that
             made the alternating scheme crawl (issue 14);
  bowl       centres 10 % apart, the opposite radial term, 20 cm, twice the tilts;
  low-dose   the spread case with a quarter of the counts (5 000 per pixel and position).
For each: RMS of the unfiltered map from the truth (default run, and converged: 2000 iterations,
tolerance 1e-7), of the filtered map from the smooth truth (module factors x ramp x radial term)
against what a 3x3 median filter of the true map gives, and the time of each default run.
The session-start code (``--base``, its own ``compute_gain_map``) runs in a subprocess on the
same arrays, alternating with calterm's run, best of ``--repeat`` each: the time ratio is the
one to read on a shared machine. ``--large`` adds the 4 Mpx (Eiger4M) timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from calterm.core.gain.damaged import masked_median_filter
from calterm.core.gain.files import Position
from calterm.core.gain.gain_map import GainOptions, compute_gain_map
from calterm.core.simulate.amorphous import GainCase, render


def _centres(spread: float) -> tuple[tuple[float, float], ...]:
    return tuple((0.5 + spread * dx, 0.5 + spread * dy) for dx, dy in ((0, 0), (-1, -1), (1, -1), (-1, 1), (1, 1)))


def cases(binning: int) -> dict[str, GainCase]:
    base = GainCase(binning=binning)
    doubled = tuple((2 * a, 2 * b) for a, b in base.tilts_rad)
    return {
        "spread": base,
        "close": dataclasses.replace(base, centres=_centres(0.06), dome=0.05, seed=2),
        "bowl": dataclasses.replace(base, centres=_centres(0.10), dome=-0.04, distance_m=0.2, tilts_rad=doubled, seed=3),
        "low-dose": dataclasses.replace(base, counts=5000.0, seed=4),
    }


def positions_from_frames(frames, geometries) -> list[Position]:
    out = []
    for k, (fr, geometry) in enumerate(zip(frames, geometries, strict=True), start=1):
        stack = np.stack(fr)
        ok = stack >= 0
        out.append(Position(f"position {k}", np.where(ok, stack, 0).sum(0) / np.maximum(ok.sum(0), 1),
                            ~ok.any(0), geometry, [f"frame_{j}" for j in range(len(fr))], ""))
    return out


BASE_RUNNER = r"""
import json, sys, time, numpy as np
from calterm.core.common.geometry import PoniGeometry
from calterm.core.gain.files import Position
from calterm.core.gain.gain_map import compute_gain_map
from calterm.core.simulate.amorphous import make_detector
src = np.load(sys.argv[1])
meta = json.loads(str(src["meta"]))
det = make_detector(meta["binning"]) if meta["detector"] == "Pilatus1M" else __import__("pyFAI.detectors").detectors.detector_factory(meta["detector"])
pos = [Position(f"position {k + 1}", src["image"][k], src["invalid"][k], PoniGeometry(*g), meta["frames"][k], "")
       for k, g in enumerate(meta["geometries"])]
if meta.get("warm"):
    compute_gain_map(pos, det)
t = time.perf_counter()
res = compute_gain_map(pos, det)
elapsed = time.perf_counter() - t
np.savez(sys.argv[2], unfiltered=res.unfiltered, gain=res.gain)
print(json.dumps({"elapsed": elapsed, "passes": len(res.changes)}))
"""


def run_base(base_src: str, positions, truth, case: GainCase, tmp: str, warm: bool) -> tuple[float, dict, int]:
    """The session-start ``compute_gain_map`` on the same arrays, in its own interpreter."""
    src, out = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
    meta = {"binning": case.binning, "detector": case.detector, "warm": warm,
            "frames": [p.frames for p in positions],
            "geometries": [[g.dist, g.poni1, g.poni2, g.rot1, g.rot2, g.rot3, g.wavelength] for g in truth.geometries]}
    np.savez(src, image=np.stack([p.image for p in positions]), invalid=np.stack([p.invalid for p in positions]),
             meta=json.dumps(meta))
    env = {**os.environ, "PYTHONPATH": base_src}
    done = subprocess.run([sys.executable, "-c", BASE_RUNNER, src, out], env=env, capture_output=True, text=True,
                          check=True)
    info = json.loads(done.stdout.strip().splitlines()[-1])
    maps = np.load(out)
    return info["elapsed"], {"unfiltered": maps["unfiltered"], "gain": maps["gain"]}, info["passes"]


def rms(estimate, reference, where) -> float:
    r = estimate[where] / reference[where]
    return float(np.sqrt(np.mean((r / np.median(r) - 1) ** 2)))


def score_case(name: str, case: GainCase, args, tmp: str) -> dict:
    frames, truth = render(case)
    positions = positions_from_frames(frames, truth.geometries)
    measured = ~truth.gaps
    healthy = measured & ~truth.damaged
    median3 = rms(masked_median_filter(truth.gain, measured, 3), truth.smooth, healthy)
    ours_s = base_s = np.inf
    compute_gain_map(positions, truth.detector)  # warm-up (pyFAI imports and caches)
    for r in range(args.repeat):
        elapsed, base_maps, base_passes = run_base(args.base, positions, truth, case, tmp, warm=r == 0)
        base_s = min(base_s, elapsed)
        t = time.perf_counter()
        ours = compute_gain_map(positions, truth.detector)
        ours_s = min(ours_s, time.perf_counter() - t)
    converged = compute_gain_map(positions, truth.detector, GainOptions(iterations=2000, tolerance=1e-7))
    return {
        "case": name, "pixels": int(measured.sum()),
        "unfiltered_%": 100 * rms(ours.unfiltered, truth.gain, measured),
        "converged_%": 100 * rms(converged.unfiltered, truth.gain, measured),
        "base_unfiltered_%": 100 * rms(base_maps["unfiltered"], truth.gain, measured),
        "filtered_%": 100 * rms(ours.gain, truth.smooth, healthy & np.isfinite(ours.gain)),
        "median3_truth_%": 100 * median3,
        "base_filtered_%": 100 * rms(base_maps["gain"], truth.smooth, healthy & np.isfinite(base_maps["gain"])),
        "iterations": len(ours.changes), "base_passes": base_passes,
        "time_s": ours_s, "base_time_s": base_s,
        "single_position_px": int((ours.coverage == 1).sum()),
        "damaged_found": int((ours.damaged & truth.damaged).sum()), "false_flags": int((ours.damaged & ~truth.damaged).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binning", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="time each default run N times, keep the best")
    parser.add_argument("--base", default="/tmp/base/src", help="the session-start source tree to compare with")
    parser.add_argument("--large", action="store_true", help="add the 4 Mpx (Eiger4M) timing")
    parser.add_argument("--only", help="comma-separated case names")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    rows = []
    chosen = cases(args.binning)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in chosen.items():
            rows.append(score_case(name, case, args, tmp))
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
        if args.large:
            big = GainCase(detector="Eiger4M", beamstop_radius_px=32.0, arm_width_px=18.0)
            large_args = argparse.Namespace(**{**vars(args), "repeat": 1})
            rows.append(score_case("4 Mpx spread", big, large_args, tmp))
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
    print("\n| case | pixels | unfiltered % (converged) | base unfiltered % | filtered % / 3x3 median of truth % "
          "| base filtered % | iterations (base passes) | time s (base s) | ratio | s per position |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['pixels']} | {r['unfiltered_%']:.3f} ({r['converged_%']:.3f}) | "
              f"{r['base_unfiltered_%']:.3f} | {r['filtered_%']:.3f} / {r['median3_truth_%']:.3f} | "
              f"{r['base_filtered_%']:.3f} | {r['iterations']} ({r['base_passes']}) | {r['time_s']:.2f} "
              f"({r['base_time_s']:.2f}) | {r['time_s'] / r['base_time_s']:.2f} | {r['time_s'] / 5:.2f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
