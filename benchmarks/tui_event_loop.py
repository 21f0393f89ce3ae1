"""How long the app's event loop goes without turning while a calibration runs (issue 15, Performance:
no frame of the event loop blocked > 50 ms).

usage: python benchmarks/tui_event_loop.py [RUNS]

The demo app at 80x24 (headless), a 10 ms timer on the app, then ``c`` as a terminal sends it: every
gap between two ticks is a time the loop could not draw or read a key. Reported per run: the
calibration's wall time, the longest gap and how many exceeded 50 ms, the gap's end relative to the
job's end, and the app-side steps after the job (saving the session, filling the results' tables).
Gaps while the job runs come from the worker thread holding the GIL (pyFAI and scipy calls that do
not release it); gaps after it from the app's own work on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tui"))

STEPS: list[tuple[str, float]] = []


def _timed(cls, name: str) -> None:
    original = getattr(cls, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            STEPS.append((name, time.perf_counter() - start))

    setattr(cls, name, wrapper)


async def one_run() -> dict:
    from textual import events

    from conftest import open_app, settle

    app = open_app([])
    ticks: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        await pilot.pause(0.3)
        ticks.clear()
        STEPS.clear()
        start = time.perf_counter()
        app.post_message(events.Key("c", "c"))
        done = None
        while time.perf_counter() - start < 120:
            await asyncio.sleep(0.02)
            if done is None and not app.jobs.busy and time.perf_counter() - start > 0.5:
                done = time.perf_counter()
            if done is not None and time.perf_counter() - done > 1.5:
                break
        await settle(app, pilot)
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    return {"wall": (done or time.perf_counter()) - start, "max_gap_ms": 1e3 * gaps[worst],
            "over_50": sum(g > 0.05 for g in gaps), "gap_end_vs_done_s": ticks[worst + 1] - (done or 0.0),
            "steps_ms": {n: round(1e3 * t) for n, t in STEPS if t > 0.01}}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    os.environ.setdefault("CALTERM_HOME", tempfile.mkdtemp(prefix="calterm-bench-"))
    from calterm.tui.app import CaltermApp
    from calterm.tui.screens.calibrate.results import ResultsScreen

    for name in ("save", "on_job_done"):
        _timed(CaltermApp, name)
    for name in ("_fill", "_fill_points"):
        _timed(ResultsScreen, name)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    for i in range(runs):
        r = asyncio.run(one_run())
        print(f"run {i + 1}: calibration {r['wall']:.2f} s, longest gap {r['max_gap_ms']:.0f} ms "
              f"(ends {r['gap_end_vs_done_s']:+.2f} s from the job's end), gaps > 50 ms: {r['over_50']}, "
              f"app steps (ms): {r['steps_ms']}")


if __name__ == "__main__":
    main()
