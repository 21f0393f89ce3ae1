"""Residual Δ2θ against azimuth, one colour per ring: a wave means a wrong centre or tilt, a
constant offset a wrong distance, flat noise a good fit."""

from __future__ import annotations

import numpy as np
from textual_plotext import PlotextPlot

COLORS = ("cyan", "yellow", "green", "magenta", "red", "blue", "white")


class ResidualPlot(PlotextPlot):
    DEFAULT_CSS = """
    ResidualPlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.azimuth_deg = np.zeros(0)
        self.residual_mdeg = np.zeros(0)
        self.ring = np.zeros(0, dtype=int)

    def show(self, azimuth_deg, residual_mdeg, ring) -> None:
        self.azimuth_deg, self.residual_mdeg = np.asarray(azimuth_deg), np.asarray(residual_mdeg)
        self.ring = np.asarray(ring, dtype=int)
        self.refresh()

    def render(self):
        plt = self.plt
        plt.clear_figure()
        if self.azimuth_deg.size == 0:
            plt.title("no residuals yet: calibrate first")
            return super().render()
        rings = np.unique(self.ring)
        for i, r in enumerate(rings[:12]):
            sel = self.ring == r
            plt.scatter(self.azimuth_deg[sel].tolist(), self.residual_mdeg[sel].tolist(), marker="dot",
                        color=COLORS[i % len(COLORS)])
        plt.hline(0.0, color="white")
        plt.xlim(-180, 180)
        plt.xlabel("azimuth (deg)")
        plt.title("Δ2θ (millidegrees) by azimuth, colour = ring")
        return super().render()
