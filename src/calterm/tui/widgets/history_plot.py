"""The optimization history, one series at a time, full size: the cost, then each free parameter
by iteration, in the units the other screens use (mm, mrad, Å). A cost that levels off and
parameters that settle are what a converged fit looks like; one still drifting at the last
iteration says the optimizer stopped early.
"""

from __future__ import annotations

import math

import numpy as np

from calterm.tui.widgets.plot_ticks import padded_range
from calterm.tui.widgets.ticked_plot import TickedPlot

PARAMS = ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength")
UNITS = {"dist": ("mm", 1e3), "poni1": ("mm", 1e3), "poni2": ("mm", 1e3), "rot1": ("mrad", 1e3),
         "rot2": ("mrad", 1e3), "rot3": ("mrad", 1e3), "wavelength": ("Å", 1e10), "cost": ("", 1.0)}


def free_parameters(history, sigma: dict | None = None) -> list[str]:
    """The parameters the fit moved: a σ was computed for them, or their value changed."""
    sigma = sigma or {}
    out = []
    for name in PARAMS:
        if name not in history.columns:
            continue
        values = np.asarray([row[history.columns.index(name)] for row in history.rows], float)
        if sigma.get(name) is not None or (values.size and np.nanmax(values) > np.nanmin(values)):
            out.append(name)
    return out


def log_label(v: float) -> str:
    """A tick of a log10 axis: ``1e-6`` at whole decades, else the value with two digits."""
    return f"1e{round(v)}" if abs(v - round(v)) < 1e-9 else f"{10**v:.2g}"


class HistoryPlot(TickedPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history = None
        self.series = "cost"
        self.message = "no history yet: calibrate first"

    def show(self, history=None, series: str | None = None) -> None:
        """``history`` a :class:`calterm.core.common.history.History` (None: empty the plot)."""
        self.history = history
        if series is not None:
            self.series = series
        self.changed()

    def set_series(self, series: str) -> None:
        self.series = series
        self.changed()

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """(iteration, value in display units) of the shown series."""
        cols = self.history.columns
        if self.series not in cols:
            return np.zeros(0), np.zeros(0)
        k = cols.index(self.series)
        y = np.asarray([row[k] for row in self.history.rows], float) * UNITS.get(self.series, ("", 1.0))[1]
        return np.arange(y.size, dtype=float), y

    def draw(self) -> None:
        plt = self.plt
        x, y = (np.zeros(0), np.zeros(0)) if self.history is None else self.values()
        ok = np.isfinite(y)
        if not ok.any():
            plt.title(self.message if self.history is None else f"no {self.series} in the history")
            return
        unit = UNITS.get(self.series, ("", 1.0))[0]
        last = float(y[ok][-1])
        log = self.series == "cost" and np.all(y[ok] > 0) and np.nanmax(y) / np.nanmin(y[ok]) > 10
        span = float(np.nanmax(y) - np.nanmin(y))
        # a parameter settled to a few parts in a million: its change from the last value, readable
        offset = last if not log and self.series != "cost" and 0 < span < 1e-5 * abs(last) else 0.0
        shown = np.log10(y) if log else y - offset
        plt.plot(x[ok].tolist(), shown[ok].tolist(), marker="braille", color="cyan")
        self._stage_lines()
        xlim = (0.0, max(float(x[-1]), 1.0))
        self.set_axes(xlim, padded_range(float(np.nanmin(shown)), float(np.nanmax(shown))), x_integer=True,
                      y_format=log_label if log else None)
        plt.xlabel("iteration")
        final = f"{last:.3g}" if self.series == "cost" else f"{last:.{_decimals(y[ok])}f}"
        unit_text = f" ({unit})" if unit else ""
        if offset:
            plt.title(f"{self.series} − {final}{unit_text} by iteration")
        else:
            plt.title(f"{self.series}{unit_text}{', log scale' if log else ''} by iteration; last {final}")

    def _stage_lines(self) -> None:
        """A vertical line where the optimizer's stage changes (first fit, refinement, refit)."""
        cols = self.history.columns
        if "stage" not in cols:
            return
        k = cols.index("stage")
        stages = [row[k] for row in self.history.rows]
        for i in range(1, len(stages)):
            if stages[i] != stages[i - 1]:
                self.plt.vline(i, color="magenta")


def _decimals(values: np.ndarray) -> int:
    """Decimals that show the spread of ``values`` (at least 3, at most 8)."""
    span = float(np.nanmax(values) - np.nanmin(values))
    return 3 if span <= 0 else min(8, max(3, 2 - math.floor(math.log10(span))))
