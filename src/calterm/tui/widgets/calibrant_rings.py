"""The calibrant's rings at the current wavelength, as ticks over 2θ: what the detector should
show, before any image is looked at."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class CalibrantRings(PlotextPlot):
    DEFAULT_CSS = """
    CalibrantRings { height: 7; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tth_deg: list[float] = []
        self.plot_title = "calibrant rings"

    def show(self, tth_deg: list[float], title: str) -> None:
        self.tth_deg, self.plot_title = list(tth_deg), title
        self.refresh()

    def render(self):
        plt = self.plt
        plt.clear_figure()
        plt.title(self.plot_title)
        if self.tth_deg:
            for t in self.tth_deg:
                plt.vline(t, color="magenta")
            plt.xlim(0, max(self.tth_deg) * 1.05)
            plt.yticks([])
            plt.xlabel("2θ (deg)")
        return super().render()
