"""A 2D array drawn with characters at terminal resolution: a cake, a gain map, a dark average.

Each cell shows one of ten characters (``.`` lowest to ``@`` highest) for the block of array
elements under it, so the map reads in 16 colours, in monochrome and in a copied screen (a
colour ramp in 16 colours has four greys). Blocks are reduced by their maximum (narrow peaks such
as powder rings survive the binning) or their mean (smooth maps). Optional markers, columns in the
x units of the data, are drawn as ``▼`` above the map and tint the map's cells in their column: on a
cake, straight vertical lines under the ring ticks mean a good geometry.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

RAMP = ".,:-=+*#%@"
STYLES = ("blue",) * 3 + ("cyan",) * 3 + ("white",) * 2 + ("bold white",) * 2
MARK = "magenta"


def block_reduce(data: np.ndarray, rows: int, cols: int, how: str = "max") -> np.ndarray:
    """``data`` reduced to (rows, cols) blocks (NaN where a block has no finite value)."""
    data = np.asarray(data, float)
    r0 = np.floor(np.arange(rows) * data.shape[0] / rows).astype(int)
    c0 = np.floor(np.arange(cols) * data.shape[1] / cols).astype(int)
    finite = np.isfinite(data)
    if how == "max":
        out = np.maximum.reduceat(np.maximum.reduceat(np.where(finite, data, -np.inf), r0, axis=0), c0, axis=1)
        return np.where(np.isfinite(out), out, np.nan)
    total = np.add.reduceat(np.add.reduceat(np.where(finite, data, 0.0), r0, axis=0), c0, axis=1)
    count = np.add.reduceat(np.add.reduceat(finite.astype(float), r0, axis=0), c0, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def levels(values: np.ndarray, lo_pct: float = 2.0, hi_pct: float = 99.5) -> tuple[np.ndarray, float, float]:
    """Ramp index (0..9, -1 for NaN) of each value between two percentiles of the finite values."""
    finite = np.isfinite(values)
    out = np.full(values.shape, -1, dtype=int)
    if not finite.any():
        return out, float("nan"), float("nan")
    lo, hi = np.percentile(values[finite], [lo_pct, hi_pct])
    span = hi - lo if hi > lo else 1.0
    out[finite] = np.clip(np.rint((values[finite] - lo) / span * (len(RAMP) - 1)), 0, len(RAMP) - 1)
    return out, float(lo), float(hi)


class DensityMap(Widget):
    """Pure display: ``show`` the array; the screen owns the data."""

    DEFAULT_CSS = """
    DensityMap { width: 1fr; height: 1fr; min-height: 4; border: round $panel; }
    DensityMap:focus { border: round $accent; }
    """
    can_focus = True

    def __init__(self, *, id: str | None = None, classes: str | None = None, title: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.data: np.ndarray | None = None
        self.markers: list[float] = []
        self.extent: tuple[float, float] | None = None
        self.reduce, self.log_scale, self.square, self.units = "max", False, True, ""
        self.message = "nothing to show yet"
        self.border_title = title
        self.scale: tuple[float, float] = (float("nan"), float("nan"))
        self.percentiles: tuple[float, float] = (2.0, 99.5)  # of the cells' values: "." and "@"

    def show(self, data=None, *, title: str | None = None, markers=None, extent=None, reduce: str | None = None,
             log: bool | None = None, square: bool | None = None, units: str | None = None,
             percentiles: tuple[float, float] | None = None, message: str | None = None) -> None:
        """New data and how to draw it; ``extent`` is the x range of the data's columns (for markers)."""
        if data is not None:
            self.data = np.asarray(data, float)
        if message is not None:
            self.message = message
            if data is None:
                self.data = None
        for name, value in (("markers", markers), ("extent", extent), ("reduce", reduce), ("log_scale", log),
                            ("square", square), ("units", units), ("percentiles", percentiles)):
            if value is not None:
                setattr(self, name, list(value) if name == "markers" else value)
        if title is not None:
            self.border_title = title
        self.refresh()

    def grid_size(self) -> tuple[int, int]:
        """(rows, cols) of the map inside the widget, keeping pixels square when asked."""
        assert self.data is not None
        width = max(self.size.width - self.left_gutter(), 1)
        height = max(self.size.height - (2 if self.extent else 0), 1)
        h, w = self.data.shape
        if not self.square:
            return min(height, h), min(width, w)
        step = max(w / width, h / (2 * height), 1e-9)  # a cell is about twice as tall as wide
        return max(1, min(height, round(h / (2 * step)))), max(1, min(width, round(w / step)))

    def left_gutter(self) -> int:
        """Columns left of the map for a y axis (none here; the cake labels χ there)."""
        return 0

    def cells(self) -> np.ndarray:
        """The ramp index of every cell (-1: no data), as drawn."""
        assert self.data is not None
        rows, cols = self.grid_size()
        values = block_reduce(self.data, rows, cols, self.reduce)
        if self.log_scale:
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.log10(1.0 + np.clip(values, 0, None))
        index, lo, hi = levels(values, *self.percentiles)
        self.scale = (lo, hi) if not self.log_scale else (10**lo - 1, 10**hi - 1)
        return index

    def marker_columns(self, cols: int) -> list[int]:
        """Columns of the markers, dropping any closer than two columns to the one before."""
        if not self.markers or self.extent is None:
            return []
        x0, x1 = self.extent
        out: list[int] = []
        for m in sorted(self.markers):
            c = int((m - x0) / (x1 - x0) * cols) if x1 != x0 else -1
            if 0 <= c < cols and (not out or c - out[-1] >= 2):
                out.append(c)
        return out

    def render(self):
        if self.data is None or self.data.size == 0:
            return Text(self.message, style="dim")
        index = self.cells()
        rows, cols = index.shape
        marks = set(self.marker_columns(cols))
        text = Text(no_wrap=True, overflow="crop")
        if self.extent is not None:
            text.append("".join("▼" if c in marks else " " for c in range(cols)) + "\n", style=MARK)
        for r in range(rows):
            for c in range(cols):
                k = index[r, c]
                style = MARK if c in marks else (STYLES[k] if k >= 0 else "")
                text.append(RAMP[k] if k >= 0 else " ", style=style)
            text.append("\n")
        if self.extent is not None:
            lo, hi = (f"{v:.4g}{self.units}" for v in self.extent)
            gap = max(cols - len(lo) - len(hi), 1)
            text.append(lo + " " * gap + hi, style="dim")
        else:
            text.rstrip()
        return text
