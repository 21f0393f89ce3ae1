"""The joint-calibration screen from the keyboard at 80x24 (issue 16): three images of a synthetic
distance series added by a glob, the travel typed, the distance linked in the model picker; the
run recovers the wavelength and L0 within the engine test's bounds, and w writes one PONI per
image next to the images. A travel of the wrong length is one line in the field, nothing runs."""

from __future__ import annotations

import asyncio

import pytest

from calterm.core.common.geometry import PoniGeometry
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import distance_series

WAVELENGTH = 0.2e-10
L0 = 0.2
TRAVEL = [0.0, 0.1, 0.2]
BASE = SyntheticCase(None, "LaB6", PoniGeometry(L0, 0.05, 0.052, 0.01, -0.006, 0.0, WAVELENGTH),
                     shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=11)


@pytest.fixture
def series(isolated_home):
    folder = isolated_home / "joint"
    folder.mkdir()
    return distance_series(BASE, TRAVEL, folder)


async def _to_joint(app, pilot, tui):
    await tui.settle(app, pilot)
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"go to joint")
    await pilot.pause(0.5)
    await pilot.press("enter")
    await tui.settle(app, pilot)
    assert app.current_mode == "joint"


def _open(tui, series):
    # the typed wavelength 0.3 % off, as in the engine test: only the linked fit can correct it
    return tui.open_app([str(series[0][0]), "--calibrant", "LaB6", "--wavelength", f"{WAVELENGTH * 1.003e10:.6f}",
                         "--pixel-size", "250"])


def test_linked_joint_run_recovers_the_wavelength_and_writes_ponis(tui, series, isolated_home):
    import pyFAI

    async def go():
        app = _open(tui, series)
        async with app.run_test(size=(80, 24)) as pilot:
            await _to_joint(app, pilot, tui)
            screen = app.screen
            assert [im["path"] for im in screen.images] == [str(series[0][0])]  # the session's image
            await pilot.press("tab", "tab")
            assert app.focused.id == "f-add"
            await pilot.press(*"joint/dist_*.tif", "enter")
            await pilot.pause(0.2)
            assert [im["path"].rsplit("/", 1)[1] for im in screen.images] == ["dist_00.tif", "dist_01.tif",
                                                                               "dist_02.tif"]
            await pilot.press("tab", "tab", "tab")  # wavelength, pixel size, travel
            assert app.focused.id == "f-travel"
            await pilot.press(*"0,100,200")
            await pilot.press("tab", "tab", "tab", "tab")  # detector, image list, calibrant, distance
            assert app.focused.id == "j-distance"
            await pilot.press(*"200")
            await pilot.press("escape", "t")  # the Model tab: the distance row, "linked" column
            await pilot.pause(0.2)
            assert "λ stays at the typed value: distances per image; link them (Δ) to refine it" in tui.screen_text(app)
            screen.query_one("#joint-model").focus()
            await pilot.press("right", "right", "right", "enter")
            await pilot.pause(0.2)
            assert screen.modes["dist"] == "linked"
            text = tui.screen_text(app)
            assert "λ is refined: linked distances" in text and "[x]" in text and "[ ]" in text
            await pilot.press("escape", "r")
            await tui.settle(app, pilot)
            result = screen.result
            assert result is not None, app.jobs.finished[0].message
            assert result.ok and result.wavelength_refined
            assert abs(result.wavelength_m / WAVELENGTH - 1) < 5e-5  # the engine test's bound
            assert abs(result.values["L0"] - L0) < 20e-6
            text = tui.screen_text(app)
            lam, sigma = result.wavelength_m * 1e10, result.sigma["wavelength"] * 1e10
            assert f"λ {lam:.6f} ± {sigma:.6f} Å" in text
            assert f"L0 {result.values['L0'] * 1e3:.4f} ± {result.sigma['L0'] * 1e3:.4f} mm" in text
            for f in result.images:
                assert f"{f.geometry.dist * 1e3:.4f}" in text
            await pilot.press("w")
            await tui.settle(app, pilot)
            await pilot.press("ctrl+q")
        resumed = tui.open_app(["--resume"])  # the report is in the session: shown without a new fit
        async with resumed.run_test(size=(80, 24)) as pilot:
            await tui.settle(resumed, pilot)
            assert resumed.current_mode == "joint"
            resumed.screen.query_one("#joint-tabs").active = "joint-results-tab"
            await pilot.pause(0.2)
            text = tui.screen_text(resumed)
            assert f"λ {lam:.6f} ± {sigma:.6f} Å" in text and "(restored: r recomputes before w writes)" in text
            await pilot.press("ctrl+q")
        for path, truth in series:
            poni = path.with_suffix(".poni")
            assert poni.with_name(poni.stem + ".v0.poni").is_file()
            ai = pyFAI.load(str(poni))
            assert abs(ai.dist - truth.dist) < 20e-6 and ai.wavelength == pytest.approx(result.wavelength_m, rel=1e-12)

    asyncio.run(go())


def test_travel_of_the_wrong_length_is_one_line_in_the_field(tui, series):
    async def go():
        app = _open(tui, series)
        async with app.run_test(size=(80, 24)) as pilot:
            await _to_joint(app, pilot, tui)
            screen = app.screen
            await pilot.press("tab", "tab", *"joint/dist_*.tif", "enter")
            await pilot.press("tab", "tab", "tab", *"0,100", "enter")  # enter in a field runs
            await pilot.pause(0.3)
            message = "Δ travel: 2 values for 3 images (one per image, in mm)"
            assert str(screen.query_one("#joint-field-error").render()) == message
            assert screen.query_one("#f-travel").has_class("-invalid-value")
            assert message in tui.screen_text(app) and "Traceback" not in tui.screen_text(app)
            assert app.jobs.current is None and screen.result is None  # nothing ran
            await pilot.press("ctrl+q")

    asyncio.run(go())
