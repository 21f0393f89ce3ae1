"""Residual Δ2θ against azimuth, one colour per ring: a wave means a wrong centre or tilt, a
constant offset a wrong distance, flat noise a good fit."""

from __future__ import annotations

import numpy as np

from calterm.tui.widgets.plot_ticks import padded_range
from calterm.tui.widgets.ticked_plot import TickedPlot

COLORS = ("cyan", "yellow", "green", "magenta", "red", "blue", "white")
MAX_RINGS = 12  # beyond a dozen the colours repeat too often to tell rings apart
AZIMUTH_STEPS = (90.0, 45.0, 30.0)


class ResidualPlot(TickedPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.azimuth_deg = np.zeros(0)
        self.residual = np.zeros(0)
        self.unit = "mrad"
        self.ring = np.zeros(0, dtype=int)

    def show(self, azimuth_deg, residual, ring, unit: str = "mrad") -> None:
        """``residual``: Δ2θ of each point in ``unit`` (the screens' unit system: mrad, or rad)."""
        self.azimuth_deg, self.residual = np.asarray(azimuth_deg), np.asarray(residual)
        self.ring, self.unit = np.asarray(ring, dtype=int), unit
        self.changed()

    def draw(self) -> None:
        plt = self.plt
        if self.azimuth_deg.size == 0:
            plt.title("no residuals yet: calibrate first")
            return
        rings = np.unique(self.ring)
        shown = np.isin(self.ring, rings[:MAX_RINGS])
        top = float(np.nanmax(np.abs(self.residual[shown]))) if shown.any() else 1.0
        self.set_axes((-180.0, 180.0), padded_range(-top, top), x_steps=AZIMUTH_STEPS)
        for i, r in enumerate(rings[:MAX_RINGS]):
            az, res = self.azimuth_deg[self.ring == r], self.residual[self.ring == r]
            keep = self.one_per_cell(az, res)  # points sharing a cell draw as one
            plt.scatter(az[keep].tolist(), res[keep].tolist(), marker="dot", color=COLORS[i % len(COLORS)])
        plt.hline(0.0, color="white")
        plt.xlabel("azimuth χ (°)")
        which = f"rings {rings[0]}-{rings[min(len(rings), MAX_RINGS) - 1]} of {len(rings)}" \
            if len(rings) > MAX_RINGS else "colour = ring"
        plt.title(f"Δ2θ ({self.unit}) by azimuth, {which}")
