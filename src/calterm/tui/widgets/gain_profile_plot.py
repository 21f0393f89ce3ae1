"""Every position's radial profile in one plot, with the combined and the expected profile and the
extrapolation range marked: where the positions disagree, or the fit leaves the data, the gain map
is wrong there (``calterm gain``'s report holds the same numbers). 2θ in degrees, or radians in PONI
units (the app's unit system, :mod:`calterm.tui.units`)."""

from __future__ import annotations

import numpy as np

from calterm.tui.units import MM, PONI, shown, unit
from calterm.tui.widgets.plot_ticks import padded_range
from calterm.tui.widgets.ticked_plot import TickedPlot

COLORS = ("cyan", "green", "yellow", "blue", "red", "white")


class GainProfilePlot(TickedPlot):
    DEFAULT_CSS = """
    GainProfilePlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.profile: dict | None = None
        self.tth_range: tuple[float, float] | None = None
        self.message = "no profiles yet: r computes the gain map"
        self.units = MM

    def set_units(self, units: str) -> None:
        """The unit system (``u``): the same profiles against 2θ in it."""
        self.units = units
        self.changed()

    def tth(self) -> np.ndarray:
        """The profiles' 2θ in the plot's unit (the report's are in degrees)."""
        return np.asarray(self.profile["tth_deg"], float) * shown("tth", 1.0, self.units, "°")

    def show(self, profile: dict | None = None, tth_range=None, message: str | None = None) -> None:
        """``profile`` as ``GainResult.report()["profile"]``; ``tth_range`` the extrapolation range."""
        if profile is not None:
            self.profile = profile
            self.tth_range = None if tth_range is None else (float(tth_range[0]), float(tth_range[1]))
        if message is not None:
            self.message = message
            self.profile = None
        self.changed()

    def draw(self) -> None:
        plt = self.plt
        if not self.profile:
            plt.title(self.message)
            return
        tth = self.tth()
        scale = shown("tth", 1.0, self.units, "°")
        lines = [np.asarray(line, float) for line in self.profile.get("per_position", [])]
        lines.append(np.asarray(self.profile.get("expected", []), float))
        finite = np.concatenate([v[np.isfinite(v)] for v in lines]) if lines else np.zeros(0)
        if tth.size and finite.size:
            self.set_axes((float(np.nanmin(tth)), float(np.nanmax(tth))),
                          padded_range(float(finite.min()), float(finite.max())))
        for k, line in enumerate(self.profile.get("per_position", [])):
            y = np.asarray(line, float)
            ok = np.isfinite(y)
            if ok.any():
                plt.plot(tth[ok].tolist(), y[ok].tolist(), marker="braille", color=COLORS[k % len(COLORS)],
                         label=f"pos {k + 1}")
        expected = np.asarray(self.profile.get("expected", []), float)
        ok = np.isfinite(expected)
        if ok.any():
            plt.plot(tth[ok].tolist(), expected[ok].tolist(), marker="dot", color="magenta", label="expected")
        if self.tth_range is not None:
            for t in self.tth_range:
                plt.vline(t * scale, color="red")
        tth_unit = unit("tth", self.units)
        plt.xlabel(f"2θ ({tth_unit})")
        lo, hi = (v * scale for v in self.tth_range or (float("nan"), float("nan")))
        spec, tail = (".4f", " rad") if self.units == PONI else (".2f", "°")
        plt.title(f"radial profiles; red: extrapolation range {lo:{spec}}-{hi:{spec}}{tail}")
