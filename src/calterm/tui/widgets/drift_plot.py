"""One parameter of a series' drift table against image number, full size: distance (mm), beam
centre (px), tilts (mrad) or RMS (mrad), or in PONI units (m, rad) after ``u`` (the screens' one unit
system, :mod:`calterm.tui.units`; the centre stays in pixels). Flagged images (a jump, a doubtful verdict) are drawn with
``x`` in their own colour, so they stand out without colour too; the rest as a braille line with
dots. The axes carry the tick helper's ticks (:mod:`plot_ticks`), never labels run together.
"""

from __future__ import annotations

import numpy as np

from calterm.tui.units import MM, shown, unit
from calterm.tui.widgets.plot_ticks import padded_range
from calterm.tui.widgets.ticked_plot import TickedPlot

# row attribute -> (label, quantity shown in the app's units or None for pixels, the row's unit)
SERIES = {"dist_mm": ("distance", "distance", "mm"), "center_x": ("centre x", None, "px"),
          "center_y": ("centre y", None, "px"), "rot1": ("rot1", "rotation", "rad"), "rot2": ("rot2", "rotation", "rad"),
          "rot3": ("rot3", "rotation", "rad"), "rms_2th_deg": ("RMS 2θ", "angle", "°")}


class DriftPlot(TickedPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list = []
        self.series = "dist_mm"
        self.units = MM

    def set_units(self, units: str) -> None:
        """The unit system (``u``): the same rows redrawn in it."""
        self.units = units
        self.changed()

    def unit(self) -> str:
        """The shown parameter's unit in the plot's system."""
        _, quantity, row_unit = SERIES[self.series]
        return row_unit if quantity is None else unit(quantity, self.units)

    def show(self, rows: list) -> None:
        """``rows``: :class:`calterm.core.series.run.DriftRow` (the list may keep growing)."""
        self.rows = list(rows)
        self.changed()

    def set_series(self, series: str) -> None:
        self.series = series
        self.changed()

    def values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image index, value in display units, flagged) of the shown parameter."""
        _, quantity, row_unit = SERIES[self.series]
        factor = 1.0 if quantity is None else shown(quantity, 1.0, self.units, row_unit)  # a scale: no offsets
        x = np.array([r.index for r in self.rows], float)
        y = np.array([getattr(r, self.series) for r in self.rows], float) * factor
        flagged = np.array([bool(r.flags) for r in self.rows], bool)
        return x, y, flagged

    def draw(self) -> None:
        plt = self.plt
        label, unit = SERIES[self.series][0], self.unit()
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
