"""GSAS-II ``.imctrl`` line reader: time against line length on a hostile (corrupt) line.

One command: ``nice .venv/bin/python benchmarks/bench_imctrl_reader.py``. For each length it times
calterm's one-pass reader (``core.gain.gsas_imctrl.parse_imctrl``) and, side by side, the regular
expression the reader used before (copied here verbatim, run only up to 2000 characters: it is
cubic, an 8 kB line took minutes). The hostile line is ``np.float64(`` followed by spaces and no
``)``: what a truncated or corrupted write of GSAS-II's ``str(list)`` can leave. A well-formed
control file is timed too, so the reader's normal cost is on record.
"""

from __future__ import annotations

import re
import sys
import time

from calterm.core.gain.gsas_imctrl import parse_imctrl

OLD_NUMPY_SCALAR = re.compile(r"np\.(?:float|int|uint)(?:16|32|64|128)?\(\s*([^()]*?)\s*\)")  # before this change

GOOD = """type:PWDR
wavelength:np.float64(0.1839)
distance:np.float64(1002.5)
center:[np.float64(40.1), np.float64(35.2)]
tilt:np.float64(0.3)
rotation:np.float64(12.0)
IOtth:[np.float64(0.5), np.float64(12.0)]
PolaVal:[np.float64(0.99), False]
dark image:['', np.float64(-1.0)]
"""


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    print(f"{'line (chars)':>12} {'calterm (s)':>12} {'old regex (s)':>14} {'ratio':>8}")
    for n in (500, 1000, 2000, 8000, 64000):
        line = "np.float64(" + " " * n
        text = GOOD + f"corrupt:{line}\n"
        ours = best_of(lambda text=text: parse_imctrl(text))
        if n <= 2000:
            old = best_of(lambda line=line: OLD_NUMPY_SCALAR.sub(r"\1", line), repeat=1)
            print(f"{n:>12} {ours:>12.5f} {old:>14.3f} {old / ours:>8.0f}x")
        else:
            print(f"{n:>12} {ours:>12.5f} {'(minutes)':>14} {'':>8}")
    good = best_of(lambda: parse_imctrl(GOOD), repeat=20)
    print(f"well-formed control file ({len(GOOD)} chars): {good * 1e6:.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
