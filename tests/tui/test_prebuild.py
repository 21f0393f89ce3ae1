"""The results screen is built while the app is idle after start-up, not when a calibration ends:
the switch after the job finds that screen (no second build) and does not reparse the stylesheet;
a theme changed meanwhile is still applied at the switch."""

from __future__ import annotations

import asyncio

from textual.color import Color

from calterm.tui.prebuild import built


def test_results_screen_prebuilt_after_start_and_reused_by_the_calibration(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.current_mode == "parameters" and built(app, "results")
            prebuilt = app._screen_stacks["results"][0]
            reparsed: list = []
            refresh_css = app.refresh_css
            app.refresh_css = lambda *a, **k: (reparsed.append(1), refresh_css(*a, **k))
            await pilot.press("c")
            await tui.settle(app, pilot)
            assert app.current_mode == "results" and app.screen is prebuilt
            assert reparsed == []  # its styles were current: the switch did not reparse every rule
            assert app.session.result is not None
            assert "no calibration for this image" not in tui.screen_text(app)

    asyncio.run(go())


def test_a_theme_changed_after_the_prebuild_is_applied_at_the_switch(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert built(app, "results")
            before = app.get_css_variables()["background"]
            app.theme = next(t for t in app.available_themes
                             if app.get_theme(t).to_color_system().generate()["background"] != before)
            await pilot.pause(0.1)
            await pilot.press("5")
            await tui.settle(app, pilot)
            screen = app.screen
            assert app.current_mode == "results"
            assert screen._css_update_count == app._css_update_count
            assert screen.styles.background == Color.parse(app.get_css_variables()["background"])
            assert Color.parse(before) != screen.styles.background

    asyncio.run(go())
