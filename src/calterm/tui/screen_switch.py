"""One screen switch at a time, to the screen the last screen key named.

Each screen key only names the screen wanted; a switch starts when the one before it has mounted
its screen, and goes to the newest wanted screen. Switching on every key (``410,690`` typed with
nothing focused: six switches, four screens mounting at once) left the terminal showing the Points
screen for good while the app was on Gain: Textual drew no frame after them, not even on a resize
or ``?`` (tests/tui/test_tmux_flow.py, in a real terminal; the headless pilot did not show it).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from calterm.tui.prebuild import build

if TYPE_CHECKING:
    from textual.app import App


class ScreenSwitcher:
    def __init__(self, app: App) -> None:
        self.app = app
        self.wanted: str | None = None
        self.busy = False

    @property
    def target(self) -> str:
        """Where the app is going (a burst of ] steps from there), or where it is."""
        return self.wanted if self.busy and self.wanted else self.app.current_mode

    def request(self, mode: str) -> bool:
        """Go to ``mode``; False when the app is already there and not switching."""
        if not self.busy and mode == self.app.current_mode:
            return False
        self.wanted = mode
        if not self.busy:
            self.busy = True
            self.app.run_worker(self._run(), group="switch-screen")
        return True

    async def go(self, mode: str) -> None:
        """:meth:`request`, then wait until the switching is over (the command palette's way)."""
        self.request(mode)
        while self.busy:
            await asyncio.sleep(0.01)

    async def _run(self) -> None:
        app = self.app
        try:
            while self.wanted is not None and self.wanted != app.current_mode:
                mode = self.wanted
                await build(app, mode)  # a first visit: created with its styles marked current
                await app.switch_mode(mode)  # returns once its screen is mounted
        finally:
            self.busy = False
        # Textual holds a switch's frames back for 50 ms (delay_update); in a burst of screen keys
        # the last screen's frame can be lost and the terminal go on showing an earlier screen
        app.set_timer(0.1, lambda: app.screen.refresh(layout=True))
