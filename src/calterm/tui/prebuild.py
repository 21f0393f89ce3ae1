"""The results screen built while the app is idle, before a calibration needs it.

A calibration ends by switching to the results screen. Built at that moment, its first mount (its
module and widgets imported, their CSS parsed and the whole stylesheet applied again, the tabs
composed and laid out) held the event loop ~0.3 s right after the job, with the plots' and the
preview's workers starting on top (benchmarks/tui_event_loop.py). Built here, once the first frame
is out and no job runs, the switch after the job only fills and draws it.

Never before the first frame (tests/tui/test_startup_imports.py: numpy and the plotting widgets are
not loaded for the first screen), and never while a job runs: a job's end is exactly when the loop
must stay free. The screen is created as Textual creates a mode's screen on its first switch (the
app's ``_init_mode``), so the later switch finds it and does not build another.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING

from calterm.tui.core_imports import guarded

if TYPE_CHECKING:
    from textual.app import App

PREBUILT = ("results",)
WAIT_S = 0.2  # how often a prebuild waiting for a running job looks again


def built(app: App, mode: str) -> bool:
    """Whether ``mode``'s screen exists (shown once, or prebuilt)."""
    return bool(app._screen_stacks.get(mode))


async def prebuild(app, mode: str, module: str) -> None:
    """Import ``module`` off the loop, then create ``mode``'s screen, when no job runs.

    ``app`` is the CaltermApp (its ``jobs``); to be run as an async worker started after the first
    frame."""
    await asyncio.to_thread(guarded(importlib.import_module), module)  # numpy, the plots: in a thread
    while app.jobs.busy:
        await asyncio.sleep(WAIT_S)
    if app._exit or app._closing:  # the app is quitting
        return
    await build(app, mode)


async def build(app: App, mode: str) -> None:
    """Create ``mode``'s screen as Textual's first switch to it would, styles marked up to date.

    Also the first step of every first switch (:mod:`calterm.tui.screen_switch`). Nothing when the
    screen exists already."""
    if built(app, mode):
        return
    mounted = app._init_mode(mode)  # the stylesheet is reparsed for the new screen, then it composes
    styled = app._css_update_count
    await mounted
    # only the shown screen was marked up to date by that reparse: left so, the switch would reparse
    # and re-apply every style of every screen again (~0.1 s of the loop); a theme changed meanwhile
    # bumped the app's count, and the switch then refreshes the styles as it should
    app._screen_stacks[mode][0]._css_update_count = styled
