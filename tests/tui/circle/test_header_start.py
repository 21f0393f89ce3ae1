"""The app on a real mar1200 image with nothing typed but the calibrant: opening the image on
screen 1 takes the header's wavelength (fields show it, the side panel says "from header"), and
the single-ring screen turns the fitted AgBh ring into a distance with the header's wavelength
and pixel size, the same as ``calterm circle IMAGE --calibrant AgBh`` (exact Bragg geometry)."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from calterm.core.circle.fit import fit_ring
from calterm.core.circle.points import working_image
from calterm.core.io.images import load_image, write_image

AGBH_D_A = 58.380
HEADER_WAVELENGTH_A = 1.54179
HEADER_PIXEL_MM = 0.150


def test_mar1200_calibrates_on_the_single_ring_screen_from_its_header(tui, realdata_path, tmp_path):
    mar = str(realdata_path("agbe_60sec_006.mar1200"))
    image = load_image(mar)
    ring = fit_ring(working_image(image.data, image.invalid))
    cx, cy = ring.center
    typed = [(cx + ring.radius * math.cos(a), cy + ring.radius * math.sin(a))
             for a in np.radians(np.arange(0, 360, 45) + 10)]
    start = tmp_path / "start.tif"  # the app opens on another image first, as a user's would
    write_image(start, np.ones((64, 64), np.float32))

    async def go():
        app = tui.open_app([str(start), "--calibrant", "AgBh"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.session.request.wavelength_m == pytest.approx(1e-10)  # the placeholder
            app.screen.query_one("#f-image").value = mar  # typed into screen 1's image field
            await tui.settle(app, pilot)
            await pilot.pause(0.5)
            await tui.settle(app, pilot)
            request = app.session.request
            assert request.image_path == mar and request.wavelength_m == pytest.approx(HEADER_WAVELENGTH_A * 1e-10)
            assert request.from_header == ("wavelength_A",)
            assert app.screen.query_one("#f-wavelength").value == "1.54179"
            side = str(app.screen.query_one("#info").render())
            assert "from header (mar345)" in side and "pixel 150 µm" in side, side
            await pilot.press("6")
            await tui.settle(app, pilot)
            app.screen.query_one("#circle-xy").focus()
            for x, y in typed:
                await pilot.press(*f"{x:.2f},{y:.2f}", "enter")
            app.screen.query_one("#circle-preview").focus()
            await pilot.press("f")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, app.jobs.finished[-1].message
            cal = fit["calibration"]
            expected = fit["radius"] * HEADER_PIXEL_MM / math.tan(2 * math.asin(HEADER_WAVELENGTH_A / (2 * AGBH_D_A)))
            assert cal["distance_mm"] == pytest.approx(expected, rel=1e-6)
            assert fit["radius"] == pytest.approx(ring.radius, abs=0.2)
            assert set(cal["from_header"]) == {"wavelength_A", "pixel_size_um"}
            assert cal["header_distance_mm"] == 400.0  # the header's own, which the ring contradicts
            text = tui.screen_text(app)
            assert f"distance {cal['distance_mm']:.1f} mm" in text and "from header" in text, text

    asyncio.run(go())
