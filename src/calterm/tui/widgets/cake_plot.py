"""The cake (χ down, 2θ across, log intensity) with the calibrant's rings marked ``▼`` above it, a
2θ axis below whose ticks fit the width (:mod:`plot_ticks`) and χ labelled down the left edge
(every 90°, fewer when the map is short): straight vertical rings under the marks mean a right
geometry, and a ring that bends says at which azimuth. The map itself is :class:`DensityMap`'s.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from calterm.tui.widgets.density_map import DensityMap
from calterm.tui.widgets.plot_ticks import Ticks, label_spans, x_ticks


def axis_line(ticks: Ticks, cells: int) -> str:
    """The labels of ``ticks`` placed on a line ``cells`` wide, as :func:`label_spans` places them."""
    line = [" "] * cells
    for (start, _), label in zip(label_spans(ticks, cells), ticks.labels, strict=True):
        line[start:start + len(label)] = label
    return "".join(line[:cells])


CHI_STEP_DEG = 90.0
GUTTER = 5  # "-180" and a space


def chi_labels(chi0: float, chi1: float, rows: int) -> dict[int, str]:
    """Row -> label of the χ values every 90° from the map's top edge ``chi0`` to its bottom edge
    ``chi1`` (χ grows downwards; the bottom edge's value on the last row), two rows apart at least
    (on a short map: fewer labels, never two touching)."""
    if rows < 1 or not chi1 > chi0:
        return {}
    out: dict[int, str] = {}
    step = (chi1 - chi0) / rows
    value = CHI_STEP_DEG * np.ceil(chi0 / CHI_STEP_DEG)
    while value <= chi1 + 1e-9:
        row = min(rows - 1, int((value - chi0) / step))
        if not out or row - max(out) >= 2:
            out[row] = f"{value:.0f}"
        value += CHI_STEP_DEG
    return out


class CakePlot(DensityMap):
    DEFAULT_CSS = """
    CakePlot { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, title: str = "") -> None:
        super().__init__(id=id, title=title)
        self.ticks: Ticks | None = None
        self.chi_extent: tuple[float, float] | None = None  # χ (°) at the top and bottom edges
        self.chi_rows: dict[int, str] = {}

    def show(self, data=None, *, chi_extent: tuple[float, float] | None = None, **kwargs) -> None:
        if chi_extent is not None:
            self.chi_extent = chi_extent
        super().show(data, **kwargs)

    def left_gutter(self) -> int:
        return GUTTER if self.chi_extent is not None else 0

    def render(self):
        text = super().render()
        if self.data is None or self.data.size == 0 or self.extent is None:
            self.ticks = None
            return text
        rows, cols = self.grid_size()
        lines = text.split("\n")
        ticks = x_ticks(*self.extent, cols)
        self.ticks = ticks
        gutter = self.left_gutter()
        self.chi_rows = chi_labels(*self.chi_extent, rows) if self.chi_extent is not None else {}
        out = Text(no_wrap=True, overflow="crop")
        for i, line in enumerate(lines[:-1]):
            if gutter:  # line 0 holds the ring marks, then one line per map row
                out.append(f"{self.chi_rows.get(i - 1, ''):>{gutter - 1}} ", style="dim")
            out.append_text(line)
            out.append("\n")
        out.append(" " * gutter + axis_line(ticks, cols), style="dim")
        return out
