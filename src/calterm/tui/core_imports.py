"""One thread at a time imports the engine.

The app imports pyFAI and the core lazily, from worker threads, so the first screen shows in well
under a second. Two workers doing those first imports at once (the parameters panel describing the
detector while the user already pressed `c`) can meet half-initialised modules in pyFAI's import
graph ("cannot import name ... from partially initialized module"). Every thread worker therefore
passes through :func:`ensure_core` first: the first one imports, the others wait for it.
"""

from __future__ import annotations

import importlib
import threading

HEAVY = ("numpy", "scipy.ndimage", "scipy.optimize", "pyFAI", "pyFAI.detectors", "pyFAI.calibrant",
         "calterm.core.calibrate.pipeline", "calterm.core.calibrate.integrate", "calterm.core.calibrate.points")

_lock = threading.Lock()
_done = False


def ensure_core() -> None:
    global _done
    if _done:
        return
    with _lock:
        if not _done:
            for name in HEAVY:
                importlib.import_module(name)
            _done = True


def guarded(work):
    """``work`` preceded by :func:`ensure_core` (for ``run_worker(..., thread=True)``)."""

    def run(*args, **kwargs):
        ensure_core()
        return work(*args, **kwargs)

    return run
