"""Each plot of the Plots tab alone in an 80x24 (and a 44-column) terminal: it fills its area and
its axes show exactly the tick helper's labels, each a separate word (none dropped, none merged
with a neighbour), drawn by the real plotext through textual-plotext."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from textual.app import App

from calterm.core.common.history import History
from calterm.tui.widgets.cake_plot import CakePlot
from calterm.tui.widgets.gain_profile_plot import GainProfilePlot
from calterm.tui.widgets.history_plot import HistoryPlot, free_parameters
from calterm.tui.widgets.pattern_plot import PatternPlot
from calterm.tui.widgets.residual_plot import ResidualPlot

FRAME = "┌┐└┘─┬┴┼│┤├"


def widget_lines(app, widget) -> list[str]:
    """The cells the widget occupies on screen, as text rows."""
    strips = app.screen._compositor.render_strips()
    r = widget.region
    return [strips[y].text[r.x:r.x + r.width] for y in range(r.y, r.y + r.height)]


def axis_words(lines: list[str]) -> tuple[list[str], list[str]]:
    """(x labels, y labels top to bottom) of a plotext plot: the row under the frame's bottom, and
    what stands left of the frame's left side."""
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    left = lines[bottom].index("└")
    ys = [line[:left].strip() for line in lines[top + 1:bottom]]
    return lines[bottom + 1].split(), [y for y in ys if y]


def demo_history() -> History:
    h = History(("iteration", "stage", "dist", "poni1", "rot1", "wavelength", "cost"))
    for i in range(40):
        stage = "first" if i < 15 else "refine"
        h.add(iteration=i, stage=stage, dist=0.18 + 2e-5 * np.exp(-i / 5), poni1=0.0804512 + 7e-10 * (i % 3),
              rot1=1e-3 * (1 - np.exp(-i / 8)), wavelength=0.3344e-10, cost=1e-5 * np.exp(-i / 4) + 3e-7)
    return h


def make(kind: str):
    rng = np.random.default_rng(0)
    if kind == "residuals":
        w = ResidualPlot(id="plot")
        az = rng.uniform(-180, 180, 3000)
        w.show(az, 2.7 * np.sin(np.radians(az)) * rng.uniform(0.5, 1, az.size), rng.integers(1, 20, az.size))
    elif kind == "pattern":
        w = PatternPlot(id="plot")
        tth = np.linspace(0.035, 35.04, 1500)
        rings = [4.1, 5.8, 7.1, 8.2, 9.2, 10.1, 11.8, 12.5, 14.5, 20.3, 30.0]
        w.show(tth, 50 + sum(3e4 * np.exp(-((tth - r) / 0.05) ** 2) for r in rings), rings)
    elif kind.startswith("history"):
        w = HistoryPlot(id="plot")
        w.show(demo_history(), series=kind.split(":")[1])
    elif kind == "gain":
        w = GainProfilePlot(id="plot")
        tth = np.linspace(2.0, 41.5, 400)
        expected = 1e3 / (1 + (tth / 20) ** 2)
        w.show({"tth_deg": tth.tolist(), "expected": expected.tolist(),
                "per_position": [(expected * (1 + 0.02 * k) + rng.normal(0, 5, tth.size)).tolist() for k in range(3)]},
               tth_range=(3.5, 38.2))
    else:
        w = CakePlot(id="plot", title="cake")
        w.show(rng.uniform(0, 100, (360, 500)), markers=[4.1, 5.8, 7.1], extent=(0.035, 35.04), units="°",
               log=True, square=False, chi_extent=(-180.0, 180.0))
    return w


class One(App):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):
        yield self.widget


KINDS = ["residuals", "pattern", "cake", "gain", "history:cost", "history:dist", "history:poni1", "history:rot1"]


@pytest.mark.parametrize("width", [80, 44])
@pytest.mark.parametrize("kind", KINDS)
def test_each_plot_fills_the_terminal_with_unmerged_ticks(kind, width):
    async def go():
        widget = make(kind)
        app = One(widget)
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.pause()
            assert tuple(widget.outer_size) == (width, 24)  # the plot fills its area
            lines = widget_lines(app, widget)
            if isinstance(widget, CakePlot):
                assert widget.ticks is not None and len(widget.ticks.values) >= 3
                assert lines[-2].strip("│ ").split() == list(widget.ticks.labels)
                # χ down the left edge (main: no χ labels at all): every 90°, at its row
                rows = lines[2:-2]  # under the border and the ring marks, above the 2θ axis
                chi = {i: line[1:5].strip() for i, line in enumerate(rows) if line[1:5].strip()}
                assert list(chi.values()) == ["-180", "-90", "0", "90", "180"], chi
                n = len(rows)
                for row, label in chi.items():
                    centre = -180 + 360 * (row + 0.5) / n
                    assert abs(centre - float(label)) <= 360 / n, (row, label, n)
                return
            xt, yt = widget.ticks
            xs, ys = axis_words(lines)
            assert xs == list(xt.labels), (xs, xt.labels)
            assert ys == [s.strip() for s in reversed(yt.labels)], (ys, yt.labels)
            assert len(xt.values) >= 3 and len(yt.values) >= 3
            for word in xs + ys:  # every label is one number: "3.640.0" cannot parse
                float(word)

    asyncio.run(go())


def test_history_units_and_free_parameters():
    h = demo_history()
    assert free_parameters(h) == ["dist", "poni1", "rot1"]  # the wavelength stayed put
    assert free_parameters(h, {"wavelength": 1e-14}) == ["dist", "poni1", "rot1", "wavelength"]
    plot = HistoryPlot()
    plot.show(h, series="dist")
    assert plot.values()[1][0] == pytest.approx((0.18 + 2e-5) * 1e3)  # mm
    plot.set_series("rot1")
    assert plot.values()[1][-1] == pytest.approx(1 - np.exp(-39 / 8))  # mrad


def test_thinning_keeps_every_cell_and_every_peak():
    async def go():
        widget = make("residuals")
        app = One(widget)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            rng = np.random.default_rng(2)
            x, y = rng.uniform(-180, 180, 9000), rng.normal(0, 0.8, 9000)
            keep = widget.one_per_cell(x, y)
            assert keep.size < x.size / 5  # far fewer points for plotext...
            assert set(widget.cells_of(x[keep], y[keep])) == set(widget.cells_of(x, y))  # ...on the same cells

    asyncio.run(go())
    from calterm.tui.widgets.ticked_plot import envelope

    tth = np.linspace(0, 35, 2000)
    y = 50 + sum(3e4 * np.exp(-((tth - r) / 0.02) ** 2) for r in (4.1, 12.34, 30.0))
    ex, ey = envelope(tth, y, 75)
    assert ex.size <= 150 and np.all(np.diff(ex) > 0)
    for r in (4.1, 12.34, 30.0):  # each narrow peak keeps its top, where it is
        near = np.abs(ex - r) < 0.3
        assert ey[near].max() == pytest.approx(y[np.abs(tth - r) < 0.3].max())


def test_check_plots_steps_and_keeps_a_parameter_until_its_history_arrives():
    from rich.text import Text

    from calterm.tui.widgets.check_plots import CheckPlots, tab_line

    async def go():
        plots = CheckPlots(id="check-plots")
        app = One(plots)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert plots.view == "residuals" and plots.views == ["residuals", "pattern", "cake", "cost"]
            plots.set_view("rot1")  # a resumed session's last plot: no history yet
            assert plots.view == "residuals"
            plots.show_history(demo_history())
            await pilot.pause()
            assert plots.view == "rot1" and plots.query_one(HistoryPlot).series == "rot1"
            assert plots.query_one("ContentSwitcher").current == "history-plot"
            assert [plots.step(1) for _ in range(3)] == ["residuals", "pattern", "cake"]
            assert plots.step(-1) == "pattern"

    asyncio.run(go())
    line = tab_line(["residuals", "pattern", "cake", "cost", "dist", "wavelength"], "cake")
    assert isinstance(line, Text) and line.plain == "[ ] residuals pattern cake │ history: cost dist λ"
    marked = [line.plain[s.start:s.end] for s in line.spans if "reverse" in str(s.style)]
    assert marked == ["cake"]  # the shown plot in reverse video: readable without colour
