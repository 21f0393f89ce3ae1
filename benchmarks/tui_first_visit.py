"""How long the app's event loop stops on the first visit of each screen, and how much of it is the
garbage collector (issue 15, Performance: no frame of the event loop blocked > 50 ms).

usage: python benchmarks/tui_first_visit.py [--no-freeze]

The demo app at 80x24 (headless), ready and idle, with a 10 ms timer on the app; then each screen
once (``action_switch``, as its key does), 1.5 s apart. Per screen: the longest gap between two
ticks, how many exceeded 50 ms, and the time Python's garbage collector spent meanwhile
(``gc.callbacks``), its full (generation 2) passes listed. ``--no-freeze`` runs the app without
``calterm.tui.gc_freeze`` (what it was before), for the side-by-side figure.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tui"))

COLLECTIONS: list[tuple[int, float]] = []  # (generation, seconds) of each collection
_started: dict[str, float] = {}


def _timed_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _started["t"] = time.perf_counter()
    else:
        COLLECTIONS.append((info["generation"], time.perf_counter() - _started["t"]))


async def visit_every_screen() -> None:
    from conftest import open_app, settle

    app = open_app([])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.pause(1.0)
        ticks: list[float] = []
        app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        for mode in [m for m in app.MODES if m not in (app.current_mode, "results", "jobs")]:
            ticks.clear()
            COLLECTIONS.clear()
            app.action_switch(mode)
            await pilot.pause(1.5)
            gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
            full = ", ".join(f"{1e3 * s:.0f}" for g, s in COLLECTIONS if g == 2) or "-"
            print(f"{mode:12s} longest gap {1e3 * max(gaps):4.0f} ms, gaps > 50 ms: {sum(g > 0.05 for g in gaps)}; "
                  f"GC {1e3 * sum(s for _, s in COLLECTIONS):4.0f} ms in all, full passes (ms): {full}")
        print(f"tracked objects {len(gc.get_objects())}, frozen {gc.get_freeze_count()}")
        await pilot.press("ctrl+q")


def main() -> None:
    home = tempfile.mkdtemp()
    os.environ.update(HOME=home, CALTERM_HOME=f"{home}/state", CALTERM_CACHE=f"{home}/cache")
    if "--no-freeze" in sys.argv:
        import calterm.tui.app

        calterm.tui.app.freeze_if_imported = lambda: False
    gc.callbacks.append(_timed_collection)
    asyncio.run(visit_every_screen())
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
