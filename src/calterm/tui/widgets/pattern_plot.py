"""The integrated 1D pattern with the calibrant's ring positions as ticks: every peak should sit
on a tick when the geometry is right (Dioptas' "pattern" check)."""

from __future__ import annotations

import numpy as np

from calterm.tui.widgets.ticked_plot import TickedPlot, envelope


class PatternPlot(TickedPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tth_deg: np.ndarray | None = None
        self.intensity: np.ndarray | None = None
        self.ticks_deg: list[float] = []
        self.message = "no pattern yet"

    def show(self, tth_deg=None, intensity=None, ticks_deg=None, message: str | None = None) -> None:
        if tth_deg is not None:
            self.tth_deg, self.intensity = np.asarray(tth_deg), np.asarray(intensity)
        if ticks_deg is not None:
            self.ticks_deg = list(ticks_deg)
        if message is not None:
            self.message = message
            if tth_deg is None:
                self.tth_deg = None
        self.changed()

    def draw(self) -> None:
        plt = self.plt
        if self.tth_deg is None or self.tth_deg.size == 0:
            plt.title(self.message)
            return
        y = np.log10(np.clip(self.intensity, 1e-3, None) + 1.0)
        x0, x1 = float(self.tth_deg[0]), float(self.tth_deg[-1])
        self.set_axes((x0, x1), (float(np.nanmin(y)), float(np.nanmax(y))))
        x, y = envelope(self.tth_deg, y, self.canvas[0])  # a low and a high point a cell
        plt.plot(x.tolist(), y.tolist(), marker="braille", color="cyan")
        for t in self.ticks_deg:
            if x0 <= t <= x1:
                plt.vline(t, color="magenta")
        plt.xlabel("2θ (°)")
        plt.title("pattern, log10 I; magenta: calibrant rings")
