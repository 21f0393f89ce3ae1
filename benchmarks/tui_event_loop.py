"""How long the app's event loop goes without turning while a calibration runs, and where each
long gap falls (issue 15, Performance: no frame of the event loop blocked > 50 ms).

usage: python benchmarks/tui_event_loop.py [RUNS]

The demo app at 80x24 (headless), a 10 ms timer on the app, then ``c`` as a terminal sends it: every
gap between two ticks is a time the loop could not draw or read a key. Reported per run: the
calibration's wall time, the longest gap and how many exceeded 50 ms, and the app-side steps after
the job (saving the session, filling the results' tables). Then one line per gap > 50 ms:

- its phase: ``job`` (it ended before the job finished), ``end`` (it spans the job's end), ``after``;
- ``loop`` the CPU the event loop's thread spent in it, ``others`` the CPU of the other threads
  (the job's, the results' plots): a gap the loop did not spend is the loop starved of the GIL (or
  of a core: ``idle`` is the part nobody in this process spent);
- ``in`` where the loop was, sampled every 5 ms by a watchdog thread (``sys._current_frames``) while
  no tick came for 30 ms: the message being handled (``Pump<-Message``) and the innermost calterm
  and textual frames; ``select`` means the loop was waiting, not working; ``-`` (no sample) means
  the watchdog could not run either: one thread held the GIL through the whole gap (a C call that
  does not release it);
- ``threads`` the innermost frames of the other busy threads in the same samples.

Gaps while the job runs come from the worker thread holding the GIL (pyFAI and scipy calls that do
not release it); gaps after it from the app's own work on the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tui"))

STEPS: list[tuple[str, float]] = []
SAMPLE_EVERY_S = 0.005
SAMPLE_AFTER_S = 0.03  # no tick for this long: the loop is in a gap worth explaining
GAP_S = 0.05


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


def _where(frame) -> str:
    """The loop's thread at one instant: the message it handles, its innermost calterm and textual
    frames (or ``select`` when it waits in the selector)."""
    inner = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
    if frame.f_code.co_name == "select":
        return "select"
    message = own = lib = None
    f = frame
    while f is not None:
        name, code = f.f_code.co_filename, f.f_code.co_name
        if own is None and f"{os.sep}calterm{os.sep}" in name:
            own = f"{Path(name).stem}.{code}"
        if lib is None and f"{os.sep}textual{os.sep}" in name:
            lib = f"textual.{Path(name).stem}.{code}"
        if message is None and code == "_dispatch_message":
            with_locals = f.f_locals
            pump, msg = with_locals.get("self"), with_locals.get("message")
            message = f"{type(pump).__name__}<-{type(msg).__name__}"
        f = f.f_back
    return " ".join(p for p in (message, own, lib or inner) if p)


def _thread_where(frame) -> str:
    """Another thread's innermost frame, with the innermost calterm frame that led to it."""
    inner = f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}"
    f = frame
    while f is not None:
        if f"{os.sep}calterm{os.sep}" in f.f_code.co_filename:
            own = f"{Path(f.f_code.co_filename).stem}.{f.f_code.co_name}"
            return inner if own == inner else f"{own}>{inner}"
        f = f.f_back
    return inner


@dataclass
class Watchdog:
    """Ticks from the loop's timer; a thread that samples every thread's stack while a tick is late."""

    main_id: int = field(default_factory=threading.get_ident)
    ticks: list[tuple[float, float, float]] = field(default_factory=list)  # wall, loop CPU, process CPU
    samples: list[tuple[float, str, list[str]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def tick(self) -> None:
        self.ticks.append((time.perf_counter(), time.thread_time(), time.process_time()))

    def start(self) -> None:
        threading.Thread(target=self._watch, name="watchdog", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(SAMPLE_EVERY_S):
            if not self.ticks or time.perf_counter() - self.ticks[-1][0] < SAMPLE_AFTER_S:
                continue
            frames = sys._current_frames()
            main = frames.pop(self.main_id, None)
            frames.pop(me, None)
            others = [_thread_where(f) for f in frames.values()]
            busy = [w for w in others if not w.endswith((".wait", ".select", "._worker", ".get"))]
            self.samples.append((time.perf_counter(), _where(main) if main else "?", busy))

    def gaps(self, job_start: float, job_end: float | None) -> list[dict]:
        """Every gap > 50 ms with its phase, CPU split and the most sampled places."""
        out = []
        for (a, ca, pa), (b, cb, pb) in zip(self.ticks, self.ticks[1:], strict=False):
            if b - a <= GAP_S:
                continue
            end = job_end if job_end is not None else float("inf")
            phase = "job" if b <= end else ("after" if a >= end else "end")
            loop, others = cb - ca, max(0.0, (pb - pa) - (cb - ca))
            inside = [s for s in self.samples if a < s[0] <= b]
            wheres = collections.Counter(w for _, w, _ in inside).most_common(2)
            threads = collections.Counter(t for _, _, ts in inside for t in ts).most_common(2)
            out.append({"ms": 1e3 * (b - a), "phase": phase, "at_s": a - job_start, "loop_ms": 1e3 * loop,
                        "others_ms": 1e3 * others, "idle_ms": 1e3 * max(0.0, (b - a) - loop - others),
                        "in": "; ".join(f"{w} ({n})" for w, n in wheres) or "-",
                        "threads": "; ".join(f"{t} ({n})" for t, n in threads) or "-"})
        return out


async def one_run() -> dict:
    from textual import events

    from conftest import open_app, settle

    app = open_app([])
    dog = Watchdog()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.set_interval(0.01, dog.tick)
        await pilot.pause(0.3)
        dog.ticks.clear()
        STEPS.clear()
        dog.start()
        start = time.perf_counter()
        app.post_message(events.Key("c", "c"))
        done = None
        while time.perf_counter() - start < 120:
            await asyncio.sleep(0.02)
            if done is None and not app.jobs.busy and time.perf_counter() - start > 0.5:
                done = time.perf_counter()
            if done is not None and time.perf_counter() - done > 1.5:
                break
        dog.stop()
        record = app.jobs.finished[0] if app.jobs.finished else None
        await settle(app, pilot)
    job_end = record.finished if record is not None else None
    gaps = [b[0] - a[0] for a, b in zip(dog.ticks, dog.ticks[1:], strict=False)]
    return {"wall": (job_end or time.perf_counter()) - start, "max_gap_ms": 1e3 * max(gaps),
            "over_50": sum(g > GAP_S for g in gaps), "gaps": dog.gaps(start, job_end),
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
        print(f"run {i + 1}: calibration {r['wall']:.2f} s, longest gap {r['max_gap_ms']:.0f} ms, "
              f"gaps > 50 ms: {r['over_50']}, app steps (ms): {r['steps_ms']}")
        for g in r["gaps"]:
            print(f"  {g['ms']:4.0f} ms {g['phase']:5} at {g['at_s']:+.2f} s: loop {g['loop_ms']:.0f} ms, "
                  f"others {g['others_ms']:.0f} ms, idle {g['idle_ms']:.0f} ms; in {g['in']}; threads {g['threads']}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
