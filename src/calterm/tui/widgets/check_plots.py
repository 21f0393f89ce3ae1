"""The results' Plots tab: residuals against azimuth, the integrated 1D pattern with the calibrant's
ring ticks, and the cake (χ against 2θ, log intensity, rings marked), the three checks that a
geometry is right. At 80x24 all three share the tab; ``v`` cycles to one of them alone, full size.
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.containers import Vertical

from calterm.tui.widgets.density_map import DensityMap
from calterm.tui.widgets.pattern_plot import PatternPlot
from calterm.tui.widgets.residual_plot import ResidualPlot

VIEWS = ("all", "pattern", "cake", "residuals")


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


class CheckPlots(Vertical):
    DEFAULT_CSS = """
    CheckPlots { height: 1fr; }
    CheckPlots ResidualPlot { height: 1fr; min-height: 4; }
    CheckPlots PatternPlot { height: 1fr; min-height: 4; }
    CheckPlots #cake { height: 2fr; min-height: 6; }
    CheckPlots.-only-pattern ResidualPlot, CheckPlots.-only-pattern #cake,
    CheckPlots.-only-cake ResidualPlot, CheckPlots.-only-cake PatternPlot,
    CheckPlots.-only-residuals PatternPlot, CheckPlots.-only-residuals #cake { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = "all"
        self.pattern = None
        self.cake = None

    def compose(self) -> ComposeResult:
        yield ResidualPlot(id="residual-plot")
        yield PatternPlot(id="pattern-plot")
        yield DensityMap(id="cake", title="cake: χ ↓ against 2θ →, log I; ▼ calibrant rings")

    def computing(self) -> None:
        self.query_one(PatternPlot).show(message="integrating the 1D pattern…")
        self.query_one(DensityMap).show(message="computing the cake…")

    def show_pattern(self, pattern) -> None:
        self.pattern = pattern
        self.query_one(PatternPlot).show(pattern.tth_deg, pattern.intensity, pattern.ring_tth_deg)

    def show_cake(self, cake) -> None:
        self.cake = cake
        spreads = [ring_straightness_deg(cake.intensity, cake.tth_deg, r) for r in cake.ring_tth_deg[:3]]
        spreads = [s for s in spreads if np.isfinite(s)]
        wander = f"; rings wander {max(spreads) * 1e3:.1f} m° over χ" if spreads else ""
        empty = np.asarray(cake.intensity) == 0  # pyFAI's value for a (χ, 2θ) bin no pixel reaches
        self.query_one(DensityMap).show(np.where(empty, np.nan, cake.intensity), markers=cake.ring_tth_deg,
                                        title=f"cake: χ ↓ 2θ →, log I; ▼ rings{wander}",
                                        extent=(float(cake.tth_deg[0]), float(cake.tth_deg[-1])), units="°",
                                        reduce="max", log=True, square=False, percentiles=(25.0, 99.5))

    def failed(self, message: str) -> None:
        self.query_one(PatternPlot).show(message=message)
        self.query_one(DensityMap).show(message=message)

    def set_view(self, view: str) -> None:
        for v in VIEWS[1:]:
            self.set_class(view == v, f"-only-{v}")
        self.view = view

    def cycle_view(self) -> str:
        self.set_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])
        return self.view
