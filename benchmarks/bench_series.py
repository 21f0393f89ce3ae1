"""A drifting series of 1 Mpx images through ``run_series``: seconds per image on the fast path and
memory over the run.

    python benchmarks/bench_series.py [--images 50]

The images (LaB6 on a full Pilatus1M, 981x1043 = 1.02 Mpx, module gaps, tilted, Poisson noise,
λ 0.4 Å, 200 mm) drift by 15 µm of distance and 0.02 px of centre per image, and are written to a
temporary folder first (not timed). Then one ``run_series`` in this process: the first image
through the full pipeline, the others through the fast path. Figures: s/image on the fast path
(median and 90th percentile, wall and CPU, with the load average: the machine may be shared), how many images fell back to the full pipeline, the worst distance
error against the truth, and the resident memory (RSS, from /proc) after images 1, 10, 25 and the
last, with the process's peak RSS: flat in the number of images when only the previous geometry
and the table's rows are kept.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from calterm.core.calibrate.model import CalibrationRequest  # noqa: E402
from calterm.core.common.geometry import PoniGeometry  # noqa: E402
from calterm.core.series.run import run_series  # noqa: E402
from calterm.core.simulate.powder import SyntheticCase  # noqa: E402
from calterm.core.simulate.series import drift_series  # noqa: E402

BASE = SyntheticCase("Pilatus1M", "LaB6", PoniGeometry(0.2, 0.0912, 0.0835, 0.012, -0.008, 0.0, 0.4e-10),
                     peak_intensity=3000.0, seed=3)
DRIFT = {"dist": 15e-6, "poni1": 3.4e-6}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        series = drift_series(BASE, args.images, folder, DRIFT)
        print(f"rendered {args.images} images in {time.perf_counter() - t:.1f} s (not timed)")
        memory: dict[int, float] = {}
        cpu: list[float] = []
        clock = [time.process_time()]

        def sample(row):
            now = time.process_time()
            cpu.append(now - clock[0])  # this image's CPU seconds (the machine may be shared)
            clock[0] = now
            if row.index + 1 in (1, 10, 25, args.images):
                memory[row.index + 1] = rss_mb()

        t = time.perf_counter()
        result = run_series(CalibrationRequest(str(series[0][0]), "LaB6", 0.4e-10, detector="Pilatus1M"),
                            [str(p) for p, _ in series], on_row=sample)
        total = time.perf_counter() - t
    fast = [r.seconds for r in result.rows if r.method == "fast"]
    fast_cpu = [c for c, r in zip(cpu, result.rows, strict=True) if r.method == "fast"]
    full = [r for r in result.rows if r.method == "full"]
    errors = [abs(r.dist_mm - g.dist * 1e3) * 1e3 for r, (_, g) in zip(result.rows, series, strict=True)]
    print(f"{len(result.rows)} images in {total:.1f} s: {len(fast)} fast, {len(full)} full "
          f"(first {full[0].seconds:.2f} s), {len(result.skipped)} skipped, verdicts "
          f"{sorted({r.verdict for r in result.rows})}")
    print(f"fast path: median {np.median(fast):.3f} s/image wall, 90th percentile {np.percentile(fast, 90):.3f} s; "
          f"CPU median {np.median(fast_cpu):.3f} s/image; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"worst distance error {max(errors):.1f} µm; flagged {[r.index for r in result.rows if r.flags]}")
    print("RSS (MB) after image " + ", ".join(f"{k}: {v:.0f}" for k, v in sorted(memory.items()))
          + f"; peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
