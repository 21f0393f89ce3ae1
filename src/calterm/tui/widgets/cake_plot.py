"""The cake (χ down, 2θ across, log intensity) with the calibrant's rings marked ``▼`` above it and
a 2θ axis below whose ticks fit the width (:mod:`plot_ticks`): straight vertical rings under the
marks mean a right geometry. The map itself is :class:`DensityMap`'s; only the axis line differs.
"""

from __future__ import annotations

from rich.text import Text

from calterm.tui.widgets.density_map import DensityMap
from calterm.tui.widgets.plot_ticks import Ticks, label_spans, x_ticks


def axis_line(ticks: Ticks, cells: int) -> str:
    """The labels of ``ticks`` placed on a line ``cells`` wide, as :func:`label_spans` places them."""
    line = [" "] * cells
    for (start, _), label in zip(label_spans(ticks, cells), ticks.labels, strict=True):
        line[start:start + len(label)] = label
    return "".join(line[:cells])


class CakePlot(DensityMap):
    DEFAULT_CSS = """
    CakePlot { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, title: str = "") -> None:
        super().__init__(id=id, title=title)
        self.ticks: Ticks | None = None

    def render(self):
        text = super().render()
        if self.data is None or self.data.size == 0 or self.extent is None:
            self.ticks = None
            return text
        cols = self.grid_size()[1]
        lines = text.split("\n")
        ticks = x_ticks(*self.extent, cols)
        self.ticks = ticks
        out = Text(no_wrap=True, overflow="crop")
        for line in lines[:-1]:
            out.append_text(line)
            out.append("\n")
        out.append(axis_line(ticks, cols), style="dim")
        return out
