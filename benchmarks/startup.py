"""Whole-process wall time of short calterm commands: what a user waits for, start-up included.

usage: python benchmarks/startup.py [RUNS]

Each command runs RUNS times (default 15) as a fresh process, interleaved so that load from other
jobs spreads over all of them; the table gives the median, min and max wall time. The circle
command fits a 1 Mpx TIFF (1024 x 1024, one ring, rendered here at a known centre). For comparison
the same is timed for ``pyFAI-calib2 --help`` when it is installed, and for a bare interpreter.
A benchmark, not a timed test: the targets (``--help`` <= 0.2 s, ``circle`` <= 0.3 s) are read here.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def ring_image(folder: Path) -> Path:
    import numpy as np

    from calterm.core.io.images import write_image
    from calterm.core.simulate.single_ring import SingleRingCase, render_single_ring

    path = folder / "ring_1mpx.tif"
    write_image(path, render_single_ring(SingleRingCase(shape=(1024, 1024), center=(511.3, 520.7))).astype(np.float32))
    return path


def commands(image: Path) -> dict[str, list[str]]:
    calterm = [sys.executable, "-m", "calterm"]
    out = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "calterm --help": [*calterm, "--help"],
        "calterm --version": [*calterm, "--version"],
        "calterm circle 1Mpx.tif --json": [*calterm, "circle", str(image), "--json"],
        "calterm calibrants": [*calterm, "calibrants"],
    }
    calib2 = shutil.which("pyFAI-calib2") or str(Path(sys.executable).with_name("pyFAI-calib2"))
    if Path(calib2).is_file():
        out["pyFAI-calib2 --help"] = [calib2, "--help"]
    return out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(ring_image(Path(tmp)))
        for argv in cmds.values():  # warm the OS file cache
            subprocess.run(argv, capture_output=True, check=True)
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(runs):
            for name, argv in cmds.items():
                t0 = time.perf_counter()
                subprocess.run(argv, capture_output=True, check=True)
                times[name].append(time.perf_counter() - t0)
    print(f"| command | median s | min s | max s |   ({runs} runs each, interleaved)")
    print("|---|---|---|---|")
    for name, ts in times.items():
        print(f"| `{name}` | {statistics.median(ts):.3f} | {min(ts):.3f} | {max(ts):.3f} |")


if __name__ == "__main__":
    main()
