"""A plotext plot whose axes carry ticks chosen for its size (:mod:`plot_ticks`): every plot of the
results' Plots tab draws through :class:`TickedPlot`, so none shows labels run together.

plotext's layout, which the sizes below follow: a title row, the frame's top and bottom rows, a
row of x labels and an x title row around the canvas; the y labels, as wide as the widest, and the
frame's two sides beside it.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from calterm.tui.widgets.plot_ticks import Ticks, x_ticks, y_ticks

FRAME_ROWS = 5  # title, top frame, bottom frame, x labels, x title
FRAME_COLS = 2  # left and right frame


def canvas_rows(height: int) -> int:
    """Rows plotext draws data on in a plot ``height`` rows high."""
    return max(height - FRAME_ROWS, 1)


class TickedPlot(PlotextPlot):
    """``set_axes`` in ``render`` fixes both ranges and ticks; ``ticks`` keeps what was drawn."""

    DEFAULT_CSS = """
    TickedPlot { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ticks: tuple[Ticks, Ticks] | None = None

    def set_axes(self, xlim: tuple[float, float], ylim: tuple[float, float], *, x_integer: bool = False,
                 y_integer: bool = False, x_steps: tuple[float, ...] | None = None,
                 y_format=None) -> tuple[Ticks, Ticks]:
        """Ranges and ticks for this widget's size; ``y_format`` relabels the y ticks (log axes)."""
        yt = y_ticks(*ylim, canvas_rows(self.size.height), integer=y_integer)
        if self.size.height <= FRAME_ROWS:  # no row for the data: a y label would print over the title
            yt = Ticks((), (), yt.lo, yt.hi)
        if y_format is not None:
            yt = Ticks(yt.values, tuple(y_format(v) for v in yt.values), yt.lo, yt.hi)
        width = max((len(s) for s in yt.labels), default=0)
        yt = Ticks(yt.values, tuple(s.rjust(width) for s in yt.labels), yt.lo, yt.hi)
        xt = x_ticks(*xlim, max(self.size.width - FRAME_COLS - width, 1), integer=x_integer, steps=x_steps)
        plt = self.plt
        plt.xlim(xt.lo, xt.hi)
        plt.ylim(yt.lo, yt.hi)
        plt.xticks(list(xt.values), list(xt.labels))
        plt.yticks(list(yt.values), list(yt.labels))
        self.ticks = (xt, yt)
        return xt, yt
