"""Single ring: typed points around the demo's first ring (one of them misplaced) -> circle fit ->
centre and radius against the true geometry; residual/history tables; history CSV export."""

from __future__ import annotations

import asyncio
import csv
import math
from pathlib import Path

import numpy as np

from calterm.core.common.calibrants import load_calibrant
from calterm.core.simulate.powder import demo_case, make_detector


def test_typed_points_circle_fit_and_export(tui):
    case = demo_case()
    det = make_detector(case)
    geo = case.geometry
    cx, cy = geo.beam_center_px(det)
    radius = geo.dist * math.tan(float(load_calibrant("LaB6").two_theta_rad(geo.wavelength)[0])) / det.pixel1
    rng = np.random.default_rng(1)
    phis = np.radians(np.arange(0, 360, 40) + 7)
    typed = [(cx + (radius + rng.uniform(-2, 2)) * math.cos(p), cy + (radius + rng.uniform(-2, 2)) * math.sin(p))
             for p in phis]
    typed.append((cx + radius + 25, cy))  # a misplaced click

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("6")
            await tui.settle(app, pilot)
            app.screen.query_one("#circle-xy").focus()
            for x, y in typed:
                await pilot.press(*f"{x:.2f},{y:.2f}", "enter")
            assert len(app.session.circle_points) == len(typed)
            app.screen.query_one("#circle-preview").focus()
            await pilot.press("f")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, app.jobs.finished[0].message
            assert math.hypot(fit["center"][0] - cx, fit["center"][1] - cy) < 1.5
            assert abs(fit["radius"] - radius) < 1.5
            assert len(typed) - 1 in fit["rejected"]
            assert "radius" in tui.screen_text(app)
            await pilot.press("e")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await tui.settle(app, pilot)
            rows = list(csv.reader(Path(app.session.outputs["circle_history"]).read_text().splitlines()))
            assert len(rows) == fit["iterations"] + 1

    asyncio.run(go())
