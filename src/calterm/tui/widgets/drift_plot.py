"""One parameter of a series' drift table against image number, full size: distance (mm), beam
centre (px), tilts (mrad) or RMS (°). Flagged images (a jump, a doubtful verdict) are drawn with
``x`` in their own colour, so they stand out without colour too; the rest as a braille line with
dots. The axes carry the tick helper's ticks (:mod:`plot_ticks`), never labels run together.
"""

from __future__ import annotations

import math

import numpy as np

from calterm.tui.widgets.plot_ticks import padded_range
from calterm.tui.widgets.ticked_plot import TickedPlot

# row attribute -> (label, unit, factor to the unit)
SERIES = {"dist_mm": ("distance", "mm", 1.0), "center_x": ("centre x", "px", 1.0),
          "center_y": ("centre y", "px", 1.0), "rot1": ("rot1", "mrad", 1e3), "rot2": ("rot2", "mrad", 1e3),
          "rot3": ("rot3", "mrad", 1e3), "rms_2th_deg": ("RMS 2θ", "mrad", math.pi / 180 * 1e3)}


class DriftPlot(TickedPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list = []
        self.series = "dist_mm"

    def show(self, rows: list) -> None:
        """``rows``: :class:`calterm.core.series.run.DriftRow` (the list may keep growing)."""
        self.rows = list(rows)
        self.changed()

    def set_series(self, series: str) -> None:
        self.series = series
        self.changed()

    def values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image index, value in display units, flagged) of the shown parameter."""
        factor = SERIES[self.series][2]
        x = np.array([r.index for r in self.rows], float)
        y = np.array([getattr(r, self.series) for r in self.rows], float) * factor
        flagged = np.array([bool(r.flags) for r in self.rows], bool)
        return x, y, flagged

    def draw(self) -> None:
        plt = self.plt
        label, unit, _ = SERIES[self.series]
        if not self.rows:
            plt.title(f"{label} ({unit}) by image: no image yet (r starts the series)")
            return
        x, y, flagged = self.values()
        ok = np.isfinite(y)
        if not ok.any():
            plt.title(f"no {label} in the table")
            return
        plt.plot(x[ok].tolist(), y[ok].tolist(), marker="braille", color="cyan")
        bad = ok & flagged
        if bad.any():
            plt.scatter(x[bad].tolist(), y[bad].tolist(), marker="x", color="red")
        self.set_axes(padded_range(float(x.min()), max(float(x.max()), float(x.min()) + 1.0), 0.02),
                      padded_range(float(np.nanmin(y[ok])), float(np.nanmax(y[ok]))), x_integer=True)
        plt.xlabel("image #")
        plt.title(f"{label} ({unit}) by image; x: flagged; p: next parameter")
