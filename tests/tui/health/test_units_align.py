"""The align screen in the app's one unit system (issue 15, item 5): its numbers are pixels (shifts,
σ, centre, RMS), which keep their unit in PONI units too; its wavelength is typed in the system's
unit. A ring fit run with λ typed in metres reads it exactly as the parser's Å, and ``u`` back and
forth changes the field's text and label, never the table or the value kept."""

from __future__ import annotations

import asyncio


def test_align_wavelength_typed_in_metres_and_pixels_kept_across_the_toggle(tui, isolated_home, quadrant_powder):
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
