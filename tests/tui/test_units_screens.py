"""One unit system on every screen (issue 15, item 5), at 80x24: Results' tables, Refine's bounds,
screen 1's start values and the single ring's d-spacing in mm / mrad / ° / Å, every header naming
its unit; ``u`` switches every screen to PONI units (m, rad) and the choice is kept; typed values
are read in the unit shown and converted exactly; the History table's columns are all reachable.

Results come from a real calibration of the demo image (pyFAI), checked against the geometry the
image was rendered with."""

from __future__ import annotations

import asyncio
import json
import math

import numpy as np
import pytest

from calterm.core.simulate.powder import demo_case
from calterm.tui.session import Session, request_key


@pytest.fixture(scope="module")
def calibrated(demo_cache):
    """The demo request and a real calibration of it (about 2 s, once for the module)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALTERM_CACHE", str(demo_cache))
        from calterm.core.calibrate.pipeline import calibrate
        from calterm.core.simulate.demo import demo_request

        request = demo_request()
        return request, calibrate(request)


def _app(calibrated, screen: str = "results", units: str | None = None, image: bool = False, result: bool = True):
    """The app on the calibrated session. Without ``image`` the request names no file on disk: the
    tables do not need the pixels, and the check plots and preview then fail at once instead of
    integrating a 1 Mpx image on every start (each a few seconds on a loaded machine)."""
    from dataclasses import replace

    from calterm.tui.app import CaltermApp

    request, calibration = calibrated
    if not image:
        request = replace(request, image_path=request.image_path + ".not-here.tif")
    session = Session(request=request, screen=screen)
    if units is not None:
        session.units = units  # as a resumed session brings it
    if result:
        session.set_result(calibration, request_key(session.effective_request()))
    return CaltermApp(session)


async def _show(app, pilot, tab: str) -> None:
    app.screen.query_one("#tabs").active = tab
    await pilot.pause(0.2)


def test_results_tables_in_mm_mrad_degrees_then_poni_units(tui, calibrated):
    truth = demo_case().geometry
    _, result = calibrated
    g = result.geometry

    async def go():
        app = _app(calibrated)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert f"distance {g.dist * 1e3:.3f}" in text and "mrad" in text
            await _show(app, pilot, "tab-geometry")
            text = tui.screen_text(app)
            for name, unit, scale, truth_value, tol in (("dist", "mm", 1e3, truth.dist, 0.1),
                                                          ("rot1", "mrad", 1e3, truth.rot1, 0.05),
                                                          ("wavelength", "Å", 1e10, truth.wavelength, 1e-9)):
                shown = f"{getattr(g, name) * scale:.{5 if unit == 'Å' else 4}f}"
                assert f"{name} {unit}" in text and shown in text, (name, text)
                assert abs(float(shown) - truth_value * scale) < tol  # the number on screen is the truth's
            await _show(app, pilot, "tab-rings")
            text = tui.screen_text(app)
            assert "2θ °" in text and "mean Δ2θ mrad" in text and "std mrad" in text and "m°" not in text
            ring1 = result.rings[0]
            expected_tth = math.degrees(2 * math.asin(truth.wavelength * 1e10 / (2 * ring1.d_A)))
            assert f"{expected_tth:.4f}" in text  # LaB6 (100) at 0.3344 Å, by Bragg's law
            await _show(app, pilot, "tab-points")
            assert "Δ2θ mrad" in tui.screen_text(app)
            from calterm.tui.widgets.residual_plot import ResidualPlot

            plot = app.screen.query_one(ResidualPlot)  # the residual plot speaks the same units
            assert plot.unit == "mrad" and np.allclose(plot.residual, np.asarray(result.residual_rad) * 1e3)

            await pilot.press("u")  # PONI units: metres and radians everywhere
            await pilot.pause(0.2)
            assert app.session.units == "poni"
            assert plot.unit == "rad" and np.allclose(plot.residual, result.residual_rad)
            text = tui.screen_text(app)
            assert f"distance {g.dist:.6f}" in text and "Δ2θ rad" in text
            await _show(app, pilot, "tab-geometry")
            text = tui.screen_text(app)
            assert "dist m " in text and f"{g.dist:.7f}" in text and "rot1 rad" in text and f"{g.rot1:.7f}" in text
            assert "wavelength m" in text and f"{g.wavelength:.5e}" in text
            await _show(app, pilot, "tab-rings")
            assert "2θ rad" in tui.screen_text(app) and f"{math.radians(expected_tth):.6f}" in tui.screen_text(app)
            await pilot.press("ctrl+q")

        # kept: in the saved session and in the preferences a new session starts from
        from calterm.tui.session import session_path, state_dir

        assert json.loads(session_path().read_text())["units"] == "poni"
        assert json.loads((state_dir() / "prefs.json").read_text())["units"] == "poni"
        fresh = _app(calibrated)  # a new session (units not chosen): the preference
        async with fresh.run_test(size=(80, 24)) as pilot:
            await tui.settle(fresh, pilot)
            assert fresh.session.units == "poni"
            assert f"distance {g.dist:.6f}" in tui.screen_text(fresh)
        resumed = _app(calibrated, units="mm")  # a session with its own choice keeps it
        async with resumed.run_test(size=(80, 24)) as pilot:
            await tui.settle(resumed, pilot)
            assert resumed.session.units == "mm"

    asyncio.run(go())


def test_every_history_column_is_reachable_at_80_columns(tui, calibrated):
    _, result = calibrated
    last = result.history.rows[-1]
    dist_mm = f"{last[result.history.columns.index('dist')] * 1e3:.4f}"

    async def go():
        app = _app(calibrated)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await _show(app, pilot, "tab-history")
            table = app.screen.query_one("#history-table")
            heads = [str(c.label) for c in table.columns.values()]
            assert heads == ["#", "stage", "dist mm", "poni1 mm", "poni2 mm", "rot1 mrad", "rot2 mrad", "rot3 mrad",
                             "λ Å", "cost", "RMS mrad", "n"]
            assert table.virtual_size.width > 80  # wider than the terminal: it must scroll
            table.focus()
            await pilot.press("end")  # the last columns, by keyboard
            await pilot.pause(0.5)
            assert "RMS mrad" in tui.screen_text(app) and " # " in tui.screen_text(app)  # the # column stays
            await pilot.press("ctrl+end")  # and the last row
            await pilot.pause(0.5)
            assert f" {len(result.history) - 1} " in tui.screen_text(app) and f" {last[-1]} " in tui.screen_text(app)
            seen = set()
            await pilot.press("home")
            for _ in range(table.max_scroll_x + 1):  # → scrolls: every header comes into view on the way
                seen |= {h for h in heads if h in tui.screen_text(app)}
                if seen == set(heads):
                    break
                await pilot.press(*["right"] * 16)
                await pilot.pause(0.3)
            assert seen == set(heads)
            assert dist_mm in "".join(str(v) for v in table.get_row_at(table.row_count - 1))

    asyncio.run(go())


async def _type(pilot, app, selector: str, text: str) -> None:
    field = app.screen.query_one(selector)
    field.focus()
    field.value = ""
    await pilot.press(*text)
    await pilot.pause(0.05)


def test_refine_bounds_are_typed_in_the_unit_shown_and_converted_exactly(tui, calibrated):
    async def go():
        app = _app(calibrated, screen="refinement", image=True, result=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert "dist mm" in text and "rot1 mrad" in text and "wavelength Å" in text and "(m)" not in text
            await _type(pilot, app, "#lo-dist", "410.25")
            assert app.session.request.constraints.bounds["dist"] == (0.41025, math.inf)  # exactly the float
            await _type(pilot, app, "#lo-rot2", "-12.5")
            assert app.session.request.constraints.bounds["rot2"] == (-0.0125, math.inf)
            await pilot.press("escape", "u")
            await pilot.pause(0.2)
            assert app.screen.query_one("#lo-dist").value == "0.41025"
            assert "dist m" in tui.screen_text(app) and "rot2 rad" in tui.screen_text(app)
            await _type(pilot, app, "#hi-dist", "0.5")
            assert app.session.request.constraints.bounds["dist"] == (0.41025, 0.5)
            await pilot.press("escape", "u")
            await pilot.pause(0.2)
            assert app.screen.query_one("#hi-dist").value == "500"
            assert app.screen.query_one("#lo-dist").value == "410.25"
            await _type(pilot, app, "#lo-dist", "600")  # above the high bound: refused in the numbers typed
            assert app.screen.query_one("#lo-dist").has_class("-invalid-value")
            error = str(app.screen.query_one("#field-error").render())
            assert "mm" in error and "600" in error and "500" in error, error
            assert app.session.request.constraints.bounds["dist"] == (0.06, 0.5)  # the last valid: "60"

    asyncio.run(go())


def _label(app, field: str) -> str:
    return str(app.screen.query_one(f"#label-{field}").render())


def test_start_values_are_read_in_the_unit_shown(tui, calibrated):
    async def go():
        app = _app(calibrated, screen="parameters", units="poni", image=True, result=False)

        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.screen.query_one("#f-wavelength").value == "3.344e-11"
            await _type(pilot, app, "#f-distance", "0.41025")
            assert app.session.request.distance_mm == 410.25
            assert [_label(app, k) for k in ("distance", "wavelength", "pixel")] == [
                "Distance m", "Wavelength m", "Pixel size m"]
            await _type(pilot, app, "#f-pixel", "0.000172")
            assert app.session.request.pixel_size_um == 172.0
            await _type(pilot, app, "#f-wavelength", "3.1e-11")
            assert app.session.request.wavelength_m == 3.1e-11
            await pilot.press("escape", "ctrl+p")  # the command palette has the toggle too
            await pilot.pause(0.3)
            await pilot.press(*"toggle units")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert app.session.units == "mm"
            assert [_label(app, k) for k in ("distance", "wavelength", "pixel")] == [
                "Distance mm", "Wavelength Å", "Pixel size µm"]
            assert [app.screen.query_one(f"#f-{k}").value for k in ("distance", "pixel", "wavelength")] == [
                "410.25", "172", "0.31"]

    asyncio.run(go())


def test_single_ring_d_spacing_in_angstrom(tui, calibrated):
    from calterm.core.circle.calibration import calibrate_ring

    request, _ = calibrated

    async def go():
        app = _app(calibrated, screen="circle", image=True, result=False)
        cal = calibrate_ring(300.0, 0.415690, 0.3344, 172.0).as_dict()  # LaB6 (100): d = 4.1569 Å
        cal.update(calibrant="LaB6", order=1, from_header={})
        app.session.set_circle_result({"center": [500.0, 520.0], "radius": 300.0, "calibration": cal},
                                      app.session.image_key())
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert "d-spacing 4.15690 Å" in text and "nm" not in text, text
            assert f"distance {cal['distance_mm']:.1f} mm" in text

    asyncio.run(go())
