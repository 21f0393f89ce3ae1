"""Results, Plots tab: after calibrating the demo, the 1D pattern has its peaks on the calibrant's
ticks and the cake's rings are straight; a wrong geometry bends them (the check can fail)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np

import calterm.core.calibrate.pipeline  # noqa: F401  an engine that cannot import fails, never skips
from calterm.tui.widgets.check_plots import ring_straightness_deg
from calterm.tui.widgets.density_map import RAMP


def test_pattern_and_cake_show_a_good_geometry(tui):
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
            pattern, cake = plots.pattern, plots.cake
            assert pattern is not None and cake is not None
            assert cake.intensity.shape == (360, 500) and len(cake.ring_tth_deg) >= 3

            # every strong peak of the pattern sits on a calibrant tick
            step = float(np.median(np.diff(pattern.tth_deg)))
            for ring in pattern.ring_tth_deg[:4]:
                near = np.abs(pattern.tth_deg - ring) < 0.3
                peak = pattern.tth_deg[near][np.argmax(pattern.intensity[near])]
                assert abs(peak - ring) < 2 * step + 0.01, (ring, peak)

            # the cake's rings are straight: their 2θ does not wander with χ
            spreads = [ring_straightness_deg(cake.intensity, cake.tth_deg, r) for r in cake.ring_tth_deg[:3]]
            assert np.nanmax(spreads) < 0.01, spreads
            text = tui.screen_text(app)
            assert f"rings wander {np.nanmax(spreads) * 1e3:.1f} m°" in text and "▼" in text
            assert "pattern, log10 I" in text

            # v: the cake alone, full size (readable at 80x24), drawn with the ramp and ring ticks
            await pilot.press("v", "v")  # all -> pattern -> cake
            await pilot.pause(0.2)
            assert plots.view == "cake" and plots.has_class("-only-cake")
            view = screen.query_one("#cake")
            assert view.size.height >= 14 and view.size.width >= 70
            cells = view.cells()
            assert (cells >= 0).mean() > 0.5 and cells.max() == len(RAMP) - 1
            assert len(view.marker_columns(cells.shape[1])) >= 3
            await pilot.press("ctrl+q")
        assert app.session.tools["results"]["plot_view"] == "cake"

        # a geometry 0.5 mm off the result bends the rings: the same measure sees it
        from calterm.core.calibrate.integrate import cake as make_cake
        from calterm.tui.screens.calibrate.results import with_detector

        result = app.session.result
        request = app.session.effective_request()
        off = replace(with_detector(result, request), geometry=replace(result.geometry, poni1=result.geometry.poni1 + 5e-4))
        bent = make_cake(off, request)
        spreads = [ring_straightness_deg(bent.intensity, bent.tth_deg, r) for r in bent.ring_tth_deg[:3]]
        assert np.nanmax(spreads) > 0.03, spreads

    asyncio.run(go())
