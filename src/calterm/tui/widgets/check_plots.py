"""The results' Plots tab: the checks that a geometry is right, one at a time and full size, so
each reads at 80x24: residuals against azimuth (per ring), the integrated 1D pattern with the
calibrant's ring ticks, the cake (χ against 2θ, log intensity, rings marked), and the
optimization history (the cost, then each free parameter, by iteration).

A line above the plot names every plot with the shown one highlighted (reverse video, so it reads
without colour) and the keys that step through them; the screen binds the keys.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Static

from calterm.tui.widgets.cake_plot import CakePlot
from calterm.tui.widgets.history_plot import HistoryPlot, free_parameters
from calterm.tui.widgets.pattern_plot import PatternPlot
from calterm.tui.widgets.residual_plot import ResidualPlot

CHECKS = ("residuals", "pattern", "cake")
WIDGET = {"residuals": "residual-plot", "pattern": "pattern-plot", "cake": "cake"}
SHORT = {"wavelength": "λ"}  # the tab line is one row at 80 columns
KEYS = "[ ]"


def ring_straightness_deg(intensity: np.ndarray, tth_deg: np.ndarray, ring_deg: float,
                          half_width_deg: float = 0.3) -> float:
    """Spread (std over χ rows) of a ring's 2θ centroid in a cake: ~0 when the ring is a straight line.

    Rows without signal near the ring (gaps, masked sectors) are left out; NaN if fewer than 3 remain.
    """
    sel = np.abs(tth_deg - ring_deg) <= half_width_deg
    block = np.nan_to_num(np.asarray(intensity, float)[:, sel], nan=0.0)
    block = block - block.min(axis=1, keepdims=True)
    weight = block.sum(axis=1)
    ok = weight > 0.2 * np.median(weight[weight > 0]) if (weight > 0).any() else weight > 0
    if ok.sum() < 3:
        return float("nan")
    centroid = (block[ok] * tth_deg[sel]).sum(axis=1) / weight[ok]
    return float(np.std(centroid))


def tab_line(views: list[str], view: str) -> Text:
    """``[ ] residuals pattern cake │ history: cost dist …`` (78 columns with every parameter free), with ``view`` in reverse video."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(KEYS, style="bold")
    for name in views:
        if name == "cost":
            text.append(" │ history:")
        text.append(" ")
        text.append(SHORT.get(name, name), style="reverse bold" if name == view else "")
    return text


def _edges(centres) -> tuple[float, float]:
    """The outer edges of evenly spaced bin centres (pyFAI gives the cake's χ as centres)."""
    c = np.asarray(centres, float)
    half = (c[-1] - c[0]) / (2 * (c.size - 1)) if c.size > 1 else 0.5
    return float(c[0] - half), float(c[-1] + half)


class CheckPlots(Vertical):
    DEFAULT_CSS = """
    CheckPlots { height: 1fr; }
    CheckPlots #plot-tabs { height: 1; padding: 0 1; }
    CheckPlots ContentSwitcher { height: 1fr; }
    CheckPlots ContentSwitcher > * { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = self.wanted = "residuals"
        self.pattern = None
        self.cake = None
        self.free: list[str] = []

    @property
    def views(self) -> list[str]:
        """Every plot in stepping order: the three checks, the cost, each free parameter."""
        return [*CHECKS, "cost", *self.free]

    def compose(self) -> ComposeResult:
        yield Static(tab_line(self.views, self.view), id="plot-tabs")
        with ContentSwitcher(initial="residual-plot"):
            yield ResidualPlot(id="residual-plot")
            yield PatternPlot(id="pattern-plot")
            yield CakePlot(id="cake", title="cake: χ ↓ against 2θ (°) →, log I; ▼ calibrant rings")
            yield HistoryPlot(id="history-plot")

    def on_mount(self) -> None:
        self.set_view(self.wanted)

    def computing(self) -> None:
        self.query_one(PatternPlot).show(message="integrating the 1D pattern…")
        self.query_one(CakePlot).show(message="computing the cake…")

    def show_pattern(self, pattern) -> None:
        self.pattern = pattern
        self.query_one(PatternPlot).show(pattern.tth_deg, pattern.intensity, pattern.ring_tth_deg)

    def show_cake(self, cake) -> None:
        self.cake = cake
        spreads = [ring_straightness_deg(cake.intensity, cake.tth_deg, r) for r in cake.ring_tth_deg[:3]]
        spreads = [s for s in spreads if np.isfinite(s)]
        wander = f"; rings wander {np.radians(max(spreads)) * 1e3:.2f} mrad over χ" if spreads else ""
        empty = np.asarray(cake.intensity) == 0  # pyFAI's value for a (χ, 2θ) bin no pixel reaches
        self.query_one(CakePlot).show(np.where(empty, np.nan, cake.intensity), markers=cake.ring_tth_deg,
                                      title=f"cake: χ (°) ↓ 2θ (°) →, log I; ▼ rings{wander}",
                                      extent=(float(cake.tth_deg[0]), float(cake.tth_deg[-1])), units="°",
                                      chi_extent=_edges(cake.chi_deg),
                                      reduce="max", log=True, square=False, percentiles=(25.0, 99.5))

    def show_history(self, history, sigma: dict | None = None) -> None:
        """The result's history (None: none); the free parameters join the plots to step through."""
        self.free = [] if history is None else free_parameters(history, sigma)
        self.query_one(HistoryPlot).show(history)
        self.set_view(self.wanted)

    def failed(self, message: str) -> None:
        self.pattern = self.cake = None
        self.query_one(PatternPlot).show(message=message)
        self.query_one(CakePlot).show(message=message)

    def set_view(self, view: str) -> None:
        """Show ``view`` full size: a name of :attr:`views`, or a parameter not free (yet) whose
        place the residuals take until a history with it arrives."""
        self.wanted = view
        view = view if view in self.views else CHECKS[0]
        self.view = view
        switchers = self.query(ContentSwitcher)
        if not switchers:  # asked before this widget composed (the screen mounts first): on_mount applies it
            return
        switcher = switchers.first()
        if view in WIDGET:
            switcher.current = WIDGET[view]
        else:
            self.query_one(HistoryPlot).set_series(view)
            switcher.current = "history-plot"
        self.query_one("#plot-tabs", Static).update(tab_line(self.views, view))

    def step(self, by: int) -> str:
        """Show the next (``by`` = 1) or previous (-1) plot, wrapping around; returns its name."""
        views = self.views
        i = views.index(self.view) if self.view in views else 0
        self.set_view(views[(i + by) % len(views)])
        return self.view
