"""Results, Plots tab: after calibrating the demo, the plots come one at a time, full size, at
80x24: residuals by azimuth first, then (``]``) the 1D pattern with its peaks on the calibrant's
ticks, the cake with straight rings, the cost and each free parameter by iteration; every axis
shows the tick helper's labels as separate words. A wrong geometry bends the cake's rings (the
check can fail)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np

import calterm.core.calibrate.pipeline  # noqa: F401  an engine that cannot import fails, never skips
from calterm.tui.widgets.check_plots import ring_straightness_deg
from calterm.tui.widgets.density_map import RAMP


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def widget_lines(app, widget) -> list[str]:
    r = widget.region
    return [line[r.x:r.x + r.width] for line in screen_lines(app)[r.y:r.y + r.height]]


def axis_words(lines: list[str]) -> tuple[list[str], list[str]]:
    """(x labels, y labels top to bottom) of a plotext plot."""
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    left = lines[bottom].index("└")
    return lines[bottom + 1].split(), [w for w in (line[:left].strip() for line in lines[top + 1:bottom]) if w]


def assert_full_size_with_helper_ticks(app, plots, widget):
    """The plot is the only one shown, fills the area under the plot line, and its axes show the
    helper's labels, each one number."""
    switcher = plots.query_one("ContentSwitcher")
    assert switcher.current == widget.id and widget.display
    assert widget.outer_size == switcher.size and widget.outer_size.width == 80
    assert widget.outer_size.height >= 15  # 24 rows less header, tab bar, tabs, plot line, footers
    xt, yt = widget.ticks
    xs, ys = axis_words(widget_lines(app, widget))
    assert xs == list(xt.labels) and ys == [s.strip() for s in reversed(yt.labels)], (xs, ys, xt, yt)
    assert len(xs) >= 3 and len(ys) >= 3, (widget.id, getattr(widget, "series", ""), yt, widget.size)
    for word in xs + ys:
        float(word)  # one number per label: merged labels ("3.640.0") do not parse


def test_plots_one_at_a_time_full_size(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("c")
            await tui.settle(app, pilot)
            assert app.current_mode == "results"
            await pilot.press("v")  # opens the Plots tab
            await tui.settle(app, pilot)
            screen = app.screen
            assert screen.query_one("#tabs").active == "tab-plots"
            plots = screen.query_one("#check-plots")
            residuals = screen.query_one("#residual-plot")
            # by default one plot, full size (before: three plots sharing the tab, 4 rows each)
            assert residuals.outer_size.width == 80 and residuals.outer_size.height >= 15, residuals.outer_size  # 24 rows less header, tab bar, tabs, plot line, footers
            result = app.session.result
            # the plot line names every plot and the keys; the footer shows them too
            line = screen_lines(app)[plots.query_one("#plot-tabs").region.y]
            free = [p for p in ("dist", "poni1", "poni2", "rot1", "rot2", "rot3") if result.sigma.get(p) is not None]
            assert line.split()[:5] == ["[", "]", "residuals", "pattern", "cake"] and free
            assert line.split()[6:] == ["history:", "cost", *free], line
            assert "[] plots" in screen_lines(app)[-1]

            # the default: residuals by azimuth alone, full size
            assert plots.view == "residuals"
            assert_full_size_with_helper_ticks(app, plots, screen.query_one("#residual-plot"))
            assert screen.query_one("#residual-plot").ticks[0].labels == ("-180", "-135", "-90", "-45", "0", "45", "90", "135", "180")

            await pilot.press("right_square_bracket")
            await pilot.pause(0.2)
            assert plots.view == "pattern"
            assert_full_size_with_helper_ticks(app, plots, screen.query_one("#pattern-plot"))
            assert "pattern, log10 I" in "\n".join(screen_lines(app))
            pattern = plots.pattern
            step = float(np.median(np.diff(pattern.tth_deg)))
            for ring in pattern.ring_tth_deg[:4]:  # every strong peak sits on a calibrant tick
                near = np.abs(pattern.tth_deg - ring) < 0.3
                peak = pattern.tth_deg[near][np.argmax(pattern.intensity[near])]
                assert abs(peak - ring) < 2 * step + 0.01, (ring, peak)

            await pilot.press("right_square_bracket")
            await pilot.pause(0.2)
            assert plots.view == "cake"
            cake = plots.cake
            assert cake.intensity.shape == (360, 500) and len(cake.ring_tth_deg) >= 3
            spreads = [ring_straightness_deg(cake.intensity, cake.tth_deg, r) for r in cake.ring_tth_deg[:3]]
            assert np.nanmax(spreads) < 0.01, spreads  # the rings are straight lines
            view = screen.query_one("#cake")
            assert view.outer_size == plots.query_one("ContentSwitcher").size
            assert view.size.height >= 13 and view.size.width >= 70
            cells = view.cells()
            assert (cells >= 0).mean() > 0.5 and cells.max() == len(RAMP) - 1
            assert len(view.marker_columns(cells.shape[1])) >= 3
            lines = widget_lines(app, view)
            assert f"rings wander {np.radians(np.nanmax(spreads)) * 1e3:.2f} mrad" in lines[0] and "▼" in lines[1]
            assert lines[-2].strip("│ ").split() == list(view.ticks.labels) and len(view.ticks.labels) >= 5

            # the history: the cost, then each free parameter, by iteration
            history = screen.query_one("#history-plot")
            for series in ("cost", *free):
                await pilot.press("right_square_bracket")
                await pilot.pause(0.2)
                assert plots.view == series and history.series == series
                assert_full_size_with_helper_ticks(app, plots, history)
                x, y = history.values()
                column = [row[result.history.columns.index(series)] for row in result.history.rows]
                scale = 1.0 if series == "cost" else 1e3  # mm, mrad
                assert x.size == len(result.history.rows) and np.allclose(y, np.asarray(column) * scale)
            await pilot.press("right_square_bracket")  # wraps around
            await pilot.pause(0.2)
            assert plots.view == "residuals"
            await pilot.press("left_square_bracket", "left_square_bracket")
            await pilot.pause(0.2)
            assert plots.view == free[-2]
            # from another tab, ] opens the Plots tab on the plot shown last
            screen.query_one("#tabs").active = "tab-geometry"
            await pilot.pause(0.1)
            await pilot.press("right_square_bracket")
            await pilot.pause(0.2)
            assert screen.query_one("#tabs").active == "tab-plots" and plots.view == free[-2]
            await pilot.press("ctrl+q")
        assert app.session.tools["results"]["plot_view"] == free[-2]

        # a geometry 0.5 mm off the result bends the rings: the same measure sees it
        from calterm.core.calibrate.integrate import cake as make_cake
        from calterm.tui.screens.calibrate.results import with_detector

        request = app.session.effective_request()
        off = replace(with_detector(result, request), geometry=replace(result.geometry, poni1=result.geometry.poni1 + 5e-4))
        bent = make_cake(off, request)
        spreads = [ring_straightness_deg(bent.intensity, bent.tth_deg, r) for r in bent.ring_tth_deg[:3]]
        assert np.nanmax(spreads) > 0.03, spreads

    asyncio.run(go())
