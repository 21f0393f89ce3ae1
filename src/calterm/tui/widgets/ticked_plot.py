"""A plotext plot whose axes carry ticks chosen for its size (:mod:`plot_ticks`): every plot of the
results' Plots tab draws through :class:`TickedPlot`, so none shows labels run together.

plotext's layout, which the sizes below follow: a title row, the frame's top and bottom rows, a
row of x labels and an x title row around the canvas; the y labels, as wide as the widest, and the
frame's two sides beside it.
"""

from __future__ import annotations

import numpy as np
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
        self.canvas = (1, 1)  # (columns, rows) of the data area, known after set_axes
        self._version = 0
        self._cached = None

    def changed(self) -> None:
        """The data changed: draw again on the next refresh (else the last drawing is reused)."""
        self._version += 1
        self.refresh()

    def draw(self) -> None:
        """Subclasses: the plotext calls for the current data (the figure is cleared before)."""

    def render(self):
        """plotext's drawing, rebuilt only when the data, size or theme changed: plotext takes
        15-80 ms for a plot of 80x20 cells, so switching plots or tabs reuses the last one."""
        key = (self._version, self.size, self.app.theme)
        if self._cached is None or self._cached[0] != key:
            self.plt.clear_figure()
            self.ticks = None
            self.draw()
            self._cached = (key, super().render())
        return self._cached[1]

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
        cols = max(self.size.width - FRAME_COLS - width, 1)
        xt = x_ticks(*xlim, cols, integer=x_integer, steps=x_steps)
        self.canvas = (cols, canvas_rows(self.size.height))
        plt = self.plt
        plt.xlim(xt.lo, xt.hi)
        plt.ylim(yt.lo, yt.hi)
        plt.xticks(list(xt.values), list(xt.labels))
        plt.yticks(list(yt.values), list(yt.labels))
        self.ticks = (xt, yt)
        return xt, yt

    def cells_of(self, x: np.ndarray, y: np.ndarray, sub: tuple[int, int] = (1, 1)) -> np.ndarray:
        """The canvas cell (times ``sub`` dots per cell) of each point, as one integer."""
        xt, yt = self.ticks
        cols, rows = self.canvas[0] * sub[0], self.canvas[1] * sub[1]
        c = np.floor((x - xt.lo) / max(xt.hi - xt.lo, 1e-300) * cols)
        r = np.floor((y - yt.lo) / max(yt.hi - yt.lo, 1e-300) * rows)
        return (np.clip(r, -1, rows) * (cols + 2) + np.clip(c, -1, cols)).astype(np.int64)

    def one_per_cell(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Indices of one point per occupied cell (after ``set_axes``): a scatter of 10k points draws
        the same at a tenth of plotext's time."""
        _, first = np.unique(self.cells_of(x, y), return_index=True)
        return np.sort(first)


def envelope(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """A line thinned to ``bins`` bins along x, each by its minimum then maximum (peaks survive):
    plotext draws a 2000-point line in ~5x the time of 2 points per column."""
    n = x.size
    if n <= 2 * bins:
        return x, y
    edges = np.linspace(0, n, bins + 1).astype(int)
    xs, ys = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        seg = y[a:b]
        if not np.isfinite(seg).any():
            continue
        for k in sorted({int(np.nanargmin(seg)), int(np.nanargmax(seg))}):
            xs.append(x[a + k])
            ys.append(seg[k])
    return np.asarray(xs), np.asarray(ys)
