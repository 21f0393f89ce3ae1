"""Every position's radial profile in one plot, with the combined and the expected profile and the
extrapolation range marked: where the positions disagree, or the fit leaves the data, the gain map
is wrong there (``calterm gain``'s report holds the same numbers)."""

from __future__ import annotations

import numpy as np

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
        tth = np.asarray(self.profile["tth_deg"], float)
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
                plt.vline(t, color="red")
        plt.xlabel("2θ (°)")
        lo, hi = self.tth_range or (float("nan"), float("nan"))
        plt.title(f"radial profiles; red: extrapolation range {lo:.2f}-{hi:.2f}°")
