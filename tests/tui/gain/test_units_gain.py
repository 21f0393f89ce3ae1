"""The gain screen in the app's one unit system (issue 15, item 5): 2θ (the range field, the summary,
the profiles' axis and extrapolation marks) in degrees, or in radians after ``u`` (PONI units), and
back with ``u`` again, from one real computation of a small synthetic experiment (8x8 binned). A
range typed in radians is read as the parser's degrees and comes back as typed after two toggles."""

from __future__ import annotations

import asyncio
import math

import numpy as np

from calterm.core.simulate.amorphous import GainCase, write_case


def test_gain_two_theta_follows_the_unit_toggle(tui, isolated_home):
    write_case(GainCase(binning=8, seed=3), isolated_home / "gain")

    async def toggle(app, pilot, units):
        app.set_focus(None)
        await pilot.press("u")
        await pilot.pause(0.3)
        assert app.session.units == units

    async def tab(app, pilot, name):
        app.screen.query_one("#gain-tabs").active = name
        await pilot.pause(0.3)
        return tui.screen_text(app)

    async def go():
        app = tui.open_app(["--output-dir", str(isolated_home)])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("0")
            await tui.settle(app, pilot)
            screen = app.screen
            screen.query_one("#f-folder").focus()
            await pilot.press(*"gain", "enter")
            await pilot.pause(0.2)
            assert len(screen.positions) == 5
            app.set_focus(None)
            await pilot.press("r")
            await tui.settle(app, pilot)
            computed = screen.computed
            assert computed is not None, app.jobs.finished[-1].message
            lo, hi = computed["result"].tth_range
            plot = screen.query_one("#gain-plot")
            tth_deg = np.asarray(plot.profile["tth_deg"], float)
            label = screen.query_one("#label-range")

            async def shows_degrees():
                assert "2θ (°)" in await tab(app, pilot, "gain-profiles")
                assert np.allclose(plot.tth(), tth_deg, rtol=1e-12, atol=0)
                assert f"range {lo:.3f}-{hi:.3f}°" in await tab(app, pilot, "gain-map")
                assert str(label.render()) == "Range 2θ°"

            await shows_degrees()
            await toggle(app, pilot, "poni")
            assert "2θ (rad)" in await tab(app, pilot, "gain-profiles")
            assert f"extrapolation range {math.radians(lo):.4f}-{math.radians(hi):.4f} rad" in tui.screen_text(app)
            assert np.allclose(plot.tth(), np.radians(tth_deg), rtol=1e-12, atol=0)
            assert f"range {math.radians(lo):.5f}-{math.radians(hi):.5f} rad" in await tab(app, pilot, "gain-map")
            assert str(label.render()) == "Range 2θ rad"
            await tab(app, pilot, "gain-setup")
            screen.query_one("#f-range").value = "0.1,0.5"  # typed in radians
            await pilot.pause(0.1)
            kept = screen.values()["range"]
            assert [float(v) for v in kept.split(",")] == [math.degrees(0.1), math.degrees(0.5)]  # the parser's °
            await toggle(app, pilot, "mm")
            await shows_degrees()
            assert screen.query_one("#f-range").value == kept and screen.values()["range"] == kept
            await toggle(app, pilot, "poni")
            assert screen.query_one("#f-range").value == "0.1,0.5" and screen.values()["range"] == kept
            await pilot.press("ctrl+q")

    asyncio.run(go())
