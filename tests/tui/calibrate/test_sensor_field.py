"""Screen 1's sensor and spline fields: parsed by the command line's parser, red when invalid."""

from __future__ import annotations

import asyncio


async def _type(pilot, app, selector: str, text: str) -> None:
    field = app.screen.query_one(selector)
    field.focus()
    field.value = ""
    await pilot.press(*text)
    await pilot.pause(0.05)


def test_sensor_field_sets_the_parallax_model(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 30)) as pilot:
            await tui.settle(app, pilot)
            await _type(pilot, app, "#f-sensor", "si,450")
            assert tuple(app.session.request.sensor) == ("Si", 450.0)
            await pilot.press("end", "x")  # "si,450x": red, the last valid sensor stays
            await pilot.pause(0.05)
            assert app.screen.query_one("#f-sensor").has_class("-invalid-value")
            assert tuple(app.session.request.sensor) == ("Si", 450.0)
            await _type(pilot, app, "#f-spline", "/nonexistent.spline")
            assert app.screen.query_one("#f-spline").has_class("-invalid-value")
            assert app.session.request.spline_path is None

    asyncio.run(go())
