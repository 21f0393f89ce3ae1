"""Parameters and refinement screens: a field applies (and is saved) as soon as it is valid; an
invalid field turns red and changes nothing; wavelength and energy stay one value."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

from calterm.tui.session import session_path


async def _type(pilot, app, selector: str, text: str) -> None:
    field = app.screen.query_one(selector)
    field.focus()
    field.value = ""
    await pilot.press(*text)
    await pilot.pause(0.05)


def test_parameters_apply_validate_and_link_wavelength_energy(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await _type(pilot, app, "#f-distance", "185.5")
            assert app.session.request.distance_mm == 185.5
            assert json.loads(session_path().read_text())["request"]["distance_mm"] == 185.5
            await pilot.press("end", "x")  # "185.5x": red, and the last valid value stays
            assert app.screen.query_one("#f-distance").has_class("-invalid-value")
            assert app.session.request.distance_mm == 185.5
            await _type(pilot, app, "#f-distance", "-3")
            assert app.screen.query_one("#f-distance").has_class("-invalid-value")
            await _type(pilot, app, "#f-energy", "12.398419843320026")
            assert app.session.request.wavelength_m == pytest.approx(1e-10, rel=1e-12)
            assert app.screen.query_one("#f-wavelength").value == "1"
            await _type(pilot, app, "#f-center", "500.5, 510")
            assert app.session.request.center_xy == (500.5, 510.0)
            await _type(pilot, app, "#f-calibrant", "CeO2")
            assert app.session.request.calibrant == "CeO2"
            await pilot.press("escape")  # leave the field: single keys act again
            assert app.focused is None
            await pilot.press("3")
            assert app.current_mode == "refinement"

    asyncio.run(go())


def test_refinement_fix_free_bounds_and_options(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("3")
            await tui.settle(app, pilot)
            assert "wavelength" in app.session.request.constraints.fixed
            app.screen.query_one("#fix-dist").focus()
            await pilot.press("space")
            app.screen.query_one("#fix-wavelength").focus()
            await pilot.press("space")
            c = app.session.request.constraints
            assert "dist" in c.fixed and "wavelength" not in c.fixed
            # bounds are typed in the unit shown (mrad for rotations) and stored in PONI units (rad)
            await _type(pilot, app, "#lo-rot1", "-100")
            assert app.session.request.constraints.bounds["rot1"] == (-0.1, math.inf)
            await _type(pilot, app, "#hi-rot1", "200")
            assert app.session.request.constraints.bounds["rot1"] == (-0.1, 0.2)
            await pilot.press("end", "x")  # not a number: refused, the last valid bounds stay
            assert app.screen.query_one("#hi-rot1").has_class("-invalid-value")
            assert app.session.request.constraints.bounds["rot1"] == (-0.1, 0.2)
            await _type(pilot, app, "#hi-rot1", "200")
            await _type(pilot, app, "#lo-rot1", "300")  # low above high: refused at "300"
            assert app.screen.query_one("#lo-rot1").has_class("-invalid-value")
            assert app.session.request.constraints.bounds["rot1"] == (0.03, 0.2)
            await _type(pilot, app, "#opt-rings", "5")
            await _type(pilot, app, "#opt-delta", "0.25")
            await _type(pilot, app, "#opt-imax", "55000")
            r = app.session.request
            assert (r.rings, r.delta_2th_deg, r.i_max) == (5, 0.25, 55000.0)
            app.screen.query_one("#auto").focus()
            await pilot.press("space")
            app.screen.query_one("#use-mask").focus()
            await pilot.press("space")
            assert app.session.request.auto_refine is False and app.session.use_mask is False
            saved = json.loads(session_path().read_text())
            assert saved["request"]["constraints"]["bounds"]["rot1"] == [0.03, 0.2]
            assert saved["use_mask"] is False and saved["request"]["auto_refine"] is False

    asyncio.run(go())


def test_an_invalid_wavelength_turns_red_says_why_and_blocks_the_calibration(tui):
    """`abc` or `0,70932` typed as the wavelength used to be ignored: `c` calibrated with the
    previous value. Now the field is red, one line says what is wrong, and `c` starts nothing."""

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            before = app.session.request.wavelength_m
            started: list[str] = []
            real_start = app.jobs.start

            def start(name, fn, **kwargs):
                started.append(kwargs.get("kind") or name)
                if kwargs.get("kind") == "calibrate":
                    return None  # recorded, not run: the test is about whether it starts
                return real_start(name, fn, **kwargs)

            app.jobs.start = start
            for typed, why in (("abc", "expected a number, got 'abc'"),
                               ("0,70932", "a decimal point is expected: 0.70932, not 0,70932")):
                await _type(pilot, app, "#f-wavelength", typed)
                field = app.screen.query_one("#f-wavelength")
                assert field.has_class("-invalid-value"), typed
                line = str(app.screen.query_one("#field-error").render())
                assert line.startswith("Wavelength Å: ") and why in line, line
                assert why in tui.screen_text(app)  # on screen, at 80x24
                await pilot.press("escape", "c")
                await tui.settle(app, pilot)
                assert "calibrate" not in started, typed
                assert app.session.request.wavelength_m == before  # the previous value is not used silently
                assert any(why in n.message for n in app._notifications), typed
            await _type(pilot, app, "#f-wavelength", "0.70932")  # mended: valid, applied, c calibrates
            assert not app.screen.query_one("#f-wavelength").has_class("-invalid-value")
            assert app.session.invalid_fields == {}
            assert str(app.screen.query_one("#field-error").render()) == ""
            assert app.session.request.wavelength_m == pytest.approx(0.70932e-10)
            assert app.screen.query_one("#f-energy").value == "17.4793"
            await pilot.press("escape", "c")
            await pilot.pause(0.05)
            assert started.count("calibrate") == 1

    asyncio.run(go())


def test_history_exports_keep_the_earlier_file_as_a_version(tui, tmp_path):
    """The results screen's and the circle screen's CSV export used to replace an existing file."""
    import os
    from pathlib import Path

    async def export_twice(app, pilot, key: str) -> Path:
        for _ in range(2):
            await pilot.press("e")
            await pilot.pause(0.2)
            await pilot.press("enter")  # the default path (the last one written, the second time)
            await tui.settle(app, pilot)
        return Path(app.session.outputs[key])

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            app.session.set_circle_result({"center": [10.0, 12.0], "radius": 30.0, "history": {
                "columns": ["stage", "cx"], "rows": [["start", 1.0], ["final", 2.0]]}}, app.session.image_key())
            await pilot.press("6")
            await tui.settle(app, pilot)
            circle = await export_twice(app, pilot, "circle_history")
            assert os.readlink(circle) == f"{circle.stem}.v1.csv"
            assert (circle.parent / f"{circle.stem}.v0.csv").read_text() == "stage,cx\nstart,1.0\nfinal,2.0\n"
            await pilot.press("c")
            await tui.settle(app, pilot)
            assert app.current_mode == "results" and app.session.result is not None
            history = await export_twice(app, pilot, "history")
            assert os.readlink(history) == f"{history.stem}.v1.csv"
            first = (history.parent / f"{history.stem}.v0.csv").read_text().splitlines()
            assert len(first) == len(app.session.result.history) + 1
            assert len((history.parent / f"{history.name}.log").read_text().splitlines()) == 2

    asyncio.run(go())
