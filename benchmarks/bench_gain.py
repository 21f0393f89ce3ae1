"""Gain map: calterm against the reference method's steps, on one synthetic Pilatus1M case.

    python benchmarks/bench_gain.py [--binning 1] [--threads N]

The case (calterm.core.simulate.amorphous): five positions with their PONI files, amorphous scattering,
beam-stop shadows, a known gain (module factors, ramp, speckle, 40 damaged pixels), Poisson noise
(20 000 counts per pixel and position, two frames each).

The reference method (Weng et al. 2023 notebooks) is reproduced here, and only here, in its known
weak steps: radial medians placed at bin *edges*; each position divided by its *own* profile;
beyond the top of the range, the "linear fit" is the slope of the last two points of a
zero-padded median-filtered (kernel 5) curve; no iteration; damaged pixels are those more than 4
standard deviations above the whole detector's mean of the correction map (one-sided, global).
Everything else is shared with calterm (polarization, solid angle, beam-stop masks, the median
over positions, the masked median filter), so the differences come from those steps alone.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time

import numpy as np

from calterm.core.gain.damaged import masked_median, masked_median_filter
from calterm.core.gain.files import Position
from calterm.core.gain.gain_map import GainOptions, compute_gain_map
from calterm.core.gain.profile import bin_edges, bin_index, bin_medians
from calterm.core.simulate.amorphous import GainCase, render, write_case


def positions_from_frames(frames, geometries) -> list[Position]:
    out = []
    for k, (fr, geometry) in enumerate(zip(frames, geometries, strict=True), start=1):
        stack = np.stack(fr)
        ok = stack >= 0
        out.append(Position(f"position {k}", np.where(ok, stack, 0).sum(0) / np.maximum(ok.sum(0), 1),
                            ~ok.any(0), geometry, [], ""))
    return out


def reference_method(positions, detector, result, options: GainOptions):
    """The reference steps on the same corrected images and beam-stop masks as calterm's result."""
    from scipy.signal import medfilt

    shape = positions[0].image.shape
    lo, hi = result.tth_range
    tths, corrected = [], []
    for pos in positions:
        ai = pos.geometry.to_pyfai(detector)
        tths.append(ai.center_array(shape, unit="2th_deg"))
        corrected.append(pos.image / (ai.polarization(shape, factor=options.polarization) * ai.solidAngleArray(shape)))
    # calterm's own beam-stop and partial-shadow masks: a pixel a position did not use
    used = _calterm_used_masks(positions, detector, options)
    tth_max = max(float(t[u].max()) for t, u in zip(tths, used, strict=True))
    edges = bin_edges(tth_max, options.bins or min(shape))
    stack = np.full((len(positions), *shape), np.nan)
    for k in range(len(positions)):
        med, _ = bin_medians(bin_index(tths[k], edges), corrected[k], used[k], len(edges) - 1)
        x = edges[:-1]  # weak step 1: the median of [e_i, e_i+1) placed at e_i
        ok = np.isfinite(med)
        x, y = x[ok], med[ok]
        inside = (x >= lo) & (x <= hi)
        filtered = medfilt(y[inside], 5)  # zero-padded at both ends
        slope = (filtered[-1] - filtered[-2]) / (x[inside][-1] - x[inside][-2])  # weak step 2
        x_last, y_last = x[inside][-1], filtered[-1]
        t = tths[k]
        expected = np.where(t > hi, y_last + slope * (t - x_last), np.interp(t, x, y))
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.where(used[k], corrected[k] / expected, np.nan)
        g[~(g > 0)] = np.nan
        stack[k] = g / np.nanmedian(g)  # weak step 3: each position against its own profile
    gain, _ = masked_median(stack, axis=0)
    gain /= np.nanmedian(gain)
    correction = 1.0 / gain  # weak step 4: one-sided, whole-detector rule on the correction map
    mean, std = np.nanmean(correction), np.nanstd(correction)
    damaged = np.isfinite(correction) & (correction > mean + 4 * std)
    use = np.isfinite(gain)
    filtered_map = masked_median_filter(gain, use & ~damaged, options.filter_size)
    final = np.where(damaged | ~np.isfinite(filtered_map), gain, filtered_map)
    final[~use] = np.nan
    return gain, final, damaged


def _calterm_used_masks(positions, detector, options):
    """Which pixels calterm used at each position (beam stop, gaps, partial shadows removed)."""
    import calterm.core.gain.gain_map as gm

    captured = {}
    original = gm._combine

    def spy(stack, prepared, threshold):
        out = original(stack, prepared, threshold)
        captured["use"] = [p.use.copy() for p in prepared]
        return out

    gm._combine = spy
    try:
        gm.compute_gain_map(positions, detector, GainOptions(iterations=0, polarization=options.polarization))
    finally:
        gm._combine = original
    return captured["use"]


def scores(unfiltered, filtered, damaged, truth) -> dict:
    measured = ~truth.gaps & np.isfinite(unfiltered)
    healthy = measured & ~truth.damaged

    def rms(est, ref, where):
        r = est[where] / ref[where]
        return float(np.sqrt(np.mean((r / np.median(r) - 1) ** 2)))

    return {"unfiltered_rms_%": 100 * rms(unfiltered, truth.gain, measured),
            "filtered_rms_vs_smooth_%": 100 * rms(filtered, truth.smooth, healthy & np.isfinite(filtered)),
            "damaged_recall_%": 100 * float((damaged & truth.damaged).sum() / truth.damaged.sum()),
            "false_flags": int((damaged & ~truth.damaged).sum()),
            "unmeasured_pixels": int((~truth.gaps & ~np.isfinite(unfiltered)).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binning", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="time calterm's default run N times, keep the best")
    args = parser.parse_args()
    case = GainCase(binning=args.binning)
    t0 = time.perf_counter()
    frames, truth = render(case)
    positions = positions_from_frames(frames, truth.geometries)
    print(f"case: {truth.gain.shape} pixels, {len(positions)} positions, rendered in {time.perf_counter() - t0:.1f} s, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    rows = []
    compute_gain_map(positions, truth.detector)  # warm-up (pyFAI imports and caches)
    for label, options in [("calterm (default)", GainOptions()),
                           ("calterm, single pass", GainOptions(iterations=0)),
                           ("calterm, line above range", GainOptions(extrapolate="range"))]:
        elapsed = np.inf
        for _ in range(args.repeat if label == "calterm (default)" else 1):
            t = time.perf_counter()
            res = compute_gain_map(positions, truth.detector, options)
            elapsed = min(elapsed, time.perf_counter() - t)
        rows.append((label, elapsed, scores(res.unfiltered, res.gain, res.damaged, truth), len(res.changes)))
        if label == "calterm (default)":
            default = res
    t = time.perf_counter()
    ref_unfiltered, ref_filtered, ref_damaged = reference_method(positions, truth.detector, default, GainOptions())
    rows.append(("reference steps", time.perf_counter() - t,
                 scores(ref_unfiltered, ref_filtered, ref_damaged, truth), 1))
    with tempfile.TemporaryDirectory() as tmp:
        pairs, _ = write_case(case, tmp)
        from calterm.cli import main as calterm_main

        argv = ["gain"] + [a for f, c in pairs for a in ("--position", f, "--calibration", c)]
        cli_s = np.inf
        for _ in range(args.repeat):
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                code = calterm_main([*argv, "-o", os.path.join(tmp, "bench"), "--date", "2026-01-01"])
            cli_s = min(cli_s, time.perf_counter() - t)
    lo, hi = default.tth_range
    print(f"suggested range {lo:.2f}-{hi:.2f}°, passes {len(default.changes)}, "
          f"3x3 median of the truth is {100 * _median3_gap(truth):.2f} % RMS from it\n")
    keys = list(rows[0][2])
    print("| method | time (s) | passes | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 3) + "|")
    for label, elapsed, sc, passes in rows:
        print(f"| {label} | {elapsed:.2f} | {passes} | " + " | ".join(f"{sc[k]:.3f}" if isinstance(sc[k], float)
                                                                   else str(sc[k]) for k in keys) + " |")
    print(f"\ntimes: best of {args.repeat} for calterm (default) and the CLI, one run otherwise; "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"`calterm gain` end to end (read 10 TIFF frames + 5 PONI, compute, write 5 versioned files): "
          f"{cli_s:.2f} s, exit {code}")


def _median3_gap(truth) -> float:
    use = ~truth.gaps & ~truth.damaged
    m3 = masked_median_filter(truth.gain, use, 3)
    return float(np.sqrt(np.mean((m3[use] / truth.gain[use] - 1) ** 2)))


if __name__ == "__main__":
    main()
