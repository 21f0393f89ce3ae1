"""calterm's calibration time and accuracy on the bench cases, for two source trees side by side.

    nice python benchmarks/calterm_before_after.py --before /tmp/base/src [--repeat 3] [--cases A,B]

The images are the bench's (``cases.py``, rendered once by this tree); each tree's
``pipeline.calibrate`` then runs on them in its own process (so neither tree's modules leak into
the other), from the same typed start values as ``bench_calibrate.py``, timed from image load to
result (the median of ``--repeat`` runs, the trees interleaved). A tree older than a case's
renderer still calibrates its image: only the image is new.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import all_cases, image_path  # noqa: E402

RUNNER = r"""
import json, sys, time, logging
logging.getLogger("pyFAI").setLevel(logging.ERROR)
import numpy as np
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate
from calterm.core.common.geometry import PoniGeometry, max_tth_error_deg
import pyFAI.detectors
job = json.loads(sys.argv[1])
req = CalibrationRequest(image_path=job["image"], calibrant=job["calibrant"], wavelength_m=job["wavelength_m"],
                         detector=job["detector"], distance_mm=job["distance_mm"], center_xy=tuple(job["center_xy"]),
                         pixel_size_um=job["pixel_size_um"])
t0 = time.perf_counter()
try:
    res = calibrate(req)
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"})); sys.exit(0)
elapsed = time.perf_counter() - t0
truth = PoniGeometry(**job["truth"])
det = res.detector
err = max_tth_error_deg(res.geometry, truth, det, det.shape, step=4)
print(json.dumps({"time_s": elapsed, "max_tth_deg": err, "verdict": res.verdict.status}))
"""


def job_of(case, image: Path) -> dict:
    return {"image": str(image), "calibrant": case.calibrant, "wavelength_m": case.wavelength_m,
            "detector": case.synthetic.detector, "distance_mm": case.typed_distance_mm(),
            "center_xy": list(case.typed_center_xy()),
            "pixel_size_um": None if case.synthetic.detector else case.synthetic.pixel_size_um,
            "truth": case.truth.as_dict()}


def run(src: str, job: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(job)], capture_output=True, text=True, env=env)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


def main(argv: list[str] | None = None) -> int:
    here = str(Path(__file__).resolve().parents[1] / "src")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the older tree's src folder")
    parser.add_argument("--after", default=here, help="the newer tree's src folder (default: this one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=",".join(all_cases()))
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    from calterm.core.simulate.demo import cache_dir

    cache = args.cache or cache_dir() / "bench"
    rows = []
    for name in [n.strip() for n in args.cases.split(",") if n.strip()]:
        case = all_cases()[name]
        job = job_of(case, image_path(case, cache))
        got = {"before": [], "after": []}
        for k in range(args.repeat):
            for which in (("before", "after") if k % 2 == 0 else ("after", "before")):
                out = run(args.before if which == "before" else args.after, job)
                got[which].append(out)
                print(f"{name:24s} {which:6s} {out}", file=sys.stderr, flush=True)
        rows.append((name, got))
    lines = ["| case | before: time (s) | after: time (s) | after / before | before: max \\|Δ2θ\\| (°) "
             "| after: max \\|Δ2θ\\| (°) | verdict before / after |", "|---|---|---|---|---|---|---|"]
    ratios = []
    for name, got in rows:
        cells = []
        for which in ("before", "after"):
            ok = [r for r in got[which] if "time_s" in r]
            cells.append((float(np.median([r["time_s"] for r in ok])) if ok else float("nan"),
                          float(np.median([r["max_tth_deg"] for r in ok])) if ok else float("nan"),
                          ok[0]["verdict"] if ok else got[which][0].get("error", "?")))
        (tb, eb, vb), (ta, ea, va) = cells
        ratios.append(ta / tb)
        lines.append(f"| {name} | {tb:.2f} | {ta:.2f} | {ta / tb:.2f} | {eb:.2e} | {ea:.2e} | {vb} / {va} |")
    finite = [r for r in ratios if np.isfinite(r)]
    lines.append(f"\nMedian after/before time ratio over the cases: {np.median(finite):.2f}" if finite else "")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
