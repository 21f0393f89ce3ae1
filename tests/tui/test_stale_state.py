"""Results remember the inputs they came from: opening another image (ctrl+o) or changing an input a
result depends on takes the result off every screen, visibly; a resumed session shows only results
that still belong to its image.

The seam this guards: after calibrating the demo and opening another image, screen 5 kept the old
table and "verdict: good" under "no calibration yet", screen 2 kept drawing the demo's predicted
rings over the new image, and screen 6 the old single-ring fit; ``--resume`` restored that mix."""

from __future__ import annotations

import asyncio
import math

import numpy as np

from calterm.core.common.calibrants import load_calibrant
from calterm.core.simulate.powder import demo_case, make_detector


def _ring_points(n: int = 9):
    case = demo_case()
    det = make_detector(case)
    geo = case.geometry
    cx, cy = geo.beam_center_px(det)
    radius = geo.dist * math.tan(float(load_calibrant("LaB6").two_theta_rad(geo.wavelength)[0])) / det.pixel1
    phis = np.radians(np.arange(0, 360, 360 / n) + 7)
    return [(cx + radius * math.cos(p), cy + radius * math.sin(p)) for p in phis]


async def _calibrate_and_fit_circle(app, pilot, tui):
    """Calibrate the demo (screen 5 shows it) and fit its first ring (screen 6 shows it)."""
    await tui.settle(app, pilot)
    await pilot.press("c")
    await tui.settle(app, pilot)
    assert app.current_mode == "results" and app.session.result is not None
    assert "verdict: good" in tui.screen_text(app)
    await pilot.press("6")
    await tui.settle(app, pilot)
    app.screen.query_one("#circle-xy").focus()
    for x, y in _ring_points():
        await pilot.press(*f"{x:.2f},{y:.2f}", "enter")
    app.screen.query_one("#circle-preview").focus()
    await pilot.press("f")
    await tui.settle(app, pilot)
    assert app.session.circle_result is not None
    assert "radius" in tui.screen_text(app)


async def _open(app, pilot, tui, path) -> None:
    await pilot.press("ctrl+o")
    await pilot.pause(0.2)
    field = app.screen.query_one("#answer")
    field.value = str(path)
    await pilot.press("enter")
    await tui.settle(app, pilot)


def test_open_another_image_takes_old_results_off_every_screen(tui, rendered):
    other = rendered("pilatus").path

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await _calibrate_and_fit_circle(app, pilot, tui)
            await _open(app, pilot, tui, other)
            assert app.session.request.image_path == str(other)

            await pilot.press("5")
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert "no calibration for this image" in text
            assert "verdict" not in text and "RMS" not in text
            assert app.screen.query_one("#ring-table").row_count == 0
            assert app.screen.query_one("#point-table").row_count == 0

            await pilot.press("2")
            await tui.settle(app, pilot)
            preview = app.screen.query_one("#preview")
            # the rings drawn are the ones the new image's start values predict, not the demo's fit
            assert preview.image is not None and preview.image.shape == (1043 // 2, 981 // 2)
            assert preview.rings is not None and preview.rings.tth_grid.shape == (
                math.ceil(preview.image.shape[0] / preview.rings.step),
                math.ceil(preview.image.shape[1] / preview.rings.step))

            await pilot.press("6")
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert "radius" not in text and "0 points" in text
            assert app.screen.query_one("#circle-points").row_count == 0
            assert app.session.circle_result is None and app.session.circle_points == ()

    asyncio.run(go())
