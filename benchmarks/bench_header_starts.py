"""Header facts as calibration start values: what they cost and what they change, on the real images.

For each real image with a header: the time to read its facts (``calterm.core.io.headers``) beside
fabio's own header read (the field's reader, which the facts are parsed from), and a calibration
with the header's start values (the default) beside one without (``header_starts=False``), with
the verdict, the distance and the time of each. A header start that does not end good is rerun
without, so a wrong header costs one extra run, never a wrong answer.

    nice .venv/bin/python benchmarks/bench_header_starts.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import fabio

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate
from calterm.core.io.headers import header_facts

REALDATA = Path(os.environ.get("CALTERM_REALDATA") or Path(__file__).resolve().parents[2] / "shared" / "realdata")
# image, calibrant (the only thing typed: wavelength and pixel size are the header's)
CASES = (("agbe_60sec_006.mar1200", "AgBh"), ("AgBe_Quantum.img", "AgBh"))


def _best_ms(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main() -> None:
    fabio.openheader(str(REALDATA / CASES[0][0]))  # imports paid once, outside the timings
    print(f"{'image':24s} {'fabio ms':>9s} {'facts ms':>9s}  {'starts':7s} {'verdict':9s} {'dist mm':>9s} {'time s':>7s}")
    for name, calibrant in CASES:
        path = str(REALDATA / name)
        fabio_ms = _best_ms(lambda p=path: fabio.openheader(p))
        facts_ms = _best_ms(lambda p=path: header_facts(p))
        facts = header_facts(path)
        for starts in (True, False):
            request = CalibrationRequest(path, calibrant, facts.wavelength_A * 1e-10, header_starts=starts)
            t = time.perf_counter()
            try:
                result = calibrate(request)
                verdict, dist = result.verdict.status, f"{result.fit2d['directDist']:.1f}"
            except Exception as exc:  # noqa: BLE001  (a failed calibration is a row too)
                verdict, dist = type(exc).__name__, "-"
            print(f"{name:24s} {fabio_ms:9.2f} {facts_ms:9.2f}  {'header' if starts else 'none':7s} {verdict:9s} "
                  f"{dist:>9s} {time.perf_counter() - t:7.1f}")


if __name__ == "__main__":
    main()
