"""The align screen in the app's one unit system (issue 15, item 5): its numbers are pixels (shifts,
σ, centre, RMS), which keep their unit in PONI units too; its wavelength is typed in the system's
unit. A ring fit run with λ typed in metres reads it exactly as the parser's Å, and ``u`` back and
forth changes the field's text and label, never the table or the value kept."""

from __future__ import annotations

import asyncio
import math

import numpy as np

from calterm.core.common.geometry import PoniGeometry, poni_text
from calterm.core.simulate.panels import render_panels
from calterm.core.simulate.powder import SyntheticCase, make_detector

P = 100e-6


def test_align_wavelength_typed_in_metres_and_pixels_kept_across_the_toggle(tui, isolated_home):
    from calterm.core.common.panel_layouts import quadrants

    det = make_detector(SyntheticCase(None, "CeO2", PoniGeometry(0.1, 0, 0), shape=(256, 256), pixel_size_um=100))
    geo = PoniGeometry(0.05, 131.2 * P, 125.3 * P, math.radians(1.2), math.radians(0.9), 0.0, 0.5e-10)
    image = render_panels(geo, det, "CeO2", quadrants(det.shape), {"top-right": (1.5, -0.8)}, resolution_deg=0.12,
                          seed=2)
    np.save(isolated_home / "powder.npy", image)
    (isolated_home / "calib.poni").write_text(poni_text(geo, det))

    async def toggle(app, pilot, units):
        app.set_focus(None)
        await pilot.press("u")
        await pilot.pause(0.3)
        assert app.session.units == units

    def label(screen) -> str:
        return str(screen.query_one("#label-wavelength").render())

    def rows(table) -> list[list[str]]:
        return [[str(c) for c in table.get_row_at(k)] for k in range(table.row_count)]

    async def go():
        app = tui.open_app([str(isolated_home / "powder.npy"), "--calibrant", "CeO2"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("9")
            await tui.settle(app, pilot)
            screen = app.screen
            assert label(screen) == "λ Å"
            await toggle(app, pilot, "poni")
            assert label(screen) == "λ m"
            screen.query_one("#f-poni").value = str(isolated_home / "calib.poni")
            screen.query_one("#f-calibrant").value = "CeO2"
            screen.query_one("#f-wavelength").value = "5e-11"  # 0.5 Å, typed in metres
            await pilot.pause(0.1)
            assert screen.state["inputs"]["wavelength"] == "0.5" and screen.values()["wavelength"] == "0.5"
            app.set_focus(None)
            await pilot.press("r")
            await tui.settle(app, pilot, timeout=180)
            run = screen.aligned["run"]
            assert run.method == "ring fit" and run.sources.wavelength_A == 0.5  # the parser's Å, exactly
            assert {p.name for p in run.fit.panels if p.significant} == {"top-right"}
            table = screen.query_one("#align-table")
            shown = rows(table)
            moved = next(p for p in run.fit.panels if p.name == "top-right")
            assert ["top-right !", f"{moved.shift[0]:+.3f}", f"{moved.shift[1]:+.3f}", f"{moved.sigma[0]:.3f}",
                    f"{moved.sigma[1]:.3f}"] in shown  # pixels, in PONI units as in mm
            summary = tui.screen_text(app)
            assert f"{run.fit.rms_px:.3f} px RMS" in summary
            await toggle(app, pilot, "mm")
            assert label(screen) == "λ Å" and screen.query_one("#f-wavelength").value == "0.5"
            assert rows(table) == shown and f"{run.fit.rms_px:.3f} px RMS" in tui.screen_text(app)
            await toggle(app, pilot, "poni")
            assert label(screen) == "λ m" and screen.query_one("#f-wavelength").value == "5e-11"
            assert rows(table) == shown and screen.values()["wavelength"] == "0.5"
            await pilot.press("ctrl+q")

    asyncio.run(go())
